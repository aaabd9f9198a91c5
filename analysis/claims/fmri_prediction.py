"""The `fmri-prediction` claim: loading the cohort, feature sets, learning curve, verdict."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .claims import combine_verdicts

__all__ = ["load_timeseries", "a_priori_edges", "learning_curve", "motion_by_group", "assess_claim",
           "verdict_markdown"]


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


def learning_curve(design, n_values, *, n_repeats: int = 3, random_state: int = 0) -> pd.DataFrame:
    """Cross-validated balanced accuracy against cohort size, on cohorts simulated at the
    time-series level from the same generator (the pipeline from the connectome on)."""
    from dataclasses import replace

    from .simulate.fmri import select_rois, simulate_latents, simulate_roi_signals
    from .stats.prediction import predict_response

    rois = select_rois()
    rows = []
    for n in n_values:
        cohort = replace(design, n_participants=int(n), seed=design.seed + 1000 + int(n))
        latents = simulate_latents(cohort)
        series = [simulate_roi_signals(cohort, rois, row.dmn_loading, row.prefrontal_limbic_coupling,
                                       np.random.default_rng([cohort.seed, 5, index]))
                  for index, row in enumerate(latents.itertuples())]
        result = predict_response(series, latents["responder"], random_state=random_state, n_permutations=0,
                                  n_repeats=n_repeats, n_bootstrap=500)
        rows.append({"n": int(n), **{key: result[key] for key in (
            "balanced_accuracy", "balanced_accuracy_ci_low", "balanced_accuracy_ci_high", "roc_auc")}})
    return pd.DataFrame(rows)


def assess_claim(registry_entry: dict, main: dict, traceable: bool) -> dict:
    """Verdict on ">75%": reproduced if the CI lies above the claimed accuracy, partly if it
    contains it, not reproduced if it lies below; the attribution is judged separately."""
    claimed = next(item for item in registry_entry["published"] if item["key"] == "accuracy")
    low, high = main["balanced_accuracy_ci_low"], main["balanced_accuracy_ci_high"]
    if low > claimed["value"]:
        verdict = "reproduced"
    elif high >= claimed["value"]:
        verdict = "partly"
    else:
        verdict = "not reproduced"
    subclaims = [{"key": "accuracy", "label": claimed["label"], "published": claimed["text"], "scale": "proportion",
                  "estimate": main["balanced_accuracy"], "ci_low": low, "ci_high": high, "verdict": verdict,
                  "note": "balanced accuracy, whole connectome, synthetic cohort"}]
    source = next((item for item in registry_entry["published"] if item["key"] == "source"), None)
    if source is not None:
        subclaims.append({"key": "source", "label": source["label"], "published": source["text"], "scale": "text",
                          "estimate": None, "ci_low": None, "ci_high": None,
                          "reproduced_text": "traced" if traceable else "no validated study found",
                          "verdict": "reproduced" if traceable else "not traceable",
                          "note": "literature search (see chapter)"})
    return {"subclaims": subclaims, "verdict": combine_verdicts([item["verdict"] for item in subclaims])}


def verdict_markdown(assessment: dict) -> str:
    from .claims import _format_interval

    lines = ["| Published | Reproduced (95% CI) | Verdict |", "|---|---|---|"]
    for item in assessment["subclaims"]:
        lines.append(f"| {item['label']}: {item['published']} | {_format_interval(item)} | **{item['verdict']}** |")
    return "\n".join(lines)


def data_notice(description: dict, n_participants: int) -> str:
    """Notice at the top of the chapter: synthetic (generator, seed, true accuracy) or real."""
    if description.get("Synthetic"):
        generator = (description.get("GeneratedBy") or [{}])[0]
        return (f"**Synthetic data.** {n_participants} participants *generated* by `{generator.get('Name', '?')}` "
                f"{generator.get('Version', '')} from seed {description.get('SimulationSeed')}, with a planted "
                f"responder difference whose best achievable accuracy is {description.get('TrueAccuracy'):.0%}. "
                "No real participant is in this chapter; it tests the analysis, not the claim.")
    return (f"**Real data** ({description.get('Name', 'unnamed dataset')}, {n_participants} participants), "
            "analysed with the same code as the synthetic default.")


def studies_markdown(studies: list[dict]) -> str:
    """Table of the nearest published studies with their validation and verbatim quotes."""
    lines = ["| Study | Modality | Sample | Validation | Reported (verbatim) |", "|---|---|---|---|---|"]
    for study in studies:
        quote = " ".join(str(study["quote"]).split()).replace("|", "\\|")
        lines.append(f"| [{study['citation']}](https://doi.org/{study['doi']}) | {study['modality']} | "
                     f"{study['sample']} | {study['validation']} | \u201c{quote}\u201d |")
    return "\n".join(lines)


def baseline_models(qc: pd.DataFrame, participants: pd.DataFrame, labels, *, random_state: int = 0,
                    n_repeats: int = 10) -> dict:
    """Motion-only (mean FD) and clinical-only (baseline MADRS, age) logistic regressions,
    cross-validated and summarized like :func:`analysis.stats.prediction.predict_response`."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from .stats.prediction import cross_validated_probabilities, summarize_predictions

    data = participants.merge(qc, on="participant_id", how="left")
    feature_sets = {"motion only (mean FD)": data[["mean_fd"]].to_numpy(float),
                    "clinical only (MADRS, age)": data[["madrs_pre", "age"]].to_numpy(float)}
    results = {}
    for name, features in feature_sets.items():
        probabilities = cross_validated_probabilities(make_pipeline(StandardScaler(), LogisticRegression()), features,
                                                      labels, n_repeats=n_repeats, random_state=random_state)
        results[name] = summarize_predictions(probabilities, labels, random_state=random_state) | {
            "p_value": float("nan")}
    return results
