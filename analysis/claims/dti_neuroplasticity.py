"""The `dti-neuroplasticity` claim: detection rules for the published findings, the verdicts, and
the simulation study of what the analysis can detect at the trial's design."""
from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

import numpy as np
import pandas as pd

from ..schemas import DTI_ROI_LABELS
from . import verdicts as v

__all__ = ["data_notice", "design_table", "inventory_markdown", "evaluate_findings", "finding_table",
           "assess_claim", "scale_effects", "simulate_trial_tests", "operating_characteristics",
           "summarize_operating_characteristics", "true_cell_values", "operating_table", "operating_markdown",
           "verdict_markdown", "shortcut_check", "SCENARIOS"]

#: Scenarios of the simulation study: the factor applied to every planted dMD-score slope.
SCENARIOS = {"null": 0.0, "half": 0.5, "published": 1.0}


def data_notice(description: dict, n_participants: int) -> str:
    """The notice at the top of the chapter: synthetic (with generator and seed), demonstration or real."""
    from .verdicts import data_notice as notice

    return notice(description, n_participants,
                  "The cohort mirrors the published design (ketamine vs saline, 2:1); the trial's participant-level "
                  "data are not public. The analysis is exactly the one an author would run on real images, but its "
                  "results say what the analysis can detect, not whether the published finding is true.")


def inventory_markdown(inventory: pd.DataFrame) -> str:
    """What the images on disk were, in one or two sentences for the quality-control section: their
    orientation, voxel size and grid (each distinct value, with how many sessions have it), and the
    participants and sessions found on disk that the run did not use (healthy controls or other
    visits: listed, not errors).

    >>> table = pd.DataFrame({"participant_id": ["sub-01", "sub-01", "sub-99"], "session": ["pre", "post", "pre"],
    ...                       "used": ["yes", "yes", "no: not in the participants table"], "orientation": "LAS",
    ...                       "voxel_size_mm": "2 x 2 x 2", "grid": "10 x 10 x 10", "n_volumes": 49})
    >>> print(inventory_markdown(table))
    The 2 diffusion images analysed are stored in LAS orientation with 2 x 2 x 2 mm voxels on a 10 x 10 x 10 grid. Found on disk but not used: sub-99 (session pre; not in the participants table).
    """
    from ..spatial import storage_sentence

    text = storage_sentence(inventory[inventory["used"] == "yes"], "diffusion images analysed")
    unused = inventory[inventory["used"] != "yes"]
    if unused.empty:
        return text + " No other diffusion images were found on disk."
    listed = [f"{row.participant_id} (session {row.session}; {row.used.removeprefix('no: ')})"
              for row in unused.head(12).itertuples()]
    more = f" and {len(unused) - 12} more" if len(unused) > 12 else ""
    return text + f" Found on disk but not used: {', '.join(listed)}{more}."


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


def _standardized(values, row) -> np.ndarray:
    return np.asarray(values, dtype=float) * row["md_change_sd"] / row["residual_sd"]


@lru_cache(maxsize=64)
def _t_critical(level: float, dof: int) -> float:
    from scipy import stats

    return float(stats.t.ppf(0.5 + level / 2, dof))


def _slope_interval(row, arm: str, level: float) -> tuple[float, float]:
    crit = _t_critical(level, int(row["df"]))
    estimate, se = row[f"slope_{arm}"], row[f"slope_{arm}_se"]
    return estimate - crit * se, estimate + crit * se


def _index(tests: pd.DataFrame) -> dict:
    """(test, roi, scale) -> the test's row as a dict (the rules look rows up many times)."""
    return {(row["test"], row["roi"], row["scale"]): row for row in tests.to_dict(orient="records")}


def _cells(finding: dict, tests: dict, test: str | None = None, scales=None) -> list[dict]:
    rois = finding.get("rois") or [finding["roi"]]
    wanted = test or finding["test"]
    return [tests[(wanted, roi, scale)] for roi in rois for scale in (scales or finding["scales"])
            if (wanted, roi, scale) in tests]


def _passes(row, sign: int, q: float) -> bool:
    return bool(row["p_fdr"] < q and np.sign(row["estimate"]) == sign)


