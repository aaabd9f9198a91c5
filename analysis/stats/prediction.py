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

import warnings
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
    series that are already z-scored, as the fMRI stage's masker writes them
    (``standardize="zscore_sample"``); on raw series it is a covariance, not this one.

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
    """Riemannian (affine-invariant) geometric mean of SPD matrices.

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
    3): start at the arithmetic mean, update ``G ← G^{1/2} exp(step · L̄) G^{1/2}`` with
    ``L̄ = mean_k log(G^{-1/2} C_k G^{-1/2})``, halve the step when ``‖L̄‖_F`` grows, stop
    when ``‖L̄‖_F / regions² < tol``. The eigendecompositions of all matrices are batched,
    and once ``‖L̄‖_F < 0.01`` the last iterations evaluate the logarithms by second-order
    perturbation of the last eigendecompositions (:class:`_PerturbedLogarithm`): the result
    agrees with nilearn's to about 1e-9, with half the eigendecompositions.

    References
    ----------
    Fletcher PT, Joshi S (2007). Riemannian geometry for the statistical analysis of diffusion
    tensor data. Signal Process 87:250-262.
    """
    return _geometric_mean_and_tangents(covariances, max_iter=max_iter, tol=tol)[0]


def _square_roots(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(values)) @ vectors.T, (vectors / np.sqrt(values)) @ vectors.T


