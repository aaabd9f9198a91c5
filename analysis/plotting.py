"""Figures: one helper saves every figure under a stable name."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .schemas import DTI_ROI_LABELS

__all__ = ["save_figure", "md_change_plot", "interaction_scatter_grid", "interaction_forest",
           "model_comparison_plot", "learning_curve_plot", "verdict_text", "operating_characteristics_plot",
           "spaghetti_plot", "prisma_flow", "stratum_forest", "interactive_stratum_forest"]

SYNTHETIC_BANNER = "SYNTHETIC DATA - not participant data"


def save_figure(figure, name: str, directory: str | Path) -> Path:
    """Save ``figure`` as ``<directory>/<name>.png`` (and .pdf) with no timestamps in the files."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.png"
    figure.savefig(path, dpi=150, bbox_inches="tight", metadata={"Software": None})
    figure.savefig(directory / f"{name}.pdf", bbox_inches="tight",
                   metadata={"Creator": None, "Producer": None, "CreationDate": None})
    return path


def md_change_plot(trial: pd.DataFrame, *, title: str = "", banner: str = SYNTHETIC_BANNER):
    """24-h MD change (10⁻³ mm²/s, the unit of the models and tables) per ROI and arm: points and means."""
    rois = list(dict.fromkeys(trial["roi"]))
    figure, axis = plt.subplots(figsize=(8, 3.8))
    colours = {"ketamine": "tab:orange", "saline": "tab:blue"}
    rng = np.random.default_rng(0)  # jitter only
    for position, roi in enumerate(rois):
        for offset, arm in ((-0.18, "ketamine"), (0.18, "saline")):
            values = trial.loc[(trial["roi"] == roi) & (trial["arm"] == arm), "md_change"].to_numpy() * 1e3
            axis.scatter(position + offset + rng.uniform(-0.06, 0.06, values.size), values, s=6, alpha=0.5,
                         color=colours[arm], label=arm if position == 0 else None)
            axis.plot([position + offset - 0.12, position + offset + 0.12], [values.mean()] * 2, color="black", lw=2)
    axis.axhline(0, color="0.5", lw=0.8)
    axis.set_xticks(range(len(rois)))
    axis.set_xticklabels([DTI_ROI_LABELS.get(roi, roi) for roi in rois], rotation=30, ha="right")
    axis.set_ylabel("MD change (10$^{-3}$ mm$^2$/s)")
    axis.set_title(f"{title}\n{banner}" if banner else title, fontsize=10)
    axis.legend(frameon=False, fontsize="small")
    figure.tight_layout()
    return figure


def interaction_scatter_grid(trial: pd.DataFrame, scale: str, *, title: str = "", banner: str = SYNTHETIC_BANNER):
    """Score change against MD change per ROI, by arm, with within-arm least-squares lines."""
    rois = list(dict.fromkeys(trial["roi"]))
    columns = 4
    rows = int(np.ceil(len(rois) / columns))
    figure, axes = plt.subplots(rows, columns, figsize=(11, 2.8 * rows), sharey=True)
    colours = {"ketamine": "tab:orange", "saline": "tab:blue"}
    for axis, roi in zip(axes.ravel(), rois):
        subset = trial[trial["roi"] == roi]
        for arm, colour in colours.items():
            arm_rows = subset[subset["arm"] == arm]
            x = arm_rows["md_change"].to_numpy() * 1e3
            y = arm_rows[f"{scale}_change"].to_numpy(dtype=float)
            axis.scatter(x, y, s=8, alpha=0.6, color=colour, label=arm)
            if len(x) > 2:
                slope, intercept = np.polyfit(x, y, 1)
                grid = np.linspace(x.min(), x.max(), 10)
                axis.plot(grid, intercept + slope * grid, color=colour, lw=1.5)
        axis.set_title(DTI_ROI_LABELS.get(roi, roi), fontsize=9)
        axis.set_xlabel("MD change (10$^{-3}$ mm$^2$/s)", fontsize=8)
    for axis in axes.ravel()[len(rois):]:
        axis.set_visible(False)
    axes.ravel()[0].set_ylabel(f"{ {'madrs': 'MADRS', 'qids': 'QIDS-SR'}.get(scale, scale)} change")
    axes.ravel()[0].legend(frameon=False, fontsize="small")
    figure.suptitle(f"{title} - {banner}" if banner else title, fontsize=10)
    figure.tight_layout()
    return figure