def _ketamine_driven(finding, tests, detection) -> tuple[bool, bool]:
    sign = 1 if finding["direction"] == "positive" else -1
    q, alpha, bound = detection["fdr_q"], detection["alpha"], detection["saline_equivalence"]
    interaction_passes, comes_out = False, False
    for row in _cells(finding, tests):
        if not _passes(row, sign, q):
            continue
        interaction_passes = True
        low, high = _slope_interval(row, "ketamine", 1 - alpha)
        ketamine_differs = low > 0 if sign > 0 else high < 0
        saline_low, saline_high = _standardized(_slope_interval(row, "saline", 1 - 2 * alpha), row)
        saline_near_zero = -bound < saline_low and saline_high < bound
        comes_out = comes_out or (ketamine_differs and saline_near_zero)
    return comes_out, interaction_passes


def _both_arms(finding, tests, detection) -> tuple[bool, bool]:
    sign = 1 if finding["direction"] == "positive" else -1
    q, alpha = detection["fdr_q"], detection["alpha"]
    pooled_passes, comes_out = False, False
    for row in _cells(finding, tests):
        if not _passes(row, sign, q):
            continue
        pooled_passes = True
        slopes = tests[("interaction", row["roi"], row["scale"])]
        in_each_arm = []
        for arm in ("ketamine", "saline"):
            low, high = _slope_interval(slopes, arm, 1 - alpha)
            in_each_arm.append(low > 0 if sign > 0 else high < 0)
        comes_out = comes_out or all(in_each_arm)
    return comes_out, pooled_passes


def _madrs_only(finding, tests, detection) -> tuple[bool, bool]:
    sign = 1 if finding["direction"] == "positive" else -1
    q = detection["fdr_q"]
    madrs_passes, comes_out = False, False
    for roi in finding.get("rois") or [finding["roi"]]:
        if not _passes(tests[("interaction", roi, "madrs")], sign, q):
            continue
        madrs_passes = True
        comes_out = comes_out or not bool(tests[("interaction", roi, "qids")]["p_fdr"] < q)
    return comes_out, madrs_passes


_RULES = {"ketamine-driven": _ketamine_driven, "both-arms": _both_arms, "madrs-only": _madrs_only}


def evaluate_findings(published: list[dict], tests: pd.DataFrame, detection: dict) -> pd.DataFrame:
    """Apply each finding's detection rule (``claims.yaml``) to one dataset's tests.

    Parameters
    ----------
    published : list of dict
        The claim's published findings from the registry (``kind``, ``roi``/``rois``, ``scales``,
        ``direction``, ``test``).
    tests : DataFrame
        :func:`analysis.stats.trial.cell_tests` output (``p_fdr`` is Benjamini-Hochberg over all rows).
    detection : dict
        ``fdr_q, alpha, saline_equivalence, smallest_effect`` from the registry.

    Returns
    -------
    DataFrame
        One row per finding: ``key, comes_out`` (the whole detection rule holds), ``main_test_passes``
        (the interaction or pooled slope passes, whatever the other conditions), ``opposite`` (an
        adjusted test of the finding's cells has the opposite sign), ``all_small`` (every tested
        CI excludes standardized effects of ``smallest_effect`` or more) and ``real_verdict`` (the
        verdict these would give on real data).
    """
    indexed = _index(tests)
    rows = []
    for finding in published:
        comes_out, main_passes = _RULES[finding["kind"]](finding, indexed, detection)
        cells = _cells(finding, indexed)
        sign = 1 if finding["direction"] == "positive" else -1
        opposite = any(cell["p_fdr"] < detection["fdr_q"] and np.sign(cell["estimate"]) == -sign for cell in cells)
        bound = detection["smallest_effect"]
        all_small = all(-bound < cell["ci_low"] * cell["md_change_sd"] / cell["residual_sd"]
                        and cell["ci_high"] * cell["md_change_sd"] / cell["residual_sd"] < bound for cell in cells)
        if comes_out:
            verdict = v.REPRODUCED
        elif main_passes:
            verdict = v.PARTLY
        elif opposite or all_small:
            verdict = v.NOT_REPRODUCED
        else:
            verdict = v.INCONCLUSIVE
        rows.append({"key": finding["key"], "comes_out": bool(comes_out), "main_test_passes": bool(main_passes),
                     "opposite": bool(opposite), "all_small": bool(all_small), "real_verdict": verdict})
    return pd.DataFrame(rows)


def finding_table(published: list[dict], tests: pd.DataFrame) -> pd.DataFrame:
    """The tests behind each published finding, for the chapter: one row per finding and cell."""
    rows, indexed = [], _index(tests)
    for finding in published:
        for cell in _cells(finding, indexed):
            rows.append({"finding": finding["label"], "published": finding["text"], "roi": cell["roi"],
                         "scale": cell["scale"], "test": cell["test"], "estimate": cell["estimate"],
                         "ci_low": cell["ci_low"], "ci_high": cell["ci_high"], "p": cell["p"],
                         "p_fdr": cell["p_fdr"], "slope_ketamine": cell["slope_ketamine"],
                         "slope_saline": cell["slope_saline"]})
    return pd.DataFrame(rows)