def _mean_of_logs(values: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """``mean_k V_k diag(log λ_k) V_k'`` as one matrix product."""
    n_matrices, n_regions = values.shape
    scaled = (vectors * np.log(values)[:, None, :]).transpose(1, 0, 2).reshape(n_regions, -1)
    return scaled @ vectors.transpose(1, 0, 2).reshape(n_regions, -1).T / n_matrices


def _geometric_mean_and_tangents(covariances: np.ndarray, *, max_iter: int = 30, tol: float = 1e-7,
                                 perturbation_radius: float = 1e-2) -> tuple[np.ndarray, np.ndarray]:
    """:func:`geometric_mean` G and the vectorized ``log(G^{-1/2} C_k G^{-1/2})`` of the
    input matrices.

    nilearn's iteration, with one saving: once an exactly evaluated gradient is shorter than
    ``perturbation_radius``, the remaining iterates move G by about that much at most, and
    the logarithms at them (and at the final G) come from that evaluation's
    eigendecompositions by :class:`_PerturbedLogarithm`, with an error of the order of the
    cubed distance (about 1e-8 in the tangent vectors), instead of new eigendecompositions:
    typically two batches of eigendecompositions instead of four, plus none for the output.
    """
    covariances = np.asarray(covariances, dtype=float)
    mean = covariances.mean(axis=0)
    best_norm, step, perturbed = np.inf, 1.0, None
    for _ in range(max_iter):
        root, inverse_root = _square_roots(mean)
        if perturbed is not None:
            log_mean = perturbed.logarithms(inverse_root).mean(axis=0)
        else:
            values, vectors = np.linalg.eigh(inverse_root @ covariances @ inverse_root)
            log_mean = _mean_of_logs(values, vectors)
            if np.linalg.norm(log_mean) < perturbation_radius:
                perturbed = _PerturbedLogarithm(values, vectors, root)
        if np.any(np.isnan(log_mean)):
            raise FloatingPointError("NaN after the matrix logarithm: are all covariances positive definite?")
        norm = np.linalg.norm(log_mean)
        mean = root @ _symmetric_function(log_mean, lambda eigenvalues: np.exp(eigenvalues * step)) @ root
        if norm < best_norm:
            best_norm = norm
        elif norm > best_norm:
            step, norm = step / 2.0, best_norm
        if norm / mean.size < tol:
            perturbed = perturbed or _PerturbedLogarithm(values, vectors, root)
            return mean, _lower_triangle(perturbed.logarithms(_square_roots(mean)[1]))
    warnings.warn(f"geometric mean: no convergence to tol={tol} in {max_iter} iterations", stacklevel=3)
    return mean, tangent_space(covariances, mean)


class _PerturbedLogarithm:
    """``log(W C_k W)`` for whitenings W near ``W₀ = root⁻¹``, from the eigendecompositions
    ``W₀ C_k W₀ = V_k Λ_k V_k'``, to second order (Daleckii-Krein).

    With ``M = W root`` (close to the identity), ``W C_k W = M A_k M'``; in the eigenbasis
    ``Δ = N Λ N' - Λ`` with ``N = V'MV``, and
    ``log(Λ + Δ) ≈ log Λ + F ∘ Δ + S``, ``S_ij = Σ_k f[λ_i, λ_k, λ_j] Δ_ik Δ_kj``, with the
    first and second divided differences of log: ``F_ij = f[λ_i, λ_j]`` (``1/λ_i`` for equal
    eigenvalues) and, as ``f[λ_i, λ_k, λ_j] = (F_ik - F_kj)/(λ_i - λ_j)`` and Δ and F are
    symmetric, ``S = (P - P') / (λ_i - λ_j)`` with ``P = (F∘Δ)Δ``; on the diagonal (and for
    the rare equal eigenvalues) ``S_ij = Σ_k H_ik Δ_ik Δ_kj`` with ``H_ik = f[λ_i, λ_k, λ_i]``.
    The error is of the order of ``‖M - I‖³``.
    """

    def __init__(self, values: np.ndarray, vectors: np.ndarray, root: np.ndarray):
        self.values, self.vectors, self.root = values, vectors, root
        self.transposed_vectors = np.ascontiguousarray(np.swapaxes(vectors, 1, 2))
        self.logs = np.log(values)
        row, column = values[:, :, None], values[:, None, :]
        gaps = row - column
        close = np.abs(gaps) <= 1e-6 * row
        self.inverse_gaps = np.where(close, 0.0, 1.0 / np.where(close, 1.0, gaps))
        self.first = np.where(close, 2.0 / (row + column), (self.logs[:, :, None] - self.logs[:, None, :]) *
                              self.inverse_gaps)
        self.second_repeated = np.where(close, -0.5 / row**2, (1.0 / row - self.first) * self.inverse_gaps)
        self.close_pairs = np.nonzero(close & ~np.eye(values.shape[1], dtype=bool))

    def logarithms(self, whitening: np.ndarray) -> np.ndarray:
        diagonal = np.arange(self.values.shape[1])
        rotated = self.transposed_vectors @ (whitening @ self.root) @ self.vectors
        perturbation = (rotated * self.values[:, None, :]) @ np.ascontiguousarray(np.swapaxes(rotated, 1, 2))
        perturbation[:, diagonal, diagonal] -= self.values
        first_order = self.first * perturbation
        inner = first_order @ perturbation
        inner -= np.swapaxes(inner, 1, 2)
        inner *= self.inverse_gaps
        inner += first_order
        inner[:, diagonal, diagonal] += self.logs + np.sum(self.second_repeated * perturbation**2, axis=2)
        if self.close_pairs[0].size:
            inner[self.close_pairs] += ((self.second_repeated * perturbation) @ perturbation)[self.close_pairs]
        return self.vectors @ inner @ self.transposed_vectors


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
    return _lower_triangle(_symmetric_function(whitening @ covariances @ whitening, np.log))


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


def _loo_residuals(left: np.ndarray, squared_singular: np.ndarray, targets: np.ndarray, projected: np.ndarray,
                   alpha: float) -> np.ndarray:
    """Exact leave-one-out residuals of ridge regression with an unpenalized intercept.

    ``left`` and ``squared_singular`` are the eigenvectors and eigenvalues of ``XX'`` (X the
    centred training features: the left singular vectors and squared singular values);
    ``targets`` are centred, one column per target, and ``projected = U'targets``. Residual
    ``(y_i - ŷ_i) / (1 - h_ii)`` with ``ŷ = U diag(s²/(s²+α)) U'y`` and
    ``h_ii = 1/m + Σ_k U_ik² s_k²/(s_k²+α)``.
    """
    shrink = squared_singular / (squared_singular + alpha)
    leverage = 1.0 / left.shape[0] + (left**2) @ shrink
    fitted = left @ (shrink[:, None] * projected)
    return (targets - fitted) / (1.0 - leverage)[:, None]


def _ridge_discriminant(train_features: np.ndarray, test_features: np.ndarray,
                        train_labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fit one ridge discriminant per column of ``train_labels`` and classify the test rows.

    One eigendecomposition of the training Gram matrix ``XX' = U S² U'`` (the SVD of X
    without its right factor) serves every penalty and column. The fit is used in its dual
    form ``w = X'U diag(1/(s²+α)) U'y``, so scores are ``x'w`` without forming w. The
    threshold is the midpoint of the class means of the leave-one-out scores ``y - r_loo``
    at the chosen penalty: with many more edges than participants the in-sample scores
    nearly reproduce the codes ``+1/n₁, -1/n₀``, whose midpoint lies towards the minority
    class, and would send every test participant to the majority class.

    Returns
    -------
    (ndarray, ndarray, ndarray)
        Test scores (test x columns), predicted labels (booleans, test x columns) and the
        chosen penalty of each column relative to the largest squared singular value.
    """
    centre = train_features.mean(axis=0)
    centred = train_features - centre
    gram = centred @ centred.T
    eigenvalues, left = np.linalg.eigh(gram)
    squared_singular = np.clip(eigenvalues, 0.0, None)
    alphas = ALPHA_GRID * (squared_singular[-1] if squared_singular[-1] > 0 else 1.0)
    codes = _fisher_codes(train_labels)
    projected = left.T @ codes
    residuals = np.stack([_loo_residuals(left, squared_singular, codes, projected, alpha) for alpha in alphas])
    chosen = np.argmin(np.einsum("aij,aij->aj", residuals, residuals), axis=0)
    loo_scores = codes - np.take_along_axis(residuals, chosen[None, None, :], axis=0)[0]
    dual = left @ (projected / (squared_singular[:, None] + alphas[chosen][None, :]))
    test_scores = ((test_features - centre) @ centred.T) @ dual
    predicted = test_scores > _midpoint_of_class_means(loo_scores, train_labels)
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

def outer_folds(y, *, n_splits: int = 5, n_repeats: int = 10,
                random_state: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
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


def _residualize_and_scale(train_features: np.ndarray, test_features: np.ndarray, train_confounds: np.ndarray | None,
                           test_confounds: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """OLS on ``[1, confounds]`` of the training rows, applied to both sets; then the
    training residuals' mean and SD (ddof = 0) standardize both."""
    def with_intercept(confounds, n_rows):
        intercept = np.ones((n_rows, 1))
        return intercept if confounds is None else np.column_stack([intercept, confounds])

    train_regressors = with_intercept(train_confounds, len(train_features))
    coefficients = np.linalg.lstsq(train_regressors, train_features, rcond=None)[0]
    train_residuals = train_features - train_regressors @ coefficients
    test_residuals = test_features - with_intercept(test_confounds, len(test_features)) @ coefficients
    mean, sd = train_residuals.mean(axis=0), train_residuals.std(axis=0)
    sd[sd < 1e-12] = 1.0
    return (train_residuals - mean) / sd, (test_residuals - mean) / sd


def _rows(array: np.ndarray | None, index: np.ndarray) -> np.ndarray | None:
    return None if array is None else array[index]


def _connectome_design(covariances: np.ndarray, kind: str, edges, confounds) -> DesignFunction:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}; got {kind!r}")
    n_edges = covariances.shape[1] * (covariances.shape[1] - 1) // 2
    keep = slice(None) if edges is None else _edge_index(edges, n_edges)
    fixed = None if kind == "tangent" else connectome_vectors(covariances, kind)[:, keep]

    def design(train, test):
        if fixed is None:
            reference, train_features = _geometric_mean_and_tangents(covariances[train])
            train_features = train_features[:, keep]
            test_features = tangent_space(covariances[test], reference)[:, keep]
        else:
            train_features, test_features = fixed[train], fixed[test]
        return _residualize_and_scale(train_features, test_features, _rows(confounds, train), _rows(confounds, test))

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


# ----------------------------------------------------------------------------- inference

def _corrected_standard_error(fold_values: np.ndarray, n_train: float, n_test: float) -> float:
    return float(np.sqrt((1.0 / fold_values.size + n_test / n_train) * np.var(fold_values, ddof=1)))


def corrected_t_interval(fold_scores, *, n_train: float, n_test: float, level: float = 0.95) -> tuple[float, float]:
    """Corrected repeated k-fold t interval of a mean fold score, clipped to [0, 1].

    Parameters
    ----------
    fold_scores : array-like
        One score per outer fold (``J = n_repeats x n_splits`` of them).
    n_train, n_test : float
        Training and test fold sizes (means over folds).

    Returns
    -------
    (float, float)
        ``mean ± t_{J-1, (1+level)/2} √((1/J + n_test/n_train) s²)``; NaN for ``J < 2``.

    Notes
    -----
    Fold scores share training participants, so their plain variance of the mean ``s²/J``
    is far too small; the ``n_test/n_train`` term (Nadeau & Bengio 2003) accounts for the
    correlation between folds and for the variability of the training sets, and the
    repeated k-fold version uses ``J - 1`` degrees of freedom (Bouckaert & Frank 2004).

    References
    ----------
    Nadeau C, Bengio Y (2003). Inference for the generalization error. Mach Learn 52:239-281.
    Bouckaert RR, Frank E (2004). Evaluating the replicability of significance tests for
    comparing learning algorithms. PAKDD, LNCS 3056:3-12.
    """
    scores = np.asarray(fold_scores, dtype=float)
    if scores.size < 2:
        return float("nan"), float("nan")
    half_width = stats.t.ppf(0.5 + level / 2, scores.size - 1) * _corrected_standard_error(scores, n_train, n_test)
    mean = scores.mean()
    return float(np.clip(mean - half_width, 0, 1)), float(np.clip(mean + half_width, 0, 1))


def compare_models(fold_scores_a, fold_scores_b, *, n_train: float, n_test: float, level: float = 0.95) -> dict:
    """Paired comparison of two models' fold scores on the *same* folds.

    Returns
    -------
    dict
        ``difference`` (mean of a - b), ``ci_low, ci_high``, ``t`` and two-sided ``p`` of the
        corrected resampled t test, and ``n_folds``.

    Notes
    -----
    ``t = d̄ / √((1/J + n_test/n_train) s_d²)`` on ``J - 1`` degrees of freedom, where
    ``d_j`` are the per-fold differences (see :func:`corrected_t_interval` for references).
    """
    first, second = np.asarray(fold_scores_a, dtype=float), np.asarray(fold_scores_b, dtype=float)
    if first.shape != second.shape or first.ndim != 1 or first.size < 2:
        raise ValueError(f"expected two equally long lists of per-fold scores from the same folds; got shapes "
                         f"{first.shape} and {second.shape}")
    differences = first - second
    mean, degrees = float(differences.mean()), differences.size - 1
    error = _corrected_standard_error(differences, n_train, n_test)
    half_width = float(stats.t.ppf(0.5 + level / 2, degrees)) * error
    if error == 0:
        t_value, p_value = (0.0, 1.0) if mean == 0 else (float(np.copysign(np.inf, mean)), 0.0)
    else:
        t_value = mean / error
        p_value = float(2 * stats.t.sf(abs(t_value), degrees))
    return {"difference": mean, "ci_low": mean - half_width, "ci_high": mean + half_width, "t": float(t_value),
            "p": p_value, "n_folds": int(differences.size)}


def _evaluate(design: DesignFunction, y: np.ndarray, *, folds, n_permutations: int, random_state: int) -> dict:
    """Cross-validate with the true labels and all permutations; summarize."""
    labels = _label_matrix(y, n_permutations, random_state)
    scores = _fold_scores(design, labels, folds)
    statistic = scores["balanced_accuracy"].mean(axis=0)
    observed, permuted = statistic[0], statistic[1:]
    n_train = float(np.mean([len(train) for train, _ in folds]))
    n_test = float(np.mean([len(test) for _, test in folds]))
    fold_accuracy, fold_auc = scores["balanced_accuracy"][:, 0], scores["roc_auc"]
    accuracy_low, accuracy_high = corrected_t_interval(fold_accuracy, n_train=n_train, n_test=n_test)
    auc_low, auc_high = corrected_t_interval(fold_auc, n_train=n_train, n_test=n_test)
    p_value = (1 + np.sum(permuted >= observed - 1e-12)) / (1 + n_permutations) if n_permutations else np.nan
    return {"balanced_accuracy": float(observed), "balanced_accuracy_ci_low": accuracy_low,
            "balanced_accuracy_ci_high": accuracy_high, "roc_auc": float(fold_auc.mean()), "roc_auc_ci_low": auc_low,
            "roc_auc_ci_high": auc_high, "p_value": float(p_value), "n": int(len(y)),
            "n_permutations": int(n_permutations), "n_folds": len(folds), "n_train": n_train, "n_test": n_test,
            "fold_balanced_accuracy": fold_accuracy.tolist(), "fold_roc_auc": fold_auc.tolist(),
            "permutation_scores_mean": float(permuted.mean()) if n_permutations else float("nan"),
            "alphas_chosen": _penalty_summary(scores["alpha"])}


def _penalty_summary(alphas: np.ndarray) -> dict:
    """Chosen penalties (relative to the largest squared singular value) of the true-label
    fits, and the share at an end of :data:`ALPHA_GRID` (a grid too narrow if large)."""
    at_edge = (alphas == ALPHA_GRID[0]) | (alphas == ALPHA_GRID[-1])
    return {"median": float(np.median(alphas)), "min": float(alphas.min()), "max": float(alphas.max()),
            "share_at_grid_edge": float(np.mean(at_edge))}


def _resolve_folds(y: np.ndarray, folds, *, n_splits: int, n_repeats: int, random_state: int):
    if folds is None:
        return outer_folds(y, n_splits=n_splits, n_repeats=n_repeats, random_state=random_state)
    folds = [(np.asarray(train), np.asarray(test)) for train, test in folds]
    if len(folds) != n_splits * n_repeats:
        raise ValueError(f"folds: {len(folds)} given but n_splits x n_repeats = {n_splits * n_repeats}")
    if any(len(np.unique(y[test])) < 2 or len(np.unique(y[train])) < 2 for train, test in folds):
        raise ValueError("folds: every training and test fold needs both classes (use outer_folds)")
    return folds


def predict_response(timeseries, y, *, random_state: int = 0, n_permutations: int = 1000, kind: str = "tangent",
                     edges=None, n_splits: int = 5, n_repeats: int = 10, confounds=None, folds=None) -> dict:
    """Cross-validated prediction of response (1) vs non-response (0) from ROI time series.

    Parameters
    ----------
    timeseries : list of ndarray
        One (time x region) array per participant (lengths may differ after scrubbing).
    y : array-like of {0, 1}
    random_state : int
        Seeds the folds and the permutations: same inputs, same output (``==``).
    n_permutations : int
        Label permutations for the p-value (0 skips it and ``p_value`` is NaN).
    kind : {"tangent", "correlation", "partial correlation"}
    edges : boolean array, optional
        A-priori subset of the vectorized connectome (lower triangle without the diagonal,
        nilearn's order), fixed before seeing labels.
    n_splits, n_repeats : int
        Outer ``RepeatedStratifiedKFold`` on the true labels.
    confounds : array-like, optional
        (participants x confounds), e.g. mean framewise displacement, age, sex (0/1);
        regressed out of the edges inside each training fold.
    folds : list of (train, test), optional
        Precomputed outer folds (:func:`outer_folds`), to run several models on the same
        folds; ``n_splits x n_repeats`` of them.

    Returns
    -------
    dict
        ``balanced_accuracy, balanced_accuracy_ci_low, balanced_accuracy_ci_high, roc_auc,
        roc_auc_ci_low, roc_auc_ci_high, p_value, n, n_permutations, n_splits, n_repeats,
        n_folds, n_train, n_test, kind, fold_balanced_accuracy, fold_roc_auc,
        permutation_scores_mean, alphas_chosen`` (median, min, max and share at the grid
        edge of the chosen penalties, relative to the largest squared singular value).

    Notes
    -----
    *Features.* Per participant a Ledoit-Wolf covariance of the z-scored series
    (:func:`standardized_covariances`), computed once. For ``kind="tangent"`` each outer
    training fold's geometric mean ``G`` (:func:`geometric_mean`) is the reference and every
    participant's edges are ``log(G^{-1/2} C G^{-1/2})`` (:func:`tangent_space`); the other
    kinds are fold-free. Confounds are regressed out (OLS on the training participants,
    applied to train and test) and the edges standardized with training means and SDs.

    *Classifier.* A ridge discriminant on Fisher-coded targets ``+1/n₁`` (class 1) and
    ``-1/n₀`` (class 0): ``w = (X'X + αI)^{-1} X'y`` with X the centred training edges. As
    ``X'y = x̄₁ - x̄₀ = δ`` and ``X'X = S_W + (n₀n₁/n) δδ'`` (S_W the within-class
    scatter), Sherman-Morrison gives ``w ∝ (S_W + αI)^{-1} δ``: the direction of shrinkage
    (regularized) LDA (Friedman 1989; Hastie, Buja & Tibshirani 1995). The penalty is the
    one of ``ALPHA_GRID x s₁²`` with the smallest exact leave-one-out error (PRESS) of the
    ridge fit on the training fold: with ``X = U S V'``, ``ŷ = U diag(s²/(s²+α)) U'y`` and
    ``h_ii = 1/m + Σ_k U_ik² s_k²/(s_k²+α)``, the leave-one-out residual is
    ``(y_i - ŷ_i)/(1 - h_ii)`` (Allen 1974; Golub, Heath & Wahba 1979): nested tuning
    without a second loop. The threshold is the midpoint of the two classes' mean
    leave-one-out scores ``y_i - r_i`` (equal priors, as balanced accuracy weighs the
    classes equally; out-of-sample, because with far more edges than participants the
    in-sample scores nearly reproduce the unequal codes of unbalanced classes). It is written
    by hand because one SVD per fold then serves every penalty and every permutation (the
    permuted targets are columns of one matrix); scikit-learn's ``RidgeClassifierCV`` would
    refit each permutation separately.

    *Estimate and interval.* Balanced accuracy and ROC-AUC are means over the
    ``J = n_repeats x n_splits`` folds, with the corrected repeated k-fold t interval
    (:func:`corrected_t_interval`), which includes the variability of the training sets.

    *Permutation test.* The same folds for every permutation; the label-free steps
    (covariances, tangent reference, confound regression, scaling) are fitted once per fold
    and reused, and the classifier with its penalty is refitted for each permutation.
    ``p = (1 + #{permuted mean balanced accuracy ≥ observed}) / (1 + n_permutations)``
    (Phipson & Smyth 2010; Ojala & Garriga 2010). The folds are stratified on the true
    labels, not on the permuted ones; a permuted test fold may then lack a class, and its
    balanced accuracy is the recall of the class present (scikit-learn's convention).

    References
    ----------
    Allen DM (1974). The relationship between variable selection and data augmentation and a
    method for prediction. Technometrics 16:125-127.
    Dadi K, et al. (2019). Benchmarking functional connectome-based predictive models for
    resting-state fMRI. NeuroImage 192:115-134.
    Friedman JH (1989). Regularized discriminant analysis. J Am Stat Assoc 84:165-175.
    Golub GH, Heath M, Wahba G (1979). Generalized cross-validation as a method for choosing
    a good ridge parameter. Technometrics 21:215-223.
    Hastie T, Buja A, Tibshirani R (1995). Penalized discriminant analysis. Ann Stat
    23:73-102.
    Nadeau C, Bengio Y (2003). Inference for the generalization error. Mach Learn 52:239-281.
    Ojala M, Garriga GC (2010). Permutation tests for studying classifier performance. J Mach
    Learn Res 11:1833-1863.
    Phipson B, Smyth GK (2010). Permutation p-values should never be zero. Stat Appl Genet
    Mol Biol 9:39.
    Varoquaux G (2018). Cross-validation failure: small sample sizes lead to large error
    bars. NeuroImage 180:68-77.
    """
    y = check_labels(y, n_splits=n_splits)
    if len(timeseries) != len(y):
        raise ValueError(f"{len(timeseries)} time series but {len(y)} labels; expected one label per participant")
    return predict_from_covariances(standardized_covariances(timeseries), y, random_state=random_state,
                                    n_permutations=n_permutations, kind=kind, edges=edges, n_splits=n_splits,
                                    n_repeats=n_repeats, confounds=confounds, folds=folds)


def predict_from_covariances(covariances, y, *, random_state: int = 0, n_permutations: int = 1000,
                             kind: str = "tangent", edges=None, n_splits: int = 5, n_repeats: int = 10,
                             confounds=None, folds=None) -> dict:
    """:func:`predict_response` from precomputed covariances (participants x regions x
    regions, e.g. from :func:`standardized_covariances`); same parameters and keys."""
    y = check_labels(y, n_splits=n_splits)
    covariances = np.asarray(covariances, dtype=float)
    if covariances.ndim != 3 or len(covariances) != len(y):
        raise ValueError(f"expected {len(y)} covariance matrices (participants x regions x regions); "
                         f"got shape {covariances.shape}")
    design = _connectome_design(covariances, kind, edges, _check_confounds(confounds, len(y)))
    folds = _resolve_folds(y, folds, n_splits=n_splits, n_repeats=n_repeats, random_state=random_state)
    return _evaluate(design, y, folds=folds, n_permutations=n_permutations, random_state=random_state) | {
        "n_splits": n_splits, "n_repeats": n_repeats, "kind": kind}


def predict_from_features(features, y, *, random_state: int = 0, n_permutations: int = 1000, n_splits: int = 5,
                          n_repeats: int = 10, confounds=None, folds=None) -> dict:
    """The classifier, interval and permutation test of :func:`predict_response` on a plain
    (participants x features) array, e.g. baseline MADRS and age, with no connectivity step.
    The same ``random_state``, ``n_splits`` and ``n_repeats`` (or ``folds``) give the same
    folds, so the fold scores pair with the connectome model's (:func:`compare_models`).
    Returns the same keys, with ``kind="features"``."""
    y = check_labels(y, n_splits=n_splits)
    features = np.asarray(features, dtype=float)
    features = features[:, None] if features.ndim == 1 else features
    if features.ndim != 2 or len(features) != len(y) or not np.all(np.isfinite(features)):
        raise ValueError(f"expected a finite (participants x features) array with {len(y)} rows; "
                         f"got shape {features.shape}")
    confounds = _check_confounds(confounds, len(y))
    folds = _resolve_folds(y, folds, n_splits=n_splits, n_repeats=n_repeats, random_state=random_state)

    def design(train, test):
        return _residualize_and_scale(features[train], features[test], _rows(confounds, train), _rows(confounds, test))

    return _evaluate(design, y, folds=folds, n_permutations=n_permutations, random_state=random_state) | {
        "n_splits": n_splits, "n_repeats": n_repeats, "kind": "features"}


def train_and_predict(covariances, y, new_covariances, *, kind: str = "tangent", edges=None, confounds=None,
                      new_confounds=None) -> dict:
    """Fit the whole pipeline on all participants and classify new ones.

    The tangent reference, confound regression and scaling are fitted on ``covariances``
    (with ``confounds``) only; the penalty is tuned by the leave-one-out error as in every
    cross-validation fit.

    Returns
    -------
    dict
        ``scores`` and ``predicted`` (0/1) of the new participants, ``alpha_relative``.
    """
    y = check_labels(y, n_splits=1).astype(bool)
    covariances, new_covariances = np.asarray(covariances, dtype=float), np.asarray(new_covariances, dtype=float)
    if (confounds is None) != (new_confounds is None):
        raise ValueError("give confounds for both the training and the new participants, or for neither")
    everyone = np.concatenate([covariances, new_covariances])
    all_confounds = None if confounds is None else np.concatenate(
        [_check_confounds(confounds, len(covariances)), _check_confounds(new_confounds, len(new_covariances))])
    train, new = np.arange(len(covariances)), np.arange(len(covariances), len(everyone))
    train_features, new_features = _connectome_design(everyone, kind, edges, all_confounds)(train, new)
    scores, predicted, alpha = _ridge_discriminant(train_features, new_features, y[:, None])
    return {"scores": scores[:, 0], "predicted": predicted[:, 0].astype(int), "alpha_relative": float(alpha[0])}


# ----------------------------------------------------------------------------- demonstrations

def _sklearn_connectome_pipeline(kind: str = "correlation", *, select_k: int | None = None):
    """scikit-learn Pipeline for the leakage demonstration: connectivity, optional
    univariate edge selection (inside the folds), scaling, l2 logistic regression."""
    from nilearn.connectome import ConnectivityMeasure
    from sklearn.feature_selection import SelectKBest, f_classif
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    steps = [("connectivity", ConnectivityMeasure(kind=kind, vectorize=True, discard_diagonal=True,
                                                  standardize="zscore_sample"))]
    if select_k is not None:
        steps.append(("select", SelectKBest(f_classif, k=select_k)))
    steps += [("scale", StandardScaler()), ("classify", LogisticRegression(max_iter=2000))]
    return Pipeline(steps)


def _repeated_cv_balanced_accuracy(estimator, X, y, *, n_splits: int, n_repeats: int, random_state: int) -> float:
    """Mean over repeats of the out-of-fold balanced accuracy of a scikit-learn estimator."""
    from sklearn.base import clone

    predicted = np.empty((n_repeats, len(y)), dtype=bool)
    for split, (train, test) in enumerate(outer_folds(y, n_splits=n_splits, n_repeats=n_repeats,
                                                      random_state=random_state)):
        model = clone(estimator).fit([X[i] for i in train] if isinstance(X, list) else X[train], y[train])
        predicted[split // n_splits, test] = model.predict([X[i] for i in test] if isinstance(X, list) else X[test])
    return float(np.mean(_balanced_accuracy(np.tile(y.astype(bool), (n_repeats, 1)).T, predicted.T)))


def leaky_edge_selection_accuracy(timeseries, y, *, k: int = 20, n_splits: int = 5, n_repeats: int = 5,
                                  random_state: int = 0) -> dict:
    """The same classifier with the top-k edges chosen two ways: on *all* participants
    before cross-validation (leaky) and inside the training folds (correct).

    Returns
    -------
    dict
        ``leaky`` and ``correct``: balanced accuracy (mean over repeats) of each; ``k``.
    """
    from nilearn.connectome import ConnectivityMeasure
    from sklearn.feature_selection import f_classif
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    y = check_labels(y, n_splits=n_splits)
    series = [np.asarray(one, dtype=float) for one in timeseries]
    features = ConnectivityMeasure(kind="correlation", vectorize=True, discard_diagonal=True,
                                   standardize="zscore_sample").fit_transform(series)
    scores, _ = f_classif(features, y)
    chosen = np.argsort(scores)[::-1][:k]  # chosen with every participant's label: the leak
    settings = {"n_splits": n_splits, "n_repeats": n_repeats, "random_state": random_state}
    leaky = _repeated_cv_balanced_accuracy(make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
                                           features[:, chosen], y, **settings)
    correct = _repeated_cv_balanced_accuracy(_sklearn_connectome_pipeline("correlation", select_k=k), series, y,
                                             **settings)
    return {"leaky": leaky, "correct": correct, "k": k}


def sample_size_accuracy(true_high: float = 0.75, true_low: float = 0.65, *, alpha: float = 0.05,
                         power: float = 0.8) -> dict:
    """Participants needed to tell a true accuracy ``true_high`` from ``true_low``.

    One-sided binomial test of H0: accuracy = low against H1: accuracy = high (normal
    approximation): ``n = ((z_{1-α}√(p0 q0) + z_{power}√(p1 q1)) / (p1 - p0))²``; and the
    half-width of a 95% binomial CI at n = 100 (Varoquaux 2018's "±10%").
    """
    z_alpha, z_power = stats.norm.ppf(1 - alpha), stats.norm.ppf(power)
    p0, p1 = true_low, true_high
    n = ((z_alpha * np.sqrt(p0 * (1 - p0)) + z_power * np.sqrt(p1 * (1 - p1))) / (p1 - p0)) ** 2
    half_width_100 = stats.norm.ppf(0.975) * np.sqrt(p1 * (1 - p1) / 100)
    return {"n_required": float(np.ceil(n)), "half_width_at_100": float(half_width_100), "true_high": p1,
            "true_low": p0, "alpha": alpha, "power": power}