def interaction_forest(interactions: pd.DataFrame, *, title: str = "", banner: str = SYNTHETIC_BANNER):
    """Forest plot of group x MD-change interaction estimates (95% CI) per ROI and scale."""
    frame = interactions.reset_index(drop=True)
    figure, axis = plt.subplots(figsize=(7, 0.9 + 0.3 * len(frame)))
    y = np.arange(len(frame), 0, -1)
    colours = np.where(frame["scale"] == "madrs", "tab:purple", "tab:green")
    axis.errorbar(frame["estimate"], y, xerr=[frame["estimate"] - frame["ci_low"], frame["ci_high"] - frame["estimate"]],
                  fmt="none", ecolor=colours, lw=1)
    axis.scatter(frame["estimate"], y, color=colours, zorder=3, s=14)
    axis.axvline(0, color="0.4", lw=0.8)
    axis.set_yticks(y)
    scales = {"madrs": "MADRS", "qids": "QIDS-SR"}
    axis.set_yticklabels([f"{DTI_ROI_LABELS.get(row.roi, row.roi)}, {scales.get(row.scale, row.scale)}"
                          for row in frame.itertuples()])
    axis.set_xlabel("Interaction (ketamine - saline slope), points per 10$^{-3}$ mm$^2$/s")
    axis.set_title(f"{title}\n{banner}" if banner else title, fontsize=10)
    figure.tight_layout()
    return figure


def model_comparison_plot(models: pd.DataFrame, *, claimed: float = 0.75, banner: str = SYNTHETIC_BANNER):
    """Balanced accuracy (95% CI) per model against the claimed accuracy and chance."""
    frame = models.astype(float)
    figure, axis = plt.subplots(figsize=(7, 0.9 + 0.45 * len(frame)))
    y = np.arange(len(frame), 0, -1)
    axis.errorbar(frame["balanced_accuracy"], y,
                  xerr=[frame["balanced_accuracy"] - frame["balanced_accuracy_ci_low"],
                        frame["balanced_accuracy_ci_high"] - frame["balanced_accuracy"]], fmt="o", color="black")
    axis.axvline(claimed, color="tab:red", ls="--", lw=1)
    axis.axvline(0.5, color="0.5", ls=":", lw=1)
    axis.set_yticks(y)
    axis.set_yticklabels(frame.index)
    axis.set_xlim(0.3, 1)
    axis.set_xlabel("Balanced accuracy (cross-validated)")
    axis.set_title(banner, fontsize=9)
    figure.tight_layout()
    return figure


def learning_curve_plot(curve: pd.DataFrame, *, claimed: float = 0.75, achievable: float | None = None):
    """Cross-validated balanced accuracy (95% CI) against cohort size."""
    figure, axis = plt.subplots(figsize=(6, 4))
    axis.errorbar(curve["n"], curve["balanced_accuracy"],
                  yerr=[curve["balanced_accuracy"] - curve["balanced_accuracy_ci_low"],
                        curve["balanced_accuracy_ci_high"] - curve["balanced_accuracy"]], fmt="o-", color="black")
    axis.axhline(claimed, color="tab:red", ls="--", lw=1)
    if achievable is not None:
        axis.axhline(achievable, color="tab:green", ls=":", lw=1)
    axis.axhline(0.5, color="0.5", lw=0.8)
    axis.set_xscale("log")
    axis.set_xticks(curve["n"])
    axis.set_xticklabels(curve["n"])
    axis.xaxis.set_minor_locator(plt.NullLocator())  # no "6x10^1"-style minor labels: only the cohort sizes
    axis.set_xlabel("Participants")
    axis.set_ylabel("Balanced accuracy")
    axis.set_title(SYNTHETIC_BANNER, fontsize=9)
    figure.tight_layout()
    return figure


def verdict_text(verdict: str) -> str:
    """A verdict for inline prose (bold; the badge form lives in tables)."""
    return f"**{verdict}**"


