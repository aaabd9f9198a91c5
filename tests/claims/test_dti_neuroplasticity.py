"""DTI claim: detection rules at their boundaries, the simulation study, and bad input."""
import numpy as np
import pandas as pd
import pytest

from analysis import fit_interactions
from analysis.claims import dti_neuroplasticity as claim
from analysis.claims import registry_entry
from analysis.io import DataValidationError
from analysis.simulate.dti import TrialDesign, simulate_participants
from analysis.stats.trial import cell_tests, fcr_intervals

ENTRY = registry_entry("dti-neuroplasticity")
DETECTION = ENTRY["detection"]
FINDINGS = {item["key"]: item for item in ENTRY["published"]}
ROIS = ("L_BA10", "R_BA10", "L_amygdala", "R_amygdala", "L_hippocampus", "R_hippocampus", "vACC")


def _null_tests():
    """28 tests with nothing significant; slopes 0 with SE 0.1 (standardized SE 0.1), df 93."""
    rows = []
    for test in ("interaction", "association"):
        for roi in ROIS:
            for scale in ("madrs", "qids"):
                rows.append({"test": test, "roi": roi, "scale": scale, "estimate": 0.0, "se": 1.0, "t": 0.0,
                             "p": 1.0, "p_fdr": 1.0, "ci_low": -0.05, "ci_high": 0.05, "df": 93,
                             "slope_ketamine": 0.0, "slope_ketamine_se": 0.1, "slope_saline": 0.0,
                             "slope_saline_se": 0.1, "residual_sd": 1.0, "md_change_sd": 1.0})
    return pd.DataFrame(rows)


def _set(tests, test, roi, scale, **values):
    index = tests.index[(tests["test"] == test) & (tests["roi"] == roi) & (tests["scale"] == scale)]
    for key, value in values.items():
        tests.loc[index, key] = value
    return tests


def _verdicts(tests):
    return claim.evaluate_findings(ENTRY["published"], tests, DETECTION).set_index("key")


def test_null_tests_give_no_finding_and_not_reproduced_when_all_small():
    result = _verdicts(_null_tests())
    assert not result["comes_out"].any()
    assert (result["real_verdict"] == "not reproduced").all()  # every CI inside +/-0.25


def test_ketamine_driven_needs_a_saline_slope_near_zero():
    tests = _set(_null_tests(), "interaction", "L_BA10", "madrs", estimate=0.5, p_fdr=0.049, slope_ketamine=0.5,
                 slope_ketamine_se=0.2, slope_saline=0.0, slope_saline_se=0.2)
    assert _verdicts(tests).loc["l_ba10", "real_verdict"] == "reproduced"  # saline 90% CI +/-0.33 inside 0.5
    tests = _set(tests, "interaction", "L_BA10", "madrs", slope_saline_se=0.35)  # 90% CI +/-0.58: not shown near 0
    result = _verdicts(tests).loc["l_ba10"]
    assert result["main_test_passes"] and not result["comes_out"]
    assert result["real_verdict"] == "partly reproduced"
    tests = _set(tests, "interaction", "L_BA10", "madrs", p_fdr=0.05)  # adjusted p must be below q
    assert not _verdicts(tests).loc["l_ba10", "main_test_passes"]
    tests = _set(tests, "interaction", "L_BA10", "madrs", p_fdr=0.01, estimate=-0.5)  # wrong sign
    assert _verdicts(tests).loc["l_ba10", "real_verdict"] == "not reproduced"


def test_both_arms_tests_both_slopes():
    tests = _set(_null_tests(), "association", "R_BA10", "qids", estimate=0.4, p_fdr=0.01)
    tests = _set(tests, "interaction", "R_BA10", "qids", slope_ketamine=0.4, slope_saline=0.4,
                 slope_ketamine_se=0.1, slope_saline_se=0.1)
    assert _verdicts(tests).loc["r_ba10", "comes_out"]
    tests = _set(tests, "interaction", "R_BA10", "qids", slope_saline=0.1)  # saline 95% CI includes 0
    assert _verdicts(tests).loc["r_ba10", "real_verdict"] == "partly reproduced"


