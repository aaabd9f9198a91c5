"""analysis.simulate.prediction_study: the batched generator matches the chapter's model,
results are reproducible and independent of batching, the summaries are right by hand, and
the real design (27 participants, 6 responders, 3 folds) runs."""
import numpy as np
import pytest
from scipy import stats

from analysis.simulate import prediction_study as study
from analysis.simulate.fmri import FmriDesign, select_rois, simulate_roi_signals

SMALL = {"n_participants": 40, "n_cohorts": 3, "n_permutations": 19, "test_size": 100, "test_pool_size": 300}


@pytest.fixture(scope="module")
def rois():
    return select_rois()


def _mean_correlation(signals):
    standardized = (signals - signals.mean(1, keepdims=True)) / signals.std(1, keepdims=True)
    return np.einsum("nti,ntj->ij", standardized, standardized) / (signals.shape[0] * signals.shape[1])


def test_batched_signals_follow_the_generator_model(rois):
    design = FmriDesign()
    n = 300
    loading, coupling = np.full(n, 0.9), np.full(n, 0.5)
    batched = study._roi_signals(design, rois["network"].to_numpy(), loading, coupling, np.random.default_rng(0))
    looped = np.stack([simulate_roi_signals(design, rois, 0.9, 0.5, np.random.default_rng([1, index]))
                       for index in range(n)])
    assert batched.shape == looped.shape == (n, design.n_volumes, len(rois))
    np.testing.assert_allclose(_mean_correlation(batched), _mean_correlation(looped), atol=0.03)


def test_motion_is_a_little_larger_in_nonresponders(rois):
    labels = np.repeat([1, 0], 2000)
    fd = study._mean_framewise_displacement(FmriDesign(), labels, np.random.default_rng(0))
    assert 0.05 < fd.mean() < 0.5
    assert fd[labels == 0].mean() > fd[labels == 1].mean()


def test_results_are_reproducible_and_do_not_depend_on_batching():
    first = study.operating_characteristics(0.75, **SMALL)
    assert first == study.operating_characteristics(0.75, **SMALL)
    fewer = study.operating_characteristics(0.75, **(SMALL | {"n_cohorts": 2}))
    assert fewer["per_cohort"] == first["per_cohort"][:2]
    assert first["scenario"] == "accuracy 0.75" and first["n_repeats"] == study.SIMULATION_REPEATS
    assert {"reported", "ci_low", "ci_high", "p", "estimand"} == set(first["per_cohort"][0])


def test_the_null_scenario_and_the_real_design():
    null = study.real_design_characteristics(None, n_cohorts=2, n_permutations=19, n_repeats=2, test_size=100,
                                             test_pool_size=200)
    assert null["scenario"] == "null" and null["true_accuracy"] == 0.5
    assert (null["n_participants"], null["n_responders"], null["n_splits"]) == (27, 6, 3)
    for row in null["per_cohort"]:
        assert 0 <= row["ci_low"] <= row["reported"] <= row["ci_high"] <= 1 and 0 < row["p"] <= 1
    assert study.operating_characteristics(0.5, **(SMALL | {"n_cohorts": 1}))["scenario"] == "null"


def test_summaries_by_hand():
    rows = [{"reported": 0.70, "ci_low": 0.60, "ci_high": 0.80, "p": 0.01, "estimand": 0.65},
            {"reported": 0.55, "ci_low": 0.45, "ci_high": 0.65, "p": 0.20, "estimand": 0.70},
            {"reported": 0.90, "ci_low": 0.80, "ci_high": 1.00, "p": 0.001, "estimand": 0.85},
            {"reported": 0.50, "ci_low": 0.40, "ci_high": 0.60, "p": 0.04, "estimand": 0.50}]
    summary = study.summarize_cohorts(rows, claimed=0.75)
    assert summary["bias"] == pytest.approx(np.mean([0.05, -0.15, 0.05, 0.0]))
    assert summary["coverage"] == 0.75
    assert summary["false_positive_rate"] == summary["power_beat_chance"] == 0.75
    assert summary["power_above_claimed"] == 0.25
    assert summary["fpr_upper_bound"] == pytest.approx(stats.beta.ppf(0.975, 1, 4))
    assert summary["fpr_ci_low"] < 0.75 < summary["fpr_ci_high"]