def operating_characteristics_plot(frame: pd.DataFrame, *, xlabel: str = "Detection rate across simulated trials"):
    """Detection rate per finding and scenario (seaborn horizontal bars; tidy ``finding, scenario,
    detection_rate``)."""
    import seaborn as sns

    figure, axis = plt.subplots(figsize=(7, 1.2 + 0.55 * frame["finding"].nunique()))
    sns.barplot(data=frame, y="finding", x="detection_rate", hue="scenario", ax=axis, orient="h",
                palette=["0.65", "tab:olive", "tab:purple"][: frame["scenario"].nunique()])
    axis.set_xlim(0, 1)
    axis.xaxis.set_major_formatter(plt.FuncFormatter(lambda value, _: f"{100 * value:.0f}%"))
    axis.set_ylabel("")
    axis.set_xlabel(xlabel)
    axis.legend(title="", frameon=False, fontsize="small", loc="lower right")
    figure.tight_layout()
    return figure


def spaghetti_plot(frame: pd.DataFrame, *, ylabel: str = "MADRS"):
    """One line per participant across sessions (seaborn), coloured by the order of treatments.
    ``frame``: ``participant_id, session, order, score, sequence``."""
    import seaborn as sns

    labels = (frame.drop_duplicates("order").sort_values("order")["session"].tolist())
    figure, axis = plt.subplots(figsize=(7, 4))
    palette = {"KP": "tab:orange", "PK": "tab:blue"}
    sns.lineplot(data=frame, x="order", y="score", units="participant_id", estimator=None, hue="sequence",
                 palette=palette, alpha=0.55, lw=1, marker="o", markersize=3, ax=axis)
    axis.set_xticks(range(len(labels)))
    axis.set_xticklabels(labels)
    axis.set_xlabel("")
    axis.set_ylabel(ylabel)
    handles, _ = axis.get_legend_handles_labels()
    axis.legend(handles, ["ketamine first", "placebo first"], title="", frameon=False, fontsize="small")
    figure.tight_layout()
    return figure


def prisma_flow(counts: dict, *, first_box: str = "Studies considered"):
    """PRISMA 2020 flow diagram (trials), drawn from :func:`analysis.claims.review.prisma_counts`."""
    import textwrap

    figure, axis = plt.subplots(figsize=(8.0, 7.2))
    axis.set_xlim(0, 10)
    axis.set_ylim(0, 10)
    axis.axis("off")

    def box(x, y, width, height, title, lines=()):
        axis.add_patch(plt.Rectangle((x, y), width, height, facecolor="white", edgecolor="0.3", linewidth=1))
        chars = int(width * 8.2)
        body = [textwrap.fill(line, chars, initial_indent="- ", subsequent_indent="  ") for line in lines]
        axis.text(x + 0.15, y + height - 0.15, textwrap.fill(title, chars), va="top", ha="left", fontsize=10,
                  fontweight="bold")
        axis.text(x + 0.15, y + height - 0.62, "\n".join(body), va="top", ha="left", fontsize=9, linespacing=1.3)

    def arrow(x0, y0, x1, y1):
        axis.annotate("", xy=(x1, y1), xytext=(x0, y0), arrowprops={"arrowstyle": "-|>", "color": "0.3"})

    box(0.1, 8.1, 4.6, 1.8, f"{first_box}: {counts['considered']} trials",
        [f"{name}: {count}" for name, count in counts["by_origin"].items()])
    box(0.1, 5.3, 4.6, 1.0, f"Screened against the protocol: {counts['screened']} trials")
    box(5.2, 6.2, 4.7, 3.7, f"Excluded: {counts['excluded']} trials",
        [f"{reason}: {count}" for reason, count in counts["excluded_reasons"].items()])
    box(5.2, 2.6, 4.7, 3.2, f"Awaiting verification: {counts['awaiting']} trials",
        [f"{reason}: {count}" for reason, count in counts["awaiting_reasons"].items()])
    box(0.1, 0.9, 4.6, 1.5, f"Included: {counts['included_trials']} trials",
        [f"{counts['included_arms']} arms", f"{counts['included_rows']} arm-outcome rows"])
    arrow(2.4, 8.1, 2.4, 6.3)
    arrow(2.4, 5.3, 2.4, 2.4)
    arrow(4.7, 5.9, 5.2, 7.5)
    arrow(4.7, 5.6, 5.2, 4.3)
    figure.tight_layout()
    return figure


