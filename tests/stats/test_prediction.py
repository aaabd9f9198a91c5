"""analysis.stats.prediction: chance on noise, planted signal found, leakage, determinism."""
import numpy as np
import pytest

from analysis.simulate.fmri import FmriDesign, select_rois, simulate_latents, simulate_roi_signals
from analysis.stats.prediction import (check_labels, leaky_edge_selection_accuracy, predict_response,
                                       sample_size_accuracy)


def _cohort(true_accuracy, n=80, seed=11):
    design = FmriDesign(n_participants=n, seed=seed, true_accuracy=true_accuracy)
    rois = select_rois()
    latents = simulate_latents(design)
    series = [simulate_roi_signals(design, rois, row.dmn_loading, row.prefrontal_limbic_coupling,
                                   np.random.default_rng([seed, index])) for index, row in enumerate(latents.itertuples())]
    return series, latents["responder"].to_numpy()


@pytest.fixture(scope="module")
def noise():
    rng = np.random.default_rng(0)
    labels = np.array([0, 1] * 40)
    return [rng.normal(size=(120, 20)) for _ in labels], labels


def test_pure_noise_gives_chance(noise):
    series, labels = noise
    result = predict_response(series, labels, n_permutations=200, n_repeats=3, n_bootstrap=300)
    assert result["balanced_accuracy_ci_low"] < 0.5 < result["balanced_accuracy_ci_high"]
    assert result["p_value"] > 0.05
    assert set(result) >= {"balanced_accuracy", "balanced_accuracy_ci_low", "balanced_accuracy_ci_high", "roc_auc",
                           "roc_auc_ci_low", "roc_auc_ci_high", "p_value", "n"}


def test_planted_signal_is_found():
    series, labels = _cohort(true_accuracy=0.97, n=80)
    result = predict_response(series, labels, n_permutations=100, n_repeats=3, n_bootstrap=300)
    assert result["balanced_accuracy"] > 0.7 and result["balanced_accuracy_ci_low"] > 0.5
    assert result["p_value"] < 0.05


def test_leaky_selection_inflates_on_noise_and_correct_does_not(noise):
    series, labels = noise
    result = leaky_edge_selection_accuracy(series, labels, k=10, n_repeats=3)
    assert result["leaky"] > 0.62
    assert result["correct"] < 0.6


def test_identical_results_for_a_fixed_random_state():
    series, labels = _cohort(true_accuracy=0.8, n=40, seed=2)
    first = predict_response(series, labels, random_state=5, n_permutations=20, n_repeats=2, n_bootstrap=100)
    second = predict_response(series, labels, random_state=5, n_permutations=20, n_repeats=2, n_bootstrap=100)
    assert first == second


@pytest.mark.parametrize("labels,message", [([0, 1, 2] * 10, "must be 0"), ([0] * 28 + [1] * 2, "too few")])
def test_bad_labels(labels, message):
    with pytest.raises(ValueError, match=message):
        check_labels(labels, n_splits=5)


def test_sample_size_formula():
    sizes = sample_size_accuracy(0.75, 0.65)
    assert 100 < sizes["n_required"] < 200
    assert sizes["half_width_at_100"] == pytest.approx(1.96 * np.sqrt(0.75 * 0.25 / 100), rel=1e-3)