def assess_claim(registry_entry: dict, findings: pd.DataFrame, *, data: str, operating: dict | None,
                 basis: str) -> dict:
    """Subclaims and overall verdict. ``data``: the dataset's kind (:func:`verdicts.data_kind`). On
    synthetic or demonstration data every finding is 'not testable with public data' and carries
    what the analysis detects at the design (``operating``: the summary of
    :func:`summarize_operating_characteristics`); on real data its detection rule gives the verdict."""
    by_key = findings.set_index("key")
    subclaims = []
    for finding in registry_entry["published"]:
        verdict = by_key.loc[finding["key"], "real_verdict"] if data == "real" else v.NOT_TESTABLE
        extra = {}
        if operating is not None:
            summary = operating["findings"][finding["key"]]
            extra["detectable"] = {"power": summary["published"], "false_positive_rate": summary["null"],
                                   "power_half": summary["half"], "n_simulations": operating["n_simulations"]}
        subclaims.append(v.subclaim(key=finding["key"], label=finding["label"], published=finding["text"],
                                    verdict=verdict, data=data,
                                    rule=finding["rule"], basis=basis, source_check=v.TRACEABLE,
                                    scale="detection", **extra))
    return {"subclaims": subclaims, "verdict": v.overall_verdict([item["verdict"] for item in subclaims]),
            "source_check": v.overall_source_check([item["source_check"] for item in subclaims])}


# ------------------------------------------------------------------------------------------ simulation study
def scale_effects(design, factor: float):
    """The design with every planted dMD-score slope multiplied by ``factor`` (0: the null)."""
    effects = tuple(replace(effect, saline=effect.saline * factor, ketamine=effect.ketamine * factor)
                    for effect in design.effects)
    return replace(design, effects=effects)


def true_cell_values(design) -> pd.DataFrame:
    """The true value of every tested parameter in the model's units (score points per 10⁻³ mm²/s of
    MD change): the planted interaction (ketamine minus saline slope) and the pooled slope."""
    residual_sd = {"madrs": design.madrs_residual_sd, "qids": design.qids_residual_sd}
    per_unit = 1.0 / (design.md_change_sd * 1e3)
    planted = {(effect.roi, effect.scale): effect for effect in design.effects}
    rows = []
    from ..simulate.dti import ROIS

    for roi in ROIS:
        for scale in ("madrs", "qids"):
            effect = planted.get((roi, scale))
            saline, ketamine = (effect.saline, effect.ketamine) if effect else (0.0, 0.0)
            slope = residual_sd[scale] * per_unit
            rows.append({"test": "interaction", "roi": roi, "scale": scale, "truth": (ketamine - saline) * slope})
            pooled = ketamine if ketamine == saline else np.nan  # defined only when the arms share a slope
            rows.append({"test": "association", "roi": roi, "scale": scale, "truth": pooled * slope})
    return pd.DataFrame(rows)


def simulate_trial_tests(design, rng: np.random.Generator, *, measurement_sd: float) -> pd.DataFrame:
    """One simulated trial at the ROI-table level: participants and true regional MD from the
    generator, plus the imaging pipeline's measurement error (relative SD per session), then
    every test of :func:`analysis.stats.trial.cell_tests_arrays`."""
    from ..simulate.dti import simulate_participants
    from ..stats.trial import SCALES, cell_tests_arrays

    seeded = replace(design, seed=int(rng.integers(2**31)))
    participants, true_md = simulate_participants(seeded)
    n, rois = len(participants), list(dict.fromkeys(true_md["roi"]))
    md = true_md["md"].to_numpy().reshape(n, len(rois), 2)  # rows: participant, roi, (pre, post)
    measured = md * (1 + rng.normal(0.0, measurement_sd, md.shape))
    change = (measured[:, :, 1] - measured[:, :, 0]) * 1e3
    ketamine = (participants["arm"] == "ketamine").to_numpy(float)
    score_change = {scale: (participants[f"{scale}_post"] - participants[f"{scale}_pre"]).to_numpy(float)
                    for scale in SCALES}
    score_pre = {scale: participants[f"{scale}_pre"].to_numpy(float) for scale in SCALES}
    return cell_tests_arrays(ketamine, {roi: change[:, index] for index, roi in enumerate(rois)}, score_change,
                             score_pre)


