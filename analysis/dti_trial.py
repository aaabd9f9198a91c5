"""The `dti-neuroplasticity` claim: published findings against the reproduction."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .claims import combine_verdicts

__all__ = ["data_notice", "design_table", "md_change_summary", "compare_with_published", "verdict_markdown", "SYNTHETIC_NOTICE"]

SYNTHETIC_NOTICE = ("These results come from a **synthetic cohort** generated from a seed to mirror the published "
                    "design. They are not participant data and cannot confirm or refute the published finding.")


def data_notice(description: dict, n_participants: int) -> str:
    """The notice at the top of the chapter: synthetic (with generator and seed) or real."""
    if description.get("Synthetic"):
        generator = (description.get("GeneratedBy") or [{}])[0]
        return (f"**Synthetic data.** This chapter runs on a cohort of {n_participants} participants *generated* by "
                f"`{generator.get('Name', '?')}` {generator.get('Version', '')} from seed "
                f"{description.get('SimulationSeed')} to mirror the published design (ketamine vs saline, 2:1). "
                "The trial's participant-level data are not public. The analysis is exactly the one an author "
                "would run on real images, but its results say what the analysis can detect, not whether the "
                "published finding is true.")
    return (f"**Real data** ({description.get('Name', 'unnamed dataset')}, {n_participants} participants), "
            "analysed with the same code as the synthetic default.")


def design_table(participants: pd.DataFrame) -> pd.DataFrame:
    """Baseline characteristics by arm: ``n, age (mean), female (%), MADRS and QIDS-SR before and after``."""
    grouped = participants.groupby("arm", observed=True)
    table = pd.DataFrame({
        "n": grouped.size(),
        "age_mean": grouped["age"].mean(),
        "female_percent": grouped["sex"].apply(lambda sex: 100 * (sex == "F").mean()),
        "madrs_pre_mean": grouped["madrs_pre"].mean(),
        "madrs_post_mean": grouped["madrs_post"].mean(),
        "qids_pre_mean": grouped["qids_pre"].mean(),
        "qids_post_mean": grouped["qids_post"].mean(),
    })
    return table.reindex(["ketamine", "saline"])


def md_change_summary(trial: pd.DataFrame) -> pd.DataFrame:
    """Mean (SD) 24-h MD change per arm and ROI, in 10⁻⁶ mm²/s, with the percent change."""
    frame = trial.assign(md_change_micro=trial["md_change"] * 1e6,
                         percent_change=100 * trial["md_change"] / trial["md_pre"])
    summary = frame.groupby(["roi", "arm"], observed=True).agg(
        mean_change=("md_change_micro", "mean"), sd_change=("md_change_micro", "std"),
        mean_percent=("percent_change", "mean"), n=("participant_id", "count")).reset_index()
    return summary


def _finding_rows(finding: dict, interactions: pd.DataFrame, associations: pd.DataFrame) -> pd.DataFrame:
    rois = finding.get("rois") or [finding["roi"]]
    source = interactions if finding["test"] == "interaction" else associations
    return source[source["roi"].isin(rois) & source["scale"].isin(finding["scales"])]


def compare_with_published(published: list[dict], interactions: pd.DataFrame,
                           associations: pd.DataFrame) -> pd.DataFrame:
    """One row per published finding and tested (roi, scale): direction and p side by side.

    A finding is *reproduced* when every tested cell has the published sign and the
    smallest p is at or below the largest published p; *partly* when the signs agree but
    p is larger; *not reproduced* when a sign disagrees.
    """
    rows = []
    for finding in published:
        cells = _finding_rows(finding, interactions, associations)
        expected_sign = 1 if finding["direction"] == "positive" else -1
        signs_agree = bool((np.sign(cells["estimate"]) == expected_sign).all())
        smallest_p = float(cells["p"].min())
        if signs_agree and smallest_p <= finding["p_high"]:
            verdict = "reproduced"
        elif signs_agree:
            verdict = "partly"
        else:
            verdict = "not reproduced"
        for _, cell in cells.iterrows():
            rows.append({"finding": finding["key"], "label": finding["label"], "published": finding["text"],
                         "test": finding["test"], "roi": cell["roi"], "scale": cell["scale"],
                         "published_direction": finding["direction"],
                         "reproduced_direction": "positive" if cell["estimate"] > 0 else "negative",
                         "estimate": cell["estimate"], "ci_low": cell["ci_low"], "ci_high": cell["ci_high"],
                         "t": cell["t"], "p": cell["p"], "finding_verdict": verdict})
    return pd.DataFrame(rows)


def assess_claim(comparison: pd.DataFrame) -> dict:
    """Subclaims for the scoreboard (one per published finding) and the overall verdict."""
    subclaims = []
    for key, group in comparison.groupby("finding", sort=False):
        best = group.loc[group["p"].idxmin()]
        cells = "; ".join(f"{row.roi} {row.scale.upper()}: t = {row.t:.2f}, p = {row.p:.3f}"
                          for row in group.itertuples())
        subclaims.append({"key": key, "label": best["label"], "published": best["published"], "scale": "test",
                          "estimate": float(best["estimate"]), "ci_low": float(best["ci_low"]),
                          "ci_high": float(best["ci_high"]), "reproduced_text": cells,
                          "verdict": best["finding_verdict"], "note": "synthetic cohort"})
    return {"subclaims": subclaims, "verdict": combine_verdicts([item["verdict"] for item in subclaims])}


def verdict_markdown(comparison: pd.DataFrame) -> str:
    lines = ["| Finding | ROI | Scale | Published | Reproduced direction | t | p | Verdict |",
             "|---|---|---|---|---|---|---|---|"]
    for row in comparison.itertuples():
        lines.append(f"| {row.label} | {row.roi} | {row.scale.upper()} | {row.published} | {row.reproduced_direction} "
                     f"| {row.t:.2f} | {row.p:.3f} | **{row.finding_verdict}** |")
    return "\n".join(lines)