def stratum_forest(rows: pd.DataFrame, strata: pd.DataFrame, *, xlabel: str = "Proportion",
                   references: dict | None = None):
    """Forest plot by stratum: each included arm (95% CI) and the stratum's pooled estimate
    (diamond; dotted line: 95% prediction interval when there are 2 or more trials).

    ``rows`` needs ``label, stratum, events, n, proportion, ci_low, ci_high``; ``strata`` needs
    ``stratum, proportion, ci_low, ci_high, pi_low, pi_high, k_trials``. ``references`` maps a
    label to a vertical line (e.g. the popular number).
    """
    order = list(dict.fromkeys(strata["stratum"]))
    lines = []
    for name in order:
        lines.append(("header", name, None))
        for _, row in rows[rows["stratum"] == name].iterrows():
            lines.append(("arm", row["label"], row))
        lines.append(("pooled", name, strata.set_index("stratum").loc[name]))
    height = 1.0 + 0.3 * len(lines)
    figure, (text_axis, axis) = plt.subplots(1, 2, figsize=(8.0, height), gridspec_kw={"width_ratios": [1.0, 0.9]},
                                             sharey=True)
    positions = np.arange(len(lines), 0, -1)
    for y, (kind, label, data) in zip(positions, lines):
        if kind == "header":
            text_axis.text(0, y, label, fontsize=10, fontweight="bold", va="center")
        elif kind == "arm":
            text_axis.text(0.03, y, f"{label}", fontsize=9.5, va="center")
            text_axis.text(1.0, y, f"{int(data['events'])}/{int(data['n'])}", fontsize=9.5, va="center", ha="right")
            axis.plot([data["ci_low"], data["ci_high"]], [y, y], color="0.35", lw=1)
            axis.scatter(data["proportion"], y, marker="s", s=22, color="tab:blue", zorder=3)
        else:
            k = int(data["k_trials"])
            text_axis.text(0.03, y, f"Pooled ({k} trial{'s' if k != 1 else ''})", fontsize=9.5, va="center",
                           style="italic")
            axis.fill([data["ci_low"], data["proportion"], data["ci_high"], data["proportion"]],
                      [y, y + 0.3, y, y - 0.3], color="black")
            if k >= 2 and np.isfinite(data["pi_low"]):
                axis.plot([data["pi_low"], data["pi_high"]], [y, y], color="black", lw=1, ls=":")
    for label, value in (references or {}).items():
        axis.axvline(value, color="tab:red", ls="--", lw=1)
        axis.text(value, positions[0] + 0.6, label, color="tab:red", fontsize=9.5, ha="center", va="bottom")
    axis.set_xlim(0, 1)
    axis.set_ylim(0.3, len(lines) + 1.0)
    axis.xaxis.set_major_formatter(plt.FuncFormatter(lambda value, _: f"{100 * value:.0f}%"))
    axis.set_xlabel(xlabel, fontsize=10)
    axis.tick_params(axis="x", labelsize=9.5)
    axis.grid(axis="x", alpha=0.3)
    axis.tick_params(axis="y", left=False, labelleft=False)
    text_axis.axis("off")
    figure.tight_layout()
    return figure


def _wrap(text: str, width: int = 70) -> str:
    """Hover text wrapped for a tooltip (plotly breaks lines only at ``<br>``)."""
    import html
    import textwrap

    return "<br>".join(html.escape(line) for line in textwrap.wrap(str(text), width)) if text else ""