def operating_characteristics(design, published: list[dict], detection: dict, *, scenario: str,
                              n_simulations: int, seed: int, measurement_sd: float) -> dict:
    """Simulate the trial ``n_simulations`` times under one scenario and apply the detection rules.

    Each simulation ``i`` is seeded by ``[seed, scenario index, i]``: reruns are identical.

    Returns
    -------
    dict
        ``scenario, factor, n_simulations, n_participants, measurement_sd``; ``findings``: per finding key the
        detection rate (``comes_out``) and the rate at which its main test passes; ``pattern``:
        the rate at which every finding comes out; ``cells``: per tested parameter its truth,
        bias (mean estimate minus truth), 95% CI coverage, rejection rate at the adjusted level
        and mean estimate.
    """
    from ..stats.trial import fcr_intervals

    factor = SCENARIOS[scenario]
    scenario_design = scale_effects(design, factor)
    truth = true_cell_values(scenario_design).set_index(["test", "roi", "scale"])["truth"]
    index = list(SCENARIOS).index(scenario)
    comes_out, main_passes, estimates, covered, rejected, fcr_covered = [], [], [], [], [], []
    for simulation in range(n_simulations):
        rng = np.random.default_rng([seed, index, simulation])
        tests = simulate_trial_tests(scenario_design, rng, measurement_sd=measurement_sd)
        findings = evaluate_findings(published, tests, detection).set_index("key")
        comes_out.append(findings["comes_out"].to_numpy())
        main_passes.append(findings["main_test_passes"].to_numpy())
        keyed = fcr_intervals(tests, q=detection["fdr_q"]).set_index(["test", "roi", "scale"])
        true_values = truth.loc[keyed.index].to_numpy()
        estimates.append(keyed["estimate"].to_numpy())
        covered.append((keyed["ci_low"].to_numpy() <= true_values) & (true_values <= keyed["ci_high"].to_numpy()))
        rejected.append(keyed["p_fdr"].to_numpy() < detection["fdr_q"])
        fcr_covered.append(np.where(keyed["selected"] & np.isfinite(true_values), (keyed["fcr_ci_low"] <= true_values)
                                    & (true_values <= keyed["fcr_ci_high"]), np.nan))
    keys = [finding["key"] for finding in published]
    comes_out, main_passes = np.array(comes_out), np.array(main_passes)
    estimates, covered, rejected = np.array(estimates), np.array(covered), np.array(rejected)
    fcr_covered = np.array(fcr_covered, dtype=float)
    cells = []
    for position, (test, roi, scale) in enumerate(keyed.index):
        true_value = float(truth.loc[(test, roi, scale)])
        cells.append({"test": test, "roi": roi, "scale": scale, "truth": true_value,
                      "mean_estimate": float(estimates[:, position].mean()),
                      "bias": float(estimates[:, position].mean() - true_value) if np.isfinite(true_value) else None,
                      "coverage": float(covered[:, position].mean()) if np.isfinite(true_value) else None,
                      "rejection_rate": float(rejected[:, position].mean())})
    selected_coverage = fcr_covered[np.isfinite(fcr_covered)]
    return {"scenario": scenario, "factor": factor, "n_simulations": int(n_simulations), "seed": int(seed),
            "n_participants": int(design.n_participants), "measurement_sd": float(measurement_sd),
            "findings": {key: {"detection_rate": float(comes_out[:, position].mean()),
                               "main_test_rate": float(main_passes[:, position].mean())}
                         for position, key in enumerate(keys)},
            "pattern": float(comes_out.all(axis=1).mean()),
            "any_finding": float(comes_out.any(axis=1).mean()),
            "fcr_coverage_selected": float(selected_coverage.mean()) if selected_coverage.size else None,
            "cells": cells}


def summarize_operating_characteristics(studies: dict[str, dict]) -> dict:
    """The scenarios side by side: per finding its detection rate in each scenario (``null`` is
    the rule's false-positive rate, ``published`` its power at the published pattern)."""
    first = next(iter(studies.values()))
    findings = {key: {scenario: study["findings"][key]["detection_rate"] for scenario, study in studies.items()}
                for key in first["findings"]}
    for key in findings:
        findings[key]["power"] = findings[key].get("published")
        findings[key]["false_positive_rate"] = findings[key].get("null")
    return {"n_simulations": first["n_simulations"], "n_participants": first["n_participants"],
            "measurement_sd": first["measurement_sd"], "scenarios": {scenario: {"pattern": study["pattern"], "any_finding": study["any_finding"],
                                     "fcr_coverage_selected": study["fcr_coverage_selected"],
                                     "findings": study["findings"], "cells": study["cells"]}
                          for scenario, study in studies.items()},
            "findings": findings}


