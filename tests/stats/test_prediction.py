"""analysis.stats.prediction: connectivity against nilearn and scikit-learn, the closed-form
classifier against brute force, inference (interval, permutation test, paired comparison),
calibration under the null, planted signal, determinism and the leakage demonstration."""
import numpy as np
import pytest
from scipy import stats

from analysis.simulate.fmri import FmriDesign, select_rois, simulate_latents, simulate_roi_signals
from analysis.stats import prediction
from analysis.stats.prediction import (check_labels, compare_models, connectome_vectors, corrected_t_interval,
                                       geometric_mean, leaky_edge_selection_accuracy, outer_folds,
                                       predict_from_covariances, predict_from_features, predict_response,
                                       sample_size_accuracy, standardized_covariances, tangent_space,
                                       train_and_predict)


def _cohort(true_accuracy, n=80, seed=11):
    design = FmriDesign(n_participants=n, seed=seed, true_accuracy=true_accuracy)
    rois = select_rois()
    latents = simulate_latents(design)
    series = [simulate_roi_signals(design, rois, row.dmn_loading, row.prefrontal_limbic_coupling,
                                   np.random.default_rng([seed, index]))
              for index, row in enumerate(latents.itertuples())]
    return series, latents["responder"].to_numpy()


def _zscored(series):
    return [(one - one.mean(0)) / one.std(0, ddof=1) for one in series]


@pytest.fixture(scope="module")
def noise():
    rng = np.random.default_rng(0)
    labels = np.array([0, 1] * 40)
    return [rng.normal(size=(120, 20)) for _ in labels], labels


@pytest.fixture(scope="module")
def correlated_series():
    rng = np.random.default_rng(3)
    mixing = [rng.normal(size=(12, 12)) * 0.4 for _ in range(30)]
    series = [rng.normal(size=(100, 12)) @ mix + rng.normal(size=(100, 12)) * rng.uniform(0.5, 2, 12)
              for mix in mixing]
    series[4] = series[4][:80]  # scrubbed: a shorter series
    return series


# ----------------------------------------------------------------------------- connectivity

def test_covariances_are_ledoit_wolf_of_zscored_series(correlated_series):
    from sklearn.covariance import ledoit_wolf

    expected = np.stack([ledoit_wolf(one)[0] for one in _zscored(correlated_series)])
    np.testing.assert_allclose(standardized_covariances(correlated_series), expected, rtol=0, atol=1e-12)


def test_tangent_space_equals_nilearn_fitted_on_the_training_set(correlated_series):
    from nilearn.connectome import ConnectivityMeasure

    covariances = standardized_covariances(correlated_series)
    train, test = np.arange(22), np.arange(22, 30)
    measure = ConnectivityMeasure(kind="tangent", vectorize=True, discard_diagonal=True, standardize="zscore_sample")
    series = _zscored(correlated_series)
    expected_train = measure.fit_transform([series[index] for index in train])
    expected_test = measure.transform([series[index] for index in test])
    reference = geometric_mean(covariances[train])
    np.testing.assert_allclose(reference, measure.mean_, atol=1e-6)
    np.testing.assert_allclose(tangent_space(covariances[train], reference), expected_train, atol=1e-6)
    np.testing.assert_allclose(tangent_space(covariances[test], reference), expected_test, atol=1e-6)
    fold_reference, fold_train = prediction._geometric_mean_and_tangents(covariances[train])
    np.testing.assert_allclose(fold_train, expected_train, atol=1e-6)
    np.testing.assert_allclose(tangent_space(covariances[test], fold_reference), expected_test, atol=1e-6)


@pytest.mark.parametrize("kind", ["correlation", "partial correlation"])
def test_fold_free_kinds_equal_nilearn(correlated_series, kind):
    from nilearn.connectome import ConnectivityMeasure

    measure = ConnectivityMeasure(kind=kind, vectorize=True, discard_diagonal=True, standardize="zscore_sample")
    expected = measure.fit_transform(_zscored(correlated_series))
    np.testing.assert_allclose(connectome_vectors(standardized_covariances(correlated_series), kind), expected,
                               atol=1e-10)


