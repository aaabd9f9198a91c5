"""analysis.stats.trial against direct statsmodels fits, and bad trial tables."""
import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from analysis import fit_interactions
from analysis.io import DataValidationError, read_participants, read_roi_md
from analysis.simulate.dti import TrialDesign, simulate_participants
from analysis.stats.trial import arm_effect, sensitivity_analyses, trial_table


@pytest.fixture(scope="module")
def cohort():
    return simulate_participants(TrialDesign(seed=3))


def test_fit_interactions_equals_direct_statsmodels(cohort):
    participants, roi_md = cohort
    result = fit_interactions(participants, roi_md).set_index(["roi", "scale"])
    assert list(result.columns[:8]) == ["estimate", "ci_low", "ci_high", "t", "p", "n", "slope_ketamine", "slope_saline"]
    wide = roi_md.pivot_table(index=["participant_id", "roi"], columns="session", values="md").reset_index()
    data = participants.merge(wide, on="participant_id")
    data = data[data["roi"] == "L_BA10"]
    frame = pd.DataFrame({"score_change": data["madrs_post"] - data["madrs_pre"], "score_pre": data["madrs_pre"],
                          "md_change": (data["post"] - data["pre"]) * 1e3,
                          "ketamine": (data["arm"] == "ketamine").astype(float)})
    direct = smf.ols("score_change ~ ketamine * md_change + score_pre", data=frame).fit()
    row = result.loc[("L_BA10", "madrs")]
    assert row["estimate"] == pytest.approx(direct.params["ketamine:md_change"], rel=1e-9)
    assert row["p"] == pytest.approx(direct.pvalues["ketamine:md_change"], rel=1e-9)
    assert row["slope_saline"] == pytest.approx(direct.params["md_change"], rel=1e-9)
    assert row["n"] == 98
    assert 0 <= result["p_fdr"].min() and (result["p_fdr"] >= result["p"] - 1e-12).all()


def test_arm_effect_and_sensitivity(cohort):
    participants, roi_md = cohort
    effect = arm_effect(participants).set_index("scale")
    assert effect.loc["madrs", "estimate"] < 0 and effect.loc["madrs", "p"] < 0.001
    sensitivity = sensitivity_analyses(participants, roi_md)
    assert set(sensitivity["analysis"]) == {"primary", "no baseline covariate", "age and sex", "baseline MD", "robust SE"}
    assert len(sensitivity) == 5 * 14


def _write(frame, path):
    frame.to_csv(path, sep="\t", index=False)
    return path


def test_participants_errors_name_file_row_and_column(tmp_path, cohort):
    participants, _ = cohort
    bad_arm = participants.copy()
    bad_arm.loc[4, "arm"] = "placebo"
    with pytest.raises(DataValidationError, match=r"participants.tsv, row 5 .*column 'arm': unknown value 'placebo'"):
        read_participants(_write(bad_arm, tmp_path / "participants.tsv"))
    duplicate = pd.concat([participants, participants.iloc[[0]]], ignore_index=True)
    with pytest.raises(DataValidationError, match=r"row 99 .*duplicate study|row 99 .*duplicate"):
        read_participants(_write(duplicate, tmp_path / "participants.tsv"))
    missing = participants.drop(columns=["qids_post"])
    with pytest.raises(DataValidationError, match=r"missing column\(s\) \['qids_post'\]"):
        read_participants(_write(missing, tmp_path / "participants.tsv"))


def test_md_in_wrong_units_is_explained(tmp_path, cohort):
    _, roi_md = cohort
    wrong = roi_md.assign(md=roi_md["md"] * 1e3)  # µm²/ms
    with pytest.raises(DataValidationError, match=r"roi_md.tsv, row 1 .*column 'md'.*near 1 means µm²/ms"):
        read_roi_md(_write(wrong, tmp_path / "roi_md.tsv"))


def test_missing_session_is_named(cohort):
    participants, roi_md = cohort
    incomplete = roi_md[~((roi_md["participant_id"] == "sub-007") & (roi_md["session"] == "post")
                          & (roi_md["roi"] == "vACC"))]
    with pytest.raises(ValueError, match=r"sub-007 has no 'post' session for ROI vACC"):
        trial_table(participants, incomplete)
