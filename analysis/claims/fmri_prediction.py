"""The `fmri-prediction` claim: loading the cohort, confounds, the simulation study's summary, verdict."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["grid_sentence", "load_timeseries", "a_priori_edges", "motion_by_group", "confound_matrix", "clinical_features",
           "shortcut_timeseries", "operating_table", "operating_markdown", "summarize_operating_characteristics",
           "assess_claim", "verdict_markdown", "data_notice", "studies_markdown", "connectome_agreement",
           "SCENARIO_LABELS"]


def load_timeseries(qc: pd.DataFrame, participants: pd.DataFrame) -> tuple[list[np.ndarray], np.ndarray]:
    """Time series (in participants.tsv order) and the 0/1 responder labels."""
    if "responder" not in participants.columns:
        raise ValueError("participants.tsv: no 'responder' column; expected 0/1 (1 = >=50% MADRS decrease at 24 h)")
    labels = pd.to_numeric(participants["responder"], errors="coerce")
    bad = participants.loc[~labels.isin([0, 1]), "participant_id"].tolist()
    if bad:
        raise ValueError(f"participants.tsv, column 'responder': expected 0 or 1, got other values for {bad[:5]}")
    files = qc.set_index("participant_id")["timeseries"]
    missing = sorted(set(participants["participant_id"]) - set(files.index))
    if missing:
        raise ValueError(f"no ROI time series for {missing[:5]}")
    series = [pd.read_csv(files[participant], sep="\t").to_numpy(float) for participant in participants["participant_id"]]
    return series, labels.to_numpy(int)


def a_priori_edges(rois: pd.DataFrame) -> np.ndarray:
    """Boolean mask of the vectorized connectome (lower triangle without the diagonal, the
    order of nilearn's ``vectorize=True, discard_diagonal=True``) keeping DMN-DMN and
    prefrontal-limbic edges: the hypothesis of the claim, fixed before seeing labels."""
    networks = rois["network"].to_numpy()
    rows, columns = np.tril_indices(len(networks), k=-1)
    pairs = [{networks[i], networks[j]} for i, j in zip(rows, columns)]
    return np.array([pair == {"DMN"} or pair == {"prefrontal", "limbic"} for pair in pairs])


def motion_by_group(qc: pd.DataFrame, participants: pd.DataFrame) -> dict:
    """Mean framewise displacement by group and Welch's t-test (pingouin)."""
    import pingouin as pg

    data = participants[["participant_id", "responder"]].merge(qc, on="participant_id")
    responders = data.loc[data["responder"] == 1, "mean_fd"]
    others = data.loc[data["responder"] == 0, "mean_fd"]
    test = pg.ttest(responders, others, correction=True)
    return {"mean_fd_responders": float(responders.mean()), "mean_fd_nonresponders": float(others.mean()),
            "t": float(test["T"].iloc[0]), "p": float(test["p_val"].iloc[0] if "p_val" in test else test["p-val"].iloc[0]),
            "scrubbed_fraction": float(1 - data["n_kept"].sum() / data["n_volumes"].sum())}


def grid_sentence(qc: pd.DataFrame) -> str:
    """How the BOLD images are stored (from the QC table): each orientation and voxel size, with
    how many images have it when they differ.

    >>> print(grid_sentence(pd.DataFrame({"orientation": ["LAS", "LAS"], "voxel_size_mm": ["6 x 6 x 6"] * 2})))
    The 2 BOLD images are stored in LAS orientation with 6 x 6 x 6 mm voxels.
    """
    if not {"orientation", "voxel_size_mm"} <= set(qc.columns):
        return ""
    from ..spatial import storage_sentence

    return storage_sentence(qc[["orientation", "voxel_size_mm"]], "BOLD images")


def confound_matrix(qc: pd.DataFrame, participants: pd.DataFrame) -> np.ndarray:
    """Confounds regressed out inside the training folds: mean framewise displacement, age and
    sex (1 = female), in participants.tsv order."""
    data = participants[["participant_id", "age", "sex"]].merge(qc[["participant_id", "mean_fd"]],
                                                                 on="participant_id", how="left")
    if data["mean_fd"].isna().any():
        missing = data.loc[data["mean_fd"].isna(), "participant_id"].tolist()[:5]
        raise ValueError(f"no mean framewise displacement in the QC table for {missing}")
    return np.column_stack([data["mean_fd"].to_numpy(float), data["age"].to_numpy(float),
                            (data["sex"] == "F").to_numpy(float)])


def clinical_features(participants: pd.DataFrame) -> np.ndarray:
    """The clinical-only model's features: baseline MADRS and age."""
    return participants[["madrs_pre", "age"]].to_numpy(float)


def shortcut_timeseries(design, rois: pd.DataFrame, latents: pd.DataFrame) -> list[np.ndarray]:
    """The neural ROI signals the generator planted in the worked cohort's images (the same random
    streams as :func:`analysis.simulate.fmri.write_dataset`): what the simulation study starts from."""
    from ..simulate.fmri import simulate_roi_signals

    return [simulate_roi_signals(design, rois, row.dmn_loading, row.prefrontal_limbic_coupling,
                                 np.random.default_rng([design.seed, 1, index]))
            for index, row in enumerate(latents.itertuples())]


SCENARIO_LABELS = {"null": "no signal (chance)", "accuracy-065": "best achievable 65%",
                   "accuracy-075": "best achievable 75%", "accuracy-085": "best achievable 85%"}


def operating_table(studies: dict[str, dict]) -> pd.DataFrame:
    """One row per scenario of the simulation study, in reader's terms."""
    rows = []
    for name, study in studies.items():
        rows.append({"scenario": SCENARIO_LABELS.get(name, name), "true_accuracy": study["true_accuracy"],
                     "mean_reported": study["mean_reported"], "mean_estimand": study["mean_estimand"],
                     "bias": study["bias"], "coverage": study["coverage"],
                     "p_below_005": study["power_beat_chance"], "ci_above_claimed": study["power_above_claimed"]})
    return pd.DataFrame(rows)


def operating_markdown(frame: pd.DataFrame) -> str:
    """The simulation study as a markdown table for the chapter."""
    lines = ["| Scenario | Accuracy it reports (mean) | Accuracy it would have on new patients | 95% CI covers it "
             "| Permutation p < 0.05 | CI entirely above 75% |", "|---|---|---|---|---|---|"]
    for row in frame.itertuples():
        lines.append(f"| {row.scenario} | {100 * row.mean_reported:.1f}% | {100 * row.mean_estimand:.1f}% | "
                     f"{100 * row.coverage:.0f}% | {100 * row.p_below_005:.1f}% | {100 * row.ci_above_claimed:.1f}% |")
    return "\n".join(lines)


def summarize_operating_characteristics(studies: dict[str, dict]) -> dict:
    """``{"n_simulations", "scenarios": {name: {power, false_positive_rate, coverage, bias, ...}}}``:
    ``power`` is the rate of permutation p < 0.05 (beating chance), ``false_positive_rate`` that rate
    under the null (only meaningful there), ``power_above_claimed`` the rate of a CI above 0.75."""
    null = studies.get("null", {})
    scenarios = {}
    for name, study in studies.items():
        scenarios[name] = {"true_accuracy": study["true_accuracy"], "power": study["power_beat_chance"],
                           "power_above_claimed": study["power_above_claimed"],
                           "false_positive_rate": study["false_positive_rate"] if name == "null" else None,
                           "fpr_upper_bound": study.get("fpr_upper_bound"), "coverage": study["coverage"],
                           "bias": study["bias"], "mean_reported": study["mean_reported"],
                           "mean_estimand": study["mean_estimand"], "sd_reported": study["sd_reported"],
                           "n_permutations": study["n_permutations"], "n_participants": study["n_participants"]}
    first = next(iter(studies.values()))
    return {"n_simulations": first["n_cohorts"], "scenarios": scenarios,
            "false_positive_rate": null.get("false_positive_rate")}


def assess_claim(registry_entry: dict, main: dict, *, data: str, operating: dict, source_check: str,
                 basis: str) -> dict:
    """Subclaims and overall verdict. ``data``: the dataset's kind (:func:`verdicts.data_kind`). On
    synthetic or demonstration data ">75%" is 'not testable with public data' and carries what the
    analysis can detect; on real data the registry's rule judges the CI."""
    from . import verdicts as v

    claimed = next(item for item in registry_entry["published"] if item["key"] == "accuracy")
    low, high = main["balanced_accuracy_ci_low"], main["balanced_accuracy_ci_high"]
    if data != "real":
        verdict = v.NOT_TESTABLE
    elif low > claimed["value"]:
        verdict = v.REPRODUCED
    elif high < claimed["value"]:
        verdict = v.NOT_REPRODUCED
    elif low > 0.5 and high - low <= 0.20:
        verdict = v.PARTLY
    else:
        verdict = v.INCONCLUSIVE
    scenarios = operating["scenarios"]
    detectable = {"power": scenarios["accuracy-085"]["power_above_claimed"],
                  "false_positive_rate": scenarios["accuracy-075"]["power_above_claimed"],
                  "n_simulations": operating["n_simulations"]}
    subclaims = [v.subclaim(key="accuracy", label=claimed["label"], published=claimed["text"], verdict=verdict,
                            data=data, rule=claimed["rule"], basis=basis, source_check=source_check,
                            scale="accuracy", detectable=detectable,
                            **({} if data != "real" else {"estimate": main["balanced_accuracy"], "ci_low": low,
                                                    "ci_high": high}))]
    source = next((item for item in registry_entry["published"] if item["key"] == "source"), None)
    if source is not None:
        subclaims.append(v.subclaim(key="source", label=source["label"], published=source["text"],
                                    verdict=v.NOT_TESTABLE, data=data, rule=source["rule"],
                                    basis="literature search: no study reporting the figure was found",
                                    source_check=source_check, scale="source"))
    return {"subclaims": subclaims, "verdict": v.overall_verdict([item["verdict"] for item in subclaims]),
            "source_check": v.overall_source_check([item["source_check"] for item in subclaims])}


def verdict_markdown(assessment: dict) -> str:
    """The chapter's verdict table (MyST markdown with verdict, data and source badges)."""
    from .scoreboard import verdict_table_markdown

    return verdict_table_markdown(assessment["subclaims"])


def data_notice(description: dict, n_participants: int) -> str:
    """Notice at the top of the chapter: synthetic (generator, seed, true accuracy) or real."""
    from .verdicts import data_notice as notice

    accuracy = description.get("TrueAccuracy")
    return notice(description, n_participants,
                  (f"It has a planted responder difference whose best achievable accuracy is {accuracy:.0%}. "
                   if accuracy is not None else "")
                  + "No real participant is in this chapter; it tests the analysis, not the claim.")


def studies_markdown(studies: list[dict]) -> str:
    """Table of the nearest published studies with their validation and verbatim quotes."""
    lines = ["| Study | Modality | Sample | Validation | Reported (verbatim) |", "|---|---|---|---|---|"]
    for study in studies:
        quote = " ".join(str(study["quote"]).split()).replace("|", "\\|")
        lines.append(f"| [{study['citation']}](https://doi.org/{study['doi']}) | {study['modality']} | "
                     f"{study['sample']} | {study['validation']} | \u201c{quote}\u201d |")
    return "\n".join(lines)


def connectome_agreement(planted: list[np.ndarray], extracted: list[np.ndarray]) -> float:
    """Mean over participants of the correlation between the two correlation connectomes
    (lower triangles) of the planted and the extracted region signals."""
    values = []
    for first, second in zip(planted, extracted):
        lower = np.tril_indices(first.shape[1], k=-1)
        values.append(np.corrcoef(np.corrcoef(first.T)[lower], np.corrcoef(second.T)[lower])[0, 1])
    return float(np.mean(values))