# ----------------------------------------------------------------------------- the classifier

def _ridge_brute_force_loo(features, targets, alpha):
    residuals = np.empty_like(targets)
    for left_out in range(len(features)):
        keep = np.arange(len(features)) != left_out
        x_mean, y_mean = features[keep].mean(0), targets[keep].mean(0)
        centred = features[keep] - x_mean
        weights = np.linalg.solve(centred.T @ centred + alpha * np.eye(features.shape[1]),
                                  centred.T @ (targets[keep] - y_mean))
        residuals[left_out] = targets[left_out] - (y_mean + (features[left_out] - x_mean) @ weights)
    return residuals


@pytest.mark.parametrize("n_features", [40, 3])
def test_closed_form_loo_equals_refitting_without_each_participant(n_features):
    rng = np.random.default_rng(n_features)
    features = rng.normal(size=(25, n_features))
    labels = rng.random((25, 3)) < 0.4
    codes = prediction._fisher_codes(labels)
    centred = features - features.mean(0)
    squared, left = np.linalg.eigh(centred @ centred.T)
    for alpha in (0.5, 7.0, 80.0):
        closed_form = prediction._loo_residuals(left, np.clip(squared, 0, None), codes, left.T @ codes, alpha)
        np.testing.assert_allclose(closed_form, _ridge_brute_force_loo(features, codes, alpha), atol=1e-10)


def test_fisher_coded_ridge_is_shrinkage_lda_and_is_what_the_classifier_uses():
    rng = np.random.default_rng(5)
    labels = np.array([1] * 9 + [0] * 21, dtype=bool)
    features = rng.normal(size=(30, 50)) + 0.8 * labels[:, None] * rng.normal(size=50)
    test_features = rng.normal(size=(7, 50))
    scores, _, alpha_relative = prediction._ridge_discriminant(features, test_features, labels[:, None])
    centred = features - features.mean(0)
    alpha = alpha_relative[0] * np.linalg.eigvalsh(centred @ centred.T)[-1]
    codes = prediction._fisher_codes(labels[:, None])[:, 0]
    ridge = np.linalg.solve(centred.T @ centred + alpha * np.eye(50), centred.T @ codes)
    difference = features[labels].mean(0) - features[~labels].mean(0)
    within = sum((features[group] - features[group].mean(0)).T @ (features[group] - features[group].mean(0))
                 for group in (labels, ~labels))
    lda = np.linalg.solve(within + alpha * np.eye(50), difference)
    assert ridge @ lda / (np.linalg.norm(ridge) * np.linalg.norm(lda)) == pytest.approx(1, abs=1e-10)
    np.testing.assert_allclose(scores[:, 0], (test_features - features.mean(0)) @ ridge, atol=1e-10)


def test_single_class_training_columns_predict_that_class():
    rng = np.random.default_rng(1)
    labels = np.column_stack([np.ones(10, bool), np.zeros(10, bool), np.arange(10) < 5])
    _, predicted, _ = prediction._ridge_discriminant(rng.normal(size=(10, 4)), rng.normal(size=(3, 4)), labels)
    assert predicted[:, 0].all() and not predicted[:, 1].any()


# ----------------------------------------------------------------------------- inference

