"""Cross-validated prediction of ketamine response from baseline connectomes.

The engine behind the ``fmri-prediction`` claim. One participant's ROI time series become a
Ledoit-Wolf covariance (label- and fold-free, computed once); inside each outer training fold
the covariances are projected to the tangent space at the fold's geometric mean, confounds
are regressed out and the edges standardized; a closed-form ridge discriminant (shrinkage
LDA) whose penalty is tuned by its exact leave-one-out error classifies the test fold.

What is reported is what the permutation test and the interval are about:

- balanced accuracy (and ROC-AUC) = mean over the ``n_repeats x n_splits`` outer folds;
- a corrected repeated k-fold t interval that includes the training-set variability;
- a permutation p-value of that same mean, every permutation re-running the same folds and
  re-tuning the classifier (all permutations at once, as columns of one target matrix).

Public functions: :func:`predict_response` (time series), :func:`predict_from_covariances`,
:func:`predict_from_features` (e.g. a clinical-only model on the same folds),
:func:`train_and_predict` (one fit, predictions for new participants), :func:`compare_models`,
:func:`corrected_t_interval`, :func:`outer_folds`, the connectivity steps
(:func:`standardized_covariances`, :func:`geometric_mean`, :func:`tangent_space`,
:func:`connectome_vectors`) and :func:`check_labels`, :func:`sample_size_accuracy`,
:func:`leaky_edge_selection_accuracy`.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from scipy import stats

__all__ = ["KINDS", "ALPHA_GRID", "check_labels", "standardized_covariances", "geometric_mean", "tangent_space",
           "connectome_vectors", "outer_folds", "corrected_t_interval", "compare_models", "predict_response",
           "predict_from_covariances", "predict_from_features", "train_and_predict",
           "leaky_edge_selection_accuracy", "sample_size_accuracy"]

KINDS = ("tangent", "correlation", "partial correlation")
ALPHA_GRID = np.logspace(-3, 3, 15)
"""Ridge penalties tried in every fit, as multiples of the largest squared singular value of
the fold's centred training features."""

DesignFunction = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def check_labels(y, *, n_splits: int) -> np.ndarray:
    """Labels must be 0/1 with at least ``n_splits`` participants in each class."""
    y = np.asarray(y)
    values = set(np.unique(y).tolist())
    if not values <= {0, 1}:
        raise ValueError(f"labels must be 0 (non-responder) or 1 (responder); got values {sorted(values)}")
    counts = {label: int((y == label).sum()) for label in (0, 1)}
    if min(counts.values()) < n_splits:
        raise ValueError(f"too few participants per class for {n_splits}-fold cross-validation: {counts} "
                         f"(need at least {n_splits} of each)")
    return y.astype(int)


# ----------------------------------------------------------------------------- connectivity

def standardized_covariances(timeseries) -> np.ndarray:
    """Ledoit-Wolf covariance of each participant's z-scored ROI time series.

    Parameters
    ----------
    timeseries : list of ndarray or ndarray
        One (time x region) array per participant (lengths may differ after scrubbing), or a
        (participants x time x regions) array.

    Returns
    -------
    ndarray
        (participants x regions x regions).

    Notes
    -----
    Each series is centred and divided by its sample SD (ddof = 1, nilearn's
    ``"zscore_sample"``), then the covariance is shrunk towards ``μI`` with the Ledoit-Wolf
    coefficient, exactly as :func:`sklearn.covariance.ledoit_wolf` computes it (batched here
    over participants of equal length). nilearn 0.13's ``ConnectivityMeasure`` ignores
    ``standardize="zscore_sample"`` for every kind (it standardizes only when
    ``standardize is True`` and ``kind="correlation"``), so it equals this function on
    series that are already z-scored, as the fMRI stage writes them (before scrubbing).

    References
    ----------
    Ledoit O, Wolf M (2004). A well-conditioned estimator for large-dimensional covariance
    matrices. J Multivar Anal 88:365-411.
    """
    if isinstance(timeseries, np.ndarray) and timeseries.ndim == 3:
        return _ledoit_wolf_stack(_zscore(timeseries.astype(float)))
    series = [np.asarray(one, dtype=float) for one in timeseries]
    if not series or any(one.ndim != 2 for one in series) or len({one.shape[1] for one in series}) != 1:
        raise ValueError("expected one (time x region) array per participant, all with the same regions")
    if min(one.shape[0] for one in series) < 3:
        raise ValueError("each time series needs at least 3 volumes")
    covariances = np.empty((len(series), series[0].shape[1], series[0].shape[1]))
    lengths = np.array([one.shape[0] for one in series])
    for length in np.unique(lengths):
        members = np.flatnonzero(lengths == length)
        covariances[members] = _ledoit_wolf_stack(_zscore(np.stack([series[index] for index in members])))
    return covariances