def operating_table(published: list[dict], operating: dict) -> pd.DataFrame:
    """Detection rate of each finding per scenario (tidy: ``finding, scenario, detection_rate``)."""
    labels = {"null": "no association", "half": "half the published pattern", "published": "published pattern"}
    rows = []
    for finding in published:
        for scenario, rate in operating["findings"][finding["key"]].items():
            if scenario in labels:
                rows.append({"finding": finding["label"], "scenario": labels[scenario], "detection_rate": rate})
    return pd.DataFrame(rows)


def operating_markdown(frame: pd.DataFrame) -> str:
    """The operating characteristics as a markdown table (one row per finding, one column per scenario)."""
    wide = frame.pivot(index="finding", columns="scenario", values="detection_rate")
    wide = wide.reindex(index=list(dict.fromkeys(frame["finding"])), columns=list(dict.fromkeys(frame["scenario"])))
    header = "| Finding | " + " | ".join(f"Detected: {column}" for column in wide.columns) + " |"
    lines = [header, "|---" * (len(wide.columns) + 1) + "|"]
    for finding, row in wide.iterrows():
        lines.append(f"| {finding} | " + " | ".join(f"{100 * value:.0f}%" for value in row) + " |")
    return "\n".join(lines)


def verdict_markdown(assessment: dict) -> str:
    """The chapter's verdict table (MyST markdown with verdict and data badges)."""
    from .scoreboard import verdict_table_markdown

    return verdict_table_markdown(assessment["subclaims"], sources=False)


def shortcut_check(participants: pd.DataFrame, roi_md: pd.DataFrame, truth: pd.DataFrame) -> dict:
    """The simulation study's shortcut against the full pipeline on one cohort: the relative error of
    the pipeline's regional MD, and the interaction t statistics from true against measured MD."""
    from ..stats.trial import cell_tests

    merged = roi_md.merge(truth, on=["participant_id", "session", "roi"], suffixes=("", "_true"))
    relative_error = (merged["md"] - merged["md_true"]) / merged["md_true"]
    measured = cell_tests(participants, roi_md)
    true = cell_tests(participants, truth[["participant_id", "session", "roi", "md"]])
    shift = (measured["t"] - true["t"]).abs()
    return {"relative_error_sd": float(relative_error.std()), "max_t_shift": float(shift.max()),
            "t_correlation": float(np.corrcoef(measured["t"], true["t"])[0, 1])}


REGION_LABELS = DTI_ROI_LABELS
SCALE_LABELS = {"madrs": "MADRS", "qids": "QIDS-SR"}


def design_markdown(design: pd.DataFrame) -> str:
    """Baseline characteristics by arm, for readers (one decimal, units in the header)."""
    from ..report import markdown_table

    frame = pd.DataFrame({
        "Arm": [arm.capitalize() for arm in design.index],
        "n": [f"{int(n)}" for n in design["n"]],
        "Age, years (mean)": [f"{value:.1f}" for value in design["age_mean"]],
        "Female, %": [f"{value:.0f}" for value in design["female_percent"]],
        "MADRS before / after": [f"{a:.1f} / {b:.1f}" for a, b in zip(design["madrs_pre_mean"],
                                                                     design["madrs_post_mean"])],
        "QIDS-SR before / after": [f"{a:.1f} / {b:.1f}" for a, b in zip(design["qids_pre_mean"],
                                                                       design["qids_post_mean"])],
    })
    return markdown_table(frame)


def sensitivity_markdown(sensitivity: pd.DataFrame) -> str:
    """p-value of each region's interaction under each specification, for readers."""
    from ..report import markdown_table

    order = ["primary", "no baseline covariate", "age and sex", "baseline MD", "robust SE"]
    wide = sensitivity.pivot_table(index=["roi", "scale"], columns="analysis", values="p", sort=False)
    wide = wide[[column for column in order if column in wide.columns]].reset_index()
    frame = pd.DataFrame({"Region": wide["roi"].map(REGION_LABELS).fillna(wide["roi"]),
                          "Scale": wide["scale"].map(SCALE_LABELS).fillna(wide["scale"])})
    for column in wide.columns[2:]:
        frame[column.capitalize()] = [f"{p:.3f}" if p >= 0.001 else "<0.001" for p in wide[column]]
    return markdown_table(frame)