def test_corrected_interval_and_paired_comparison_by_hand():
    first = np.array([0.70, 0.65, 0.80, 0.75, 0.60, 0.72])
    second = np.array([0.60, 0.66, 0.70, 0.70, 0.55, 0.61])
    correction = 1 / 6 + 20 / 80
    half = stats.t.ppf(0.975, 5) * np.sqrt(correction * np.var(first, ddof=1))
    assert corrected_t_interval(first, n_train=80, n_test=20) == pytest.approx((first.mean() - half,
                                                                                first.mean() + half))
    differences = first - second
    error = np.sqrt(correction * np.var(differences, ddof=1))
    t_value = differences.mean() / error
    result = compare_models(first, second, n_train=80, n_test=20)
    assert result["difference"] == pytest.approx(differences.mean())
    assert result["t"] == pytest.approx(t_value)
    assert result["p"] == pytest.approx(2 * stats.t.sf(abs(t_value), 5))
    assert result["ci_high"] - result["ci_low"] == pytest.approx(2 * stats.t.ppf(0.975, 5) * error)
    assert corrected_t_interval([0.9, 1.0, 1.0], n_train=10, n_test=5)[1] == 1.0
    with pytest.raises(ValueError, match="same folds"):
        compare_models(first, second[:5], n_train=80, n_test=20)


def test_permutation_statistic_at_the_identity_is_the_reported_statistic():
    series, labels = _cohort(true_accuracy=0.8, n=40, seed=4)
    covariances = standardized_covariances(series)
    confounds = np.random.default_rng(0).normal(size=(40, 2))
    result = predict_from_covariances(covariances, labels, n_permutations=0, n_repeats=2, confounds=confounds)
    folds = outer_folds(labels, n_splits=5, n_repeats=2, random_state=0)
    design = prediction._connectome_design(covariances, "tangent", None, confounds)
    columns = np.column_stack([labels, labels, labels[::-1]]).astype(bool)
    scores = prediction._fold_scores(design, columns, folds)["balanced_accuracy"]
    assert scores[:, 1].tolist() == scores[:, 0].tolist() == result["fold_balanced_accuracy"]
    assert scores[:, 1].mean() == result["balanced_accuracy"]


def _null_p_values(n_cohorts, leaky=False):
    """p-values of small null cohorts (10 regions, 30 participants, 39 permutations); with
    ``leaky`` the 3 edges most associated with the labels are chosen on all participants
    before the cross-validated test, so the permutations never redo the selection."""
    p_values = []
    for cohort in range(n_cohorts):
        rng = np.random.default_rng([17, cohort])
        labels = rng.permutation(np.repeat([0, 1], 15))
        covariances = standardized_covariances(rng.normal(size=(30, 60, 10)))
        settings = {"n_permutations": 39, "n_splits": 3, "n_repeats": 1, "random_state": cohort}
        if leaky:
            edges = connectome_vectors(covariances, "correlation")
            association = np.abs(stats.ttest_ind(edges[labels == 1], edges[labels == 0]).statistic)
            result = predict_from_features(edges[:, np.argsort(association)[-3:]], labels, **settings)
        else:
            result = predict_from_covariances(covariances, labels, confounds=rng.normal(size=(30, 1)), **settings)
        p_values.append(result["p_value"])
    return np.array(p_values)


def _calibrated(p_values):
    """Not anti-conservative: the count of p <= 0.05 within the 99.5% binomial quantile and
    mean p no more than 3.5 SE below 1/2 (ties of the discrete statistic, counted as
    exceedances, make a valid test a little conservative, so only the low side is checked)."""
    rejections_bound = stats.binom.ppf(0.995, len(p_values), 0.05)
    return (np.sum(p_values <= 0.05) <= rejections_bound
            and p_values.mean() > 0.5 - 3.5 * np.sqrt(1 / 12 / len(p_values)))


def test_permutation_p_values_are_calibrated_under_the_null_and_the_check_catches_a_leak():
    assert _calibrated(_null_p_values(50))
    assert not _calibrated(_null_p_values(50, leaky=True))


def test_planted_signal_is_found():
    series, labels = _cohort(true_accuracy=0.97, n=80)
    result = predict_response(series, labels, n_permutations=99, n_repeats=2)
    assert result["balanced_accuracy"] > 0.7 and result["balanced_accuracy_ci_low"] > 0.5
    assert result["roc_auc_ci_low"] > 0.5
    assert result["p_value"] < 0.05