def _zscore(stack: np.ndarray) -> np.ndarray:
    centred = stack - stack.mean(axis=1, keepdims=True)
    sd = centred.std(axis=1, ddof=1, keepdims=True)
    return centred / np.where(sd < np.finfo(float).eps, 1.0, sd)


def _ledoit_wolf_stack(data: np.ndarray) -> np.ndarray:
    """sklearn's ``ledoit_wolf(x)`` for every x of a (participants x time x regions) stack."""
    n_samples, n_features = data.shape[1:]
    data = data - data.mean(axis=1, keepdims=True)
    empirical = np.matmul(data.transpose(0, 2, 1), data) / n_samples
    mu = np.trace(empirical, axis1=1, axis2=2) / n_features
    beta_sum = np.sum(np.sum(data**2, axis=2) ** 2, axis=1)
    delta_sum = np.sum(empirical**2, axis=(1, 2))
    beta = (beta_sum / n_samples - delta_sum) / (n_features * n_samples)
    delta = (delta_sum - n_features * mu**2) / n_features
    beta = np.minimum(beta, delta)
    shrinkage = np.divide(beta, delta, out=np.zeros_like(beta), where=beta != 0)
    shrunk = (1 - shrinkage)[:, None, None] * empirical
    shrunk[:, np.arange(n_features), np.arange(n_features)] += (shrinkage * mu)[:, None]
    return shrunk


def _symmetric_function(matrices: np.ndarray, function) -> np.ndarray:
    values, vectors = np.linalg.eigh(matrices)
    return np.matmul(vectors * function(values)[..., None, :], np.swapaxes(vectors, -1, -2))


def geometric_mean(covariances: np.ndarray, *, max_iter: int = 30, tol: float = 1e-7) -> np.ndarray:
    """Riemannian (log-Euclidean-invariant) geometric mean of SPD matrices.

    Parameters
    ----------
    covariances : ndarray
        (matrices x regions x regions), symmetric positive definite.
    max_iter, tol : int, float
        nilearn's settings in ``ConnectivityMeasure(kind="tangent")``.

    Returns
    -------
    ndarray
        (regions x regions).

    Notes
    -----
    The gradient descent of nilearn's ``_geometric_mean`` (Fletcher & Joshi 2007, algorithm
    3), step for step (arithmetic-mean start, step halving, stop when
    ``‖mean_k log(G^{-1/2} C_k G^{-1/2})‖_F / regions² < tol``), with the eigendecompositions
    of all matrices batched: ``G ← G^{1/2} exp(step · mean_k log(G^{-1/2} C_k G^{-1/2})) G^{1/2}``.

    References
    ----------
    Fletcher PT, Joshi S (2007). Riemannian geometry for the statistical analysis of diffusion
    tensor data. Signal Process 87:250-262.
    """
    covariances = np.asarray(covariances, dtype=float)
    mean = covariances.mean(axis=0)
    n_matrices, n_regions = covariances.shape[:2]
    best_norm, step = np.inf, 1.0
    for _ in range(max_iter):
        values, vectors = np.linalg.eigh(mean)
        inverse_root = (vectors / np.sqrt(values)) @ vectors.T
        whitened_values, whitened_vectors = np.linalg.eigh(inverse_root @ covariances @ inverse_root)
        scaled = whitened_vectors * np.log(whitened_values)[:, None, :]
        log_mean = (scaled.transpose(1, 0, 2).reshape(n_regions, -1)
                    @ whitened_vectors.transpose(1, 0, 2).reshape(n_regions, -1).T) / n_matrices
        if np.any(np.isnan(log_mean)):
            raise FloatingPointError("NaN after the matrix logarithm: are all covariances positive definite?")
        norm = np.linalg.norm(log_mean)
        root = (vectors * np.sqrt(values)) @ vectors.T
        mean = root @ _symmetric_function(log_mean, lambda eigenvalues: np.exp(eigenvalues * step)) @ root
        if norm < best_norm:
            best_norm = norm
        elif norm > best_norm:
            step, norm = step / 2.0, best_norm
        if norm / mean.size < tol:
            break
    return mean


