"""Figures: one helper saves every figure under a stable name."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

__all__ = ["save_figure", "forest_plot", "funnel_plot", "leave_one_out_plot", "subgroup_plot"]

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


def forest_plot(table: pd.DataFrame, fit: dict, *, label: str = "label", title: str = "",
                xlabel: str = "Proportion", reference: float | None = None):
    """Forest plot of per-study proportions (95% CI) and the pooled estimate.

    ``table`` needs columns ``label`` (or ``label=``), ``proportion``, ``ci_low``,
    ``ci_high``, ``weight`` (percent) and ``group`` (used for marker colour).
    """
    table = table.reset_index(drop=True)
    k = len(table)
    height = 1.2 + 0.32 * (k + 3)
    figure, axis = plt.subplots(figsize=(8, height))
    y_positions = np.arange(k, 0, -1) + 1.5
    groups = list(dict.fromkeys(table["group"]))
    colours = dict(zip(groups, plt.cm.tab10.colors))
    for y, (_, row) in zip(y_positions, table.iterrows()):
        axis.plot([row["ci_low"], row["ci_high"]], [y, y], color="0.3", lw=1)
        axis.scatter(row["proportion"], y, s=15 + 3 * row["weight"], marker="s",
                     color=colours[row["group"]], zorder=3)
    # pooled diamond and prediction interval
    pooled_y = 0.6
    axis.fill([fit["ci_low"], fit["proportion"], fit["ci_high"], fit["proportion"]],
              [pooled_y, pooled_y + 0.3, pooled_y, pooled_y - 0.3], color="black")
    axis.plot([fit["pi_low"], fit["pi_high"]], [pooled_y, pooled_y], color="black", lw=1, ls=":")
    labels = [f"{row[label]}  {row['events']}/{row['n']}" for _, row in table.iterrows()]
    axis.set_yticks(list(y_positions) + [pooled_y])
    axis.set_yticklabels(labels + [f"Pooled (k = {fit['k']}), 95% CI and PI"])
    if reference is not None:
        axis.axvline(reference, color="tab:red", ls="--", lw=1)
    axis.set_xlim(0, 1)
    axis.set_xlabel(xlabel)
    axis.set_title(title)
    for group, colour in colours.items():
        axis.scatter([], [], color=colour, marker="s", label=str(group))
    axis.legend(loc="lower right", fontsize="small", frameon=False)
    axis.grid(axis="x", alpha=0.3)
    figure.tight_layout()
    return figure


def funnel_plot(yi, vi, estimate: float, *, xlabel: str = "logit(proportion)", title: str = ""):
    """Funnel plot: effect against standard error, with the pseudo 95% region."""
    yi = np.asarray(yi, dtype=float)
    sei = np.sqrt(np.asarray(vi, dtype=float))
    figure, axis = plt.subplots(figsize=(5.5, 4.5))
    se_grid = np.linspace(0, sei.max() * 1.1, 50)
    axis.fill_betweenx(se_grid, estimate - 1.96 * se_grid, estimate + 1.96 * se_grid, color="0.92")
    axis.axvline(estimate, color="black", lw=1)
    axis.scatter(yi, sei, color="tab:blue", zorder=3)
    axis.invert_yaxis()
    axis.set_xlabel(xlabel)
    axis.set_ylabel("Standard error")
    axis.set_title(title)
    figure.tight_layout()
    return figure


def leave_one_out_plot(loo: pd.DataFrame, full: dict, *, title: str = ""):
    """Pooled proportion with each study left out in turn."""
    loo = loo.reset_index(drop=True)
    figure, axis = plt.subplots(figsize=(7, 1 + 0.28 * len(loo)))
    y = np.arange(len(loo), 0, -1)
    axis.errorbar(loo["proportion"], y, xerr=[loo["proportion"] - loo["ci_low"], loo["ci_high"] - loo["proportion"]],
                  fmt="o", color="tab:blue", ms=4, lw=1)
    axis.axvspan(full["ci_low"], full["ci_high"], color="0.9")
    axis.axvline(full["proportion"], color="black", lw=1)
    axis.set_yticks(y)
    axis.set_yticklabels([f"without {label}" for label in loo["omitted"]])
    axis.set_xlabel("Pooled proportion")
    axis.set_title(title)
    figure.tight_layout()
    return figure


def subgroup_plot(per_group: pd.DataFrame, *, title: str = "", xlabel: str = "Pooled proportion"):
    """Pooled proportion per subgroup with 95% CI (k and total n in the labels)."""
    per_group = per_group.reset_index(drop=True)
    figure, axis = plt.subplots(figsize=(7, 1 + 0.35 * len(per_group)))
    y = np.arange(len(per_group), 0, -1)
    axis.errorbar(per_group["proportion"], y,
                  xerr=[per_group["proportion"] - per_group["ci_low"], per_group["ci_high"] - per_group["proportion"]],
                  fmt="D", color="black", ms=5, lw=1)
    axis.set_yticks(y)
    axis.set_yticklabels([f"{row['analysis']}: {row['subgroup']} (k={row['k']}, n={row['n_total']})"
                          for _, row in per_group.iterrows()])
    axis.set_xlim(0, 1)
    axis.set_xlabel(xlabel)
    axis.set_title(title)
    axis.grid(axis="x", alpha=0.3)
    figure.tight_layout()
    return figure


def md_change_plot(trial: pd.DataFrame, *, title: str = "", banner: str = SYNTHETIC_BANNER):
    """24-h MD change (10⁻⁶ mm²/s) per ROI and arm: points and means."""
    rois = list(dict.fromkeys(trial["roi"]))
    figure, axis = plt.subplots(figsize=(8, 3.8))
    colours = {"ketamine": "tab:orange", "saline": "tab:blue"}
    rng = np.random.default_rng(0)  # jitter only
    for position, roi in enumerate(rois):
        for offset, arm in ((-0.18, "ketamine"), (0.18, "saline")):
            values = trial.loc[(trial["roi"] == roi) & (trial["arm"] == arm), "md_change"].to_numpy() * 1e6
            axis.scatter(position + offset + rng.uniform(-0.06, 0.06, values.size), values, s=6, alpha=0.5,
                         color=colours[arm], label=arm if position == 0 else None)
            axis.plot([position + offset - 0.12, position + offset + 0.12], [values.mean()] * 2, color="black", lw=2)
    axis.axhline(0, color="0.5", lw=0.8)
    axis.set_xticks(range(len(rois)))
    axis.set_xticklabels(rois, rotation=30, ha="right")
    axis.set_ylabel("MD change (10$^{-6}$ mm$^2$/s)")
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
            x = arm_rows["md_change"].to_numpy() * 1e6
            y = arm_rows[f"{scale}_change"].to_numpy(dtype=float)
            axis.scatter(x, y, s=8, alpha=0.6, color=colour, label=arm)
            if len(x) > 2:
                slope, intercept = np.polyfit(x, y, 1)
                grid = np.linspace(x.min(), x.max(), 10)
                axis.plot(grid, intercept + slope * grid, color=colour, lw=1.5)
        axis.set_title(roi, fontsize=9)
        axis.set_xlabel("MD change (10$^{-6}$ mm$^2$/s)", fontsize=8)
    for axis in axes.ravel()[len(rois):]:
        axis.set_visible(False)
    axes.ravel()[0].set_ylabel(f"{scale.upper()} change")
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
    axis.set_yticklabels([f"{row.roi} {row.scale.upper()}" for row in frame.itertuples()])
    axis.set_xlabel("Interaction (ketamine - saline slope), points per 10$^{-3}$ mm$^2$/s")
    axis.set_title(f"{title}\n{banner}" if banner else title, fontsize=10)
    figure.tight_layout()
    return figure


def power_curve_plot(power_table: pd.DataFrame, *, target: float = 0.8, title: str = ""):
    """Simulated power against trial size per planted interaction."""
    figure, axis = plt.subplots(figsize=(6.5, 4))
    for (roi, scale), group in power_table.groupby(["roi", "scale"], sort=False):
        axis.plot(group["n"], group["power"], marker="o", label=f"{roi} {scale.upper()}")
    axis.axhline(target, color="tab:red", ls="--", lw=1)
    axis.set_xlabel("Participants (2:1)")
    axis.set_ylabel("Power (alpha = 0.05)")
    axis.set_ylim(0, 1)
    axis.legend(frameon=False, fontsize="small")
    axis.set_title(title, fontsize=10)
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