def test_pure_noise_gives_chance(noise):
    series, labels = noise
    result = predict_response(series, labels, n_permutations=99, n_repeats=3)
    assert result["balanced_accuracy_ci_low"] < 0.5 < result["balanced_accuracy_ci_high"]
    assert result["p_value"] > 0.05
    assert 0.45 < result["permutation_scores_mean"] < 0.55
    assert set(result) >= {"balanced_accuracy", "balanced_accuracy_ci_low", "balanced_accuracy_ci_high", "roc_auc",
                           "roc_auc_ci_low", "roc_auc_ci_high", "p_value", "n", "n_permutations", "n_splits",
                           "n_repeats", "kind", "fold_balanced_accuracy", "permutation_scores_mean",
                           "alphas_chosen"}
    assert len(result["fold_balanced_accuracy"]) == 15


def test_identical_results_for_a_fixed_random_state():
    series, labels = _cohort(true_accuracy=0.8, n=40, seed=2)
    confounds = np.random.default_rng(1).normal(size=(40, 3))
    settings = {"random_state": 5, "n_permutations": 20, "n_repeats": 2, "confounds": confounds}
    assert predict_response(series, labels, **settings) == predict_response(series, labels, **settings)


def test_models_on_the_same_folds_can_be_compared():
    series, labels = _cohort(true_accuracy=0.9, n=40, seed=6)
    folds = outer_folds(labels, n_splits=5, n_repeats=2, random_state=3)
    connectome = predict_response(series, labels, n_permutations=0, n_repeats=2, folds=folds, kind="correlation")
    clinical = np.random.default_rng(2).normal(size=(40, 2))
    baseline = predict_from_features(clinical, labels, n_permutations=0, n_repeats=2, random_state=3)
    same_folds = predict_from_features(clinical, labels, n_permutations=0, n_repeats=2, folds=folds)
    assert same_folds["fold_balanced_accuracy"] == baseline["fold_balanced_accuracy"]
    comparison = compare_models(connectome["fold_balanced_accuracy"], baseline["fold_balanced_accuracy"],
                                n_train=connectome["n_train"], n_test=connectome["n_test"])
    assert comparison["n_folds"] == 10 and comparison["ci_low"] < comparison["difference"] < comparison["ci_high"]
    with pytest.raises(ValueError, match="n_splits x n_repeats"):
        predict_from_features(clinical, labels, n_permutations=0, n_repeats=3, folds=folds)


def test_a_priori_edges_and_new_participants():
    series, labels = _cohort(true_accuracy=0.97, n=60, seed=8)
    covariances = standardized_covariances(series)
    n_edges = covariances.shape[1] * (covariances.shape[1] - 1) // 2
    edges = np.zeros(n_edges, dtype=bool)
    edges[::7] = True
    result = predict_from_covariances(covariances, labels, n_permutations=0, n_repeats=1, edges=edges)
    assert 0 <= result["balanced_accuracy"] <= 1
    with pytest.raises(ValueError, match="boolean mask"):
        predict_from_covariances(covariances, labels, n_permutations=0, edges=edges[:-1])
    fitted = train_and_predict(covariances[:40], labels[:40], covariances[40:])
    assert np.mean(fitted["predicted"] == labels[40:]) > 0.7


def test_leaky_selection_inflates_on_noise_and_correct_does_not(noise):
    series, labels = noise
    result = leaky_edge_selection_accuracy(series, labels, k=10, n_repeats=3)
    assert result["leaky"] > 0.62
    assert result["correct"] < 0.6


@pytest.mark.parametrize("labels,message", [([0, 1, 2] * 10, "must be 0"), ([0] * 28 + [1] * 2, "too few")])
def test_bad_labels(labels, message):
    with pytest.raises(ValueError, match=message):
        check_labels(labels, n_splits=5)


def test_sample_size_formula():
    sizes = sample_size_accuracy(0.75, 0.65)
    assert 100 < sizes["n_required"] < 200
    assert sizes["half_width_at_100"] == pytest.approx(1.96 * np.sqrt(0.75 * 0.25 / 100), rel=1e-3)