def _lower_triangle(matrices: np.ndarray) -> np.ndarray:
    rows, columns = np.tril_indices(matrices.shape[-1], k=-1)
    return matrices[..., rows, columns]


def tangent_space(covariances: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Vectorized tangent-space connectomes ``log(G^{-1/2} C G^{-1/2})`` at ``reference`` G.

    Returns
    -------
    ndarray
        (participants x edges): the lower triangle without the diagonal, in nilearn's order
        (``vectorize=True, discard_diagonal=True``: row-major ``np.tril_indices(k=-1)``).

    References
    ----------
    Varoquaux G, Baronnet F, Kleinschmidt A, Fillard P, Thirion B (2010). Detection of brain
    functional-connectivity difference in post-stroke patients using group-level covariance
    modeling. MICCAI, LNCS 6361:200-208.
    """
    whitening = _symmetric_function(np.asarray(reference, dtype=float), lambda values: 1.0 / np.sqrt(values))
    values, vectors = np.linalg.eigh(whitening @ covariances @ whitening)
    rows, columns = np.tril_indices(covariances.shape[-1], k=-1)
    return np.einsum("nek,nek,nk->ne", vectors[:, rows, :], vectors[:, columns, :], np.log(values))


def connectome_vectors(covariances: np.ndarray, kind: str) -> np.ndarray:
    """Fold-free connectomes (``"correlation"`` or ``"partial correlation"``), vectorized
    like :func:`tangent_space`; nilearn's ``cov_to_corr`` and ``prec_to_partial``."""
    if kind == "correlation":
        sign, matrices = 1.0, covariances
    elif kind == "partial correlation":
        sign, matrices = -1.0, np.linalg.inv(covariances)
    else:
        raise ValueError(f"kind {kind!r} is fitted per fold or unknown; fold-free kinds: correlation, "
                         "partial correlation")
    scale = 1.0 / np.sqrt(np.diagonal(matrices, axis1=1, axis2=2))
    return sign * _lower_triangle(matrices * scale[:, :, None] * scale[:, None, :])


# ----------------------------------------------------------------------------- the classifier

def _fisher_codes(labels: np.ndarray) -> np.ndarray:
    """+1/n1 for class 1 and -1/n0 for class 0 in each column (centred by construction);
    zero for a column whose training labels hold only one class."""
    n_ones = labels.sum(axis=0)
    n_zeros = labels.shape[0] - n_ones
    with np.errstate(divide="ignore"):
        codes = np.where(labels, 1.0 / n_ones, -1.0 / n_zeros)
    codes[:, (n_ones == 0) | (n_zeros == 0)] = 0.0
    return codes


def _loo_residuals(left: np.ndarray, singular: np.ndarray, targets: np.ndarray, alpha: float) -> np.ndarray:
    """Exact leave-one-out residuals of ridge regression with an unpenalized intercept.

    ``left, singular`` come from the SVD of the centred training features; ``targets`` are
    centred (one column per target). ``(y_i - ŷ_i) / (1 - h_ii)`` with
    ``h_ii = 1/m + Σ_k U_ik² s_k² / (s_k² + α)``.
    """
    shrink = singular**2 / (singular**2 + alpha)
    leverage = 1.0 / left.shape[0] + (left**2) @ shrink
    fitted = left @ (shrink[:, None] * (left.T @ targets))
    return (targets - fitted) / (1.0 - leverage)[:, None]


def _ridge_discriminant(train_features: np.ndarray, test_features: np.ndarray,
                        train_labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fit one ridge discriminant per column of ``train_labels`` and classify the test rows.

    Returns
    -------
    (ndarray, ndarray, ndarray)
        Test scores (test x columns), predicted 0/1 labels (test x columns) and the chosen
        penalty of each column relative to the largest squared singular value.
    """
    centre = train_features.mean(axis=0)
    left, singular, right = np.linalg.svd(train_features - centre, full_matrices=False)
    codes = _fisher_codes(train_labels)
    if singular.size == 0 or singular[0] <= 0:
        singular_max_squared, singular = 1.0, np.zeros_like(singular)
    else:
        singular_max_squared = singular[0] ** 2
    alphas = ALPHA_GRID * singular_max_squared
    press = np.stack([np.einsum("ij,ij->j", residual, residual)
                      for residual in (_loo_residuals(left, singular, codes, alpha) for alpha in alphas)])
    chosen = np.argmin(press, axis=0)
    projected = left.T @ codes
    coefficients = singular[:, None] / (singular[:, None] ** 2 + alphas[chosen][None, :]) * projected
    train_scores = (left * singular) @ coefficients
    test_scores = ((test_features - centre) @ right.T) @ coefficients
    predicted = test_scores > _midpoint_of_class_means(train_scores, train_labels)
    n_ones = train_labels.sum(axis=0)
    single_class = (n_ones == 0) | (n_ones == train_labels.shape[0])
    predicted[:, single_class] = n_ones[single_class] > 0
    return test_scores, predicted, ALPHA_GRID[chosen]


def _midpoint_of_class_means(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    n_ones = labels.sum(axis=0)
    n_zeros = labels.shape[0] - n_ones
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_ones = (scores * labels).sum(axis=0) / n_ones
        mean_zeros = (scores * ~labels).sum(axis=0) / n_zeros
    return (mean_ones + mean_zeros) / 2


def _balanced_accuracy(truth: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Column-wise mean recall over the classes present in each column of ``truth``
    (scikit-learn's ``balanced_accuracy_score``, which drops an absent class)."""
    ones = truth.sum(axis=0)
    zeros = truth.shape[0] - ones
    with np.errstate(invalid="ignore", divide="ignore"):
        recall_ones = (predicted & truth).sum(axis=0) / ones
        recall_zeros = (~predicted & ~truth).sum(axis=0) / zeros
    return np.where(ones == 0, recall_zeros, np.where(zeros == 0, recall_ones, (recall_ones + recall_zeros) / 2))


def _roc_auc(truth: np.ndarray, scores: np.ndarray) -> float:
    ranks = stats.rankdata(scores)
    n_ones = int(truth.sum())
    n_zeros = truth.size - n_ones
    return float((ranks[truth].sum() - n_ones * (n_ones + 1) / 2) / (n_ones * n_zeros))


# ----------------------------------------------------------------------------- cross-validation

def outer_folds(y, *, n_splits: int = 5, n_repeats: int = 10, random_state: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """``RepeatedStratifiedKFold`` (train, test) index pairs on the true labels: pass them
    as ``folds`` to run several models on the same folds."""
    from sklearn.model_selection import RepeatedStratifiedKFold

    y = np.asarray(y)
    splitter = RepeatedStratifiedKFold(n_splits=n_splits, n_repeats=n_repeats, random_state=random_state)
    return list(splitter.split(np.zeros(len(y)), y))


def _label_matrix(y: np.ndarray, n_permutations: int, random_state: int) -> np.ndarray:
    """Participants x (1 + permutations) booleans: the true labels, then the permutations
    drawn from ``np.random.default_rng(random_state)``."""
    rng = np.random.default_rng(random_state)
    permuted = rng.permuted(np.tile(y.astype(bool), (n_permutations, 1)), axis=1)
    return np.column_stack([y.astype(bool), permuted.T]) if n_permutations else y.astype(bool)[:, None]


def _fold_scores(design: DesignFunction, labels: np.ndarray, folds) -> dict:
    """Balanced accuracy of every fold (folds x label columns), ROC-AUC of the true labels
    (column 0) and the chosen penalties; the label-free ``design`` runs once per fold."""
    balanced_accuracy = np.empty((len(folds), labels.shape[1]))
    roc_auc = np.empty(len(folds))
    alphas = np.empty(len(folds))
    for index, (train, test) in enumerate(folds):
        train_features, test_features = design(train, test)
        scores, predicted, alpha = _ridge_discriminant(train_features, test_features, labels[train])
        balanced_accuracy[index] = _balanced_accuracy(labels[test], predicted)
        roc_auc[index] = _roc_auc(labels[test, 0], scores[:, 0])
        alphas[index] = alpha[0]
    return {"balanced_accuracy": balanced_accuracy, "roc_auc": roc_auc, "alpha": alphas}


def _residualize_and_scale(features: np.ndarray, train: np.ndarray, test: np.ndarray,
                           confounds: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """OLS on ``[1, confounds]`` of the training rows, applied to both; then the training
    residuals' mean and SD (ddof = 0) standardize both."""
    design = np.ones((features.shape[0], 1))
    if confounds is not None:
        design = np.column_stack([design, confounds])
    coefficients = np.linalg.lstsq(design[train], features[train], rcond=None)[0]
    residuals = features - design @ coefficients
    mean = residuals[train].mean(axis=0)
    sd = residuals[train].std(axis=0)
    sd[sd < 1e-12] = 1.0
    return (residuals[train] - mean) / sd, (residuals[test] - mean) / sd


def _connectome_design(covariances: np.ndarray, kind: str, edges, confounds) -> DesignFunction:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}; got {kind!r}")
    n_edges = covariances.shape[1] * (covariances.shape[1] - 1) // 2
    keep = slice(None) if edges is None else _edge_index(edges, n_edges)
    fixed = None if kind == "tangent" else connectome_vectors(covariances, kind)[:, keep]

    def design(train, test):
        features = fixed
        if features is None:
            features = tangent_space(covariances, geometric_mean(covariances[train]))[:, keep]
        return _residualize_and_scale(features, train, test, confounds)

    return design


def _edge_index(edges, n_edges: int) -> np.ndarray:
    edges = np.asarray(edges, dtype=bool)
    if edges.shape != (n_edges,):
        raise ValueError(f"edges: expected a boolean mask of the {n_edges} vectorized edges; got shape {edges.shape}")
    if not edges.any():
        raise ValueError("edges: the mask keeps no edge")
    return np.flatnonzero(edges)


def _check_confounds(confounds, n: int) -> np.ndarray | None:
    if confounds is None:
        return None
    confounds = np.asarray(confounds, dtype=float)
    confounds = confounds[:, None] if confounds.ndim == 1 else confounds
    if confounds.shape[0] != n or not np.all(np.isfinite(confounds)):
        raise ValueError(f"confounds: expected a finite (participants x confounds) array with {n} rows; "
                         f"got shape {confounds.shape}")
    return confounds
