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