def test_madrs_only_is_checked_on_the_qids():
    tests = _set(_null_tests(), "interaction", "L_hippocampus", "madrs", estimate=-0.5, p_fdr=0.02)
    assert _verdicts(tests).loc["hippocampus", "comes_out"]
    tests = _set(tests, "interaction", "L_hippocampus", "qids", estimate=-0.5, p_fdr=0.02)
    result = _verdicts(tests).loc["hippocampus"]
    assert not result["comes_out"] and result["real_verdict"] == "partly reproduced"


def test_inconclusive_when_wide_and_nothing_passes():
    tests = _null_tests().assign(ci_low=-0.6, ci_high=0.6)
    assert (_verdicts(tests)["real_verdict"] == "inconclusive").all()


def test_cell_tests_equal_statsmodels_and_fcr_widens_selected_intervals():
    participants, true_md = simulate_participants(TrialDesign(seed=3))
    tests = cell_tests(participants, true_md)
    reference = fit_interactions(participants, true_md)  # statsmodels OLS
    mine = tests[tests["test"] == "interaction"].reset_index(drop=True)
    for column in ("estimate", "ci_low", "ci_high", "p", "slope_ketamine", "slope_saline"):
        np.testing.assert_allclose(mine[column], reference[column], rtol=1e-8)
    adjusted = fcr_intervals(tests)
    selected = adjusted[adjusted["selected"]]
    assert len(selected) > 0
    assert ((selected["fcr_ci_high"] - selected["fcr_ci_low"]) > (selected["ci_high"] - selected["ci_low"])).all()
    assert adjusted.loc[~adjusted["selected"], "fcr_ci_low"].isna().all()


def test_simulation_study_is_reproducible_and_sane():
    kwargs = dict(n_simulations=4, seed=9, measurement_sd=0.004)
    first = claim.operating_characteristics(TrialDesign(), ENTRY["published"], DETECTION, scenario="null", **kwargs)
    second = claim.operating_characteristics(TrialDesign(), ENTRY["published"], DETECTION, scenario="null", **kwargs)
    assert first == second
    assert set(first["findings"]) == set(FINDINGS)
    truths = {(cell["test"], cell["roi"], cell["scale"]): cell["truth"] for cell in first["cells"]}
    assert truths[("interaction", "L_BA10", "madrs")] == 0.0  # the null plants nothing
    published = claim.true_cell_values(TrialDesign()).set_index(["test", "roi", "scale"])["truth"]
    assert published[("interaction", "L_BA10", "madrs")] == pytest.approx(0.5 * 8.0 / 0.016)
    assert np.isnan(published[("association", "L_BA10", "madrs")])  # arms differ: no common slope


@pytest.fixture(scope="module")
def cohort():
    return simulate_participants(TrialDesign(n_participants=30, seed=5))


def test_fit_interactions_rejects_an_unknown_arm(cohort):
    participants, roi_md = cohort
    bad = participants.copy()
    bad.loc[3, "arm"] = "placebo"
    with pytest.raises(DataValidationError, match=r"participants table, row 4 .*column 'arm': unknown value 'placebo'"):
        fit_interactions(bad, roi_md)


def test_fit_interactions_rejects_a_duplicated_participant(cohort):
    participants, roi_md = cohort
    bad = pd.concat([participants, participants.iloc[[2]]], ignore_index=True)
    with pytest.raises(DataValidationError, match=r"row 31 .*column 'participant_id'.*duplicate row.*sub-003"):
        fit_interactions(bad, roi_md)


@pytest.mark.parametrize("factor,hint", [(1e3, "near 1 means"), (1e6, "near 800 means")])
def test_fit_interactions_rejects_md_in_other_units(cohort, factor, hint):
    participants, roi_md = cohort
    with pytest.raises(DataValidationError, match=rf"roi_md table, row 1 .*column 'md'.*{hint}"):
        fit_interactions(participants, roi_md.assign(md=roi_md["md"] * factor))