def interactive_stratum_forest(rows: pd.DataFrame, strata: pd.DataFrame, *, xlabel: str = "Proportion",
                               references: dict | None = None):
    """The :func:`stratum_forest` drawn with Plotly for the HTML book: hovering an arm shows its trial, n
    and events, exact 95% CI, timepoint, overall risk of bias, the sentence the count was read from and
    the DOI; hovering a diamond shows the pooled estimate, its CI and prediction interval.

    ``rows`` needs, besides :func:`stratum_forest`'s columns, ``timepoint, risk_of_bias, quote, doi``.
    Returns a ``plotly.graph_objects.Figure``; :func:`analysis.report.glue_figure` (``interactive=``) puts
    it in the HTML page and keeps the static figure for the PDF.
    """
    import plotly.graph_objects as go

    order = list(dict.fromkeys(strata["stratum"]))
    pooled = strata.set_index("stratum")
    ticks, labels, arms, diamonds = [], [], [], []
    y = 0
    for name in order:
        ticks.append(y)
        labels.append(f"<b>{name}</b>")
        y -= 1
        for _, row in rows[rows["stratum"] == name].iterrows():
            ticks.append(y)
            labels.append(f"{row['label']}  {int(row['events'])}/{int(row['n'])}")
            arms.append((y, row))
            y -= 1
        data = pooled.loc[name]
        k = int(data["k_trials"])
        ticks.append(y)
        labels.append(f"<i>Pooled ({k} trial{'s' if k != 1 else ''})</i>")
        diamonds.append((y, data))
        y -= 1.5

    def percent(value) -> str:
        return f"{100 * value:.1f}%" if pd.notna(value) else "not estimable"

    def interval_trace(points, texts, *, name, marker, colour, thickness):
        """Markers at the estimates with asymmetric horizontal 95% intervals and hover texts."""
        return go.Scatter(
            x=[data["proportion"] for _, data in points], y=[position for position, _ in points], mode="markers",
            name=name, marker=marker, hovertemplate="%{text}<extra></extra>", text=texts,
            error_x={"type": "data", "symmetric": False, "color": colour, "thickness": thickness, "width": 0,
                     "array": [data["ci_high"] - data["proportion"] for _, data in points],
                     "arrayminus": [data["proportion"] - data["ci_low"] for _, data in points]})

    figure = go.Figure()
    figure.add_trace(interval_trace(
        arms, [f"<b>{_wrap(row['label'])}</b><br>{int(row['events'])} of {int(row['n'])}: {percent(row['proportion'])} "
               f"(95% CI {percent(row['ci_low'])} to {percent(row['ci_high'])})<br>Timepoint: {_wrap(row['timepoint'])}"
               f"<br>Risk of bias: {row['risk_of_bias']}<br>Source: "
               + (f"\u201c{_wrap(row['quote'])}\u201d" if row["quote"] else "counted from participant-level data")
               + f"<br>DOI: {row['doi']}" for _, row in arms],
        name="Arm (exact 95% CI)", marker={"symbol": "square", "size": 9, "color": "#1f77b4"}, colour="#595959",
        thickness=1.2))
    figure.add_trace(interval_trace(
        diamonds, [f"<b>Pooled, {int(data['k_trials'])} trial{'s' if int(data['k_trials']) != 1 else ''}</b><br>"
                   f"{percent(data['proportion'])} (95% CI {percent(data['ci_low'])} to {percent(data['ci_high'])})"
                   + (f"<br>95% prediction interval {percent(data['pi_low'])} to {percent(data['pi_high'])}"
                      if int(data["k_trials"]) >= 2 and pd.notna(data["pi_low"]) else "")
                   for _, data in diamonds],
        name="Pooled (95% CI)", marker={"symbol": "diamond", "size": 14, "color": "black"}, colour="black",
        thickness=2))
    spans = [(position, data) for position, data in diamonds if int(data["k_trials"]) >= 2 and pd.notna(data["pi_low"])]
    if spans:
        figure.add_trace(go.Scatter(
            x=[value for _, data in spans for value in (data["pi_low"], data["pi_high"], None)],
            y=[value for position, _ in spans for value in (position, position, None)], mode="lines",
            name="95% prediction interval", line={"color": "black", "dash": "dot", "width": 1.2}, hoverinfo="skip"))
        figure.data = (figure.data[0], figure.data[2], figure.data[1])  # the diamonds drawn over the dotted line
    for label, value in (references or {}).items():
        figure.add_vline(x=value, line={"color": "#d62728", "dash": "dash", "width": 1.2},
                         annotation={"text": f"popular claim {label}", "font": {"color": "#d62728", "size": 12}},
                         annotation_position="top")
    height, top, bottom = max(320, 130 + 24 * len(ticks)), 40, 90
    figure.update_layout(
        template="simple_white", height=height, margin={"l": 10, "r": 20, "t": top, "b": bottom},
        font={"family": "Helvetica, Arial, sans-serif", "size": 13}, hoverlabel={"align": "left"},
        legend={"orientation": "h", "yanchor": "top", "y": -62 / (height - top - bottom),  # below the axis title
                "xanchor": "left", "x": 0},
        xaxis={"title": {"text": xlabel}, "range": [0, 1], "tickformat": ".0%", "showgrid": True,
               "gridcolor": "#e5e5e5", "fixedrange": False},
        yaxis={"tickvals": ticks, "ticktext": labels, "range": [y + 0.5, 1], "showline": False, "ticks": "",
               "automargin": True, "fixedrange": True})
    return figure
