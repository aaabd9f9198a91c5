"""Leakage-free cross-validated prediction of ketamine response from baseline connectomes."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["connectome_pipeline", "predict_response", "permutation_p_value", "cross_validated_probabilities", "summarize_predictions",
           "leaky_edge_selection_accuracy", "sample_size_accuracy", "check_labels"]


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


def connectome_pipeline(kind: str = "tangent", *, edges=None, C: float = 1.0, select_k: int | None = None):
    """scikit-learn Pipeline: connectivity (fit on the training folds only: the tangent
    reference is their geometric mean), optional a-priori edge subset, optional univariate
    edge selection (inside the folds), standard scaling and l2 logistic regression."""
    from nilearn.connectome import ConnectivityMeasure
    from sklearn.feature_selection import SelectKBest, f_classif
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    steps = [("connectivity", ConnectivityMeasure(kind=kind, vectorize=True, discard_diagonal=True,
                                                  standardize="zscore_sample"))]
    if edges is not None:
        index = np.flatnonzero(np.asarray(edges))
        steps.append(("edges", FunctionTransformer(lambda features, index=index: features[:, index])))
    if select_k is not None:
        steps.append(("select", SelectKBest(f_classif, k=select_k)))
    steps += [("scale", StandardScaler()), ("classify", LogisticRegression(C=C, max_iter=2000))]
    return Pipeline(steps)


def cross_validated_probabilities(estimator, X, y, *, n_splits: int = 5, n_repeats: int = 10,
                                  random_state: int = 0) -> np.ndarray:
    """Out-of-fold probabilities of class 1 for each repeat (repeats x participants)."""
    from sklearn.base import clone
    from sklearn.model_selection import RepeatedStratifiedKFold

    y = np.asarray(y)
    cv = RepeatedStratifiedKFold(n_splits=n_splits, n_repeats=n_repeats, random_state=random_state)
    probabilities = np.full((n_repeats, len(y)), np.nan)
    for split, (train, test) in enumerate(cv.split(np.zeros(len(y)), y)):
        model = clone(estimator).fit(_take(X, train), y[train])
        probabilities[split // n_splits, test] = model.predict_proba(_take(X, test))[:, 1]
    return probabilities


def _take(X, index):
    return [X[i] for i in index] if isinstance(X, list) else np.asarray(X)[index]


def _balanced_accuracy(y, predicted):
    return 0.5 * (np.mean(predicted[y == 1] == 1) + np.mean(predicted[y == 0] == 0))


def _auc(y, scores):
    ranks = stats.rankdata(scores)
    positives = y == 1
    n_pos, n_neg = positives.sum(), (~positives).sum()
    return (ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def summarize_predictions(probabilities: np.ndarray, y, *, n_bootstrap: int = 2000, random_state: int = 0,
                          level: float = 0.95) -> dict:
    """Balanced accuracy and ROC-AUC (means over CV repeats) with percentile bootstrap CIs
    over participants (each bootstrap sample re-computes the mean over repeats)."""
    y = np.asarray(y)
    predicted = (probabilities >= 0.5).astype(int)

    def metrics(index):
        yy = y[index]
        if yy.min() == yy.max():
            return np.nan, np.nan
        bacc = np.mean([_balanced_accuracy(yy, row[index]) for row in predicted])
        auc = np.mean([_auc(yy, row[index]) for row in probabilities])
        return bacc, auc

    estimate = metrics(np.arange(len(y)))
    rng = np.random.default_rng(random_state)
    draws = np.array([metrics(rng.integers(0, len(y), len(y))) for _ in range(n_bootstrap)])
    alpha = (1 - level) / 2
    low = np.nanquantile(draws, alpha, axis=0)
    high = np.nanquantile(draws, 1 - alpha, axis=0)
    return {"balanced_accuracy": float(estimate[0]), "balanced_accuracy_ci_low": float(low[0]),
            "balanced_accuracy_ci_high": float(high[0]), "roc_auc": float(estimate[1]),
            "roc_auc_ci_low": float(low[1]), "roc_auc_ci_high": float(high[1]), "n": int(len(y))}


def predict_response(timeseries, y, *, random_state: int = 0, n_permutations: int = 1000, kind: str = "tangent",
                     edges=None, n_splits: int = 5, n_repeats: int = 10, n_bootstrap: int = 2000) -> dict:
    """Cross-validated prediction of response (1) vs non-response (0) from ROI time series.

    Parameters
    ----------
    timeseries : list of ndarray
        One (time x region) array per participant (lengths may differ after scrubbing).
    y : array-like of {0, 1}
    random_state : int
        Seeds the folds, the bootstrap and the permutations: same inputs, same output.
    n_permutations : int
        Label permutations for the p-value (0 skips it). Each permutation re-runs one
        stratified 5-fold cross-validation of the whole pipeline.
    kind : {"tangent", "correlation", "partial correlation"}
    edges : boolean array, optional
        A-priori subset of the vectorized connectome (fixed before seeing labels).

    Returns
    -------
    dict
        ``balanced_accuracy, balanced_accuracy_ci_low, balanced_accuracy_ci_high, roc_auc,
        roc_auc_ci_low, roc_auc_ci_high, p_value, n`` plus ``n_permutations, n_splits,
        n_repeats, kind, permutation_scores_mean``.

    Notes
    -----
    Every data-dependent step (the tangent-space reference, scaling, the classifier) is fit
    on the training folds only (:func:`connectome_pipeline`). The permutation p-value is
    ``(1 + #{permuted score >= observed}) / (1 + n_permutations)`` on balanced accuracy,
    from :func:`permutation_p_value`.
    """
    y = check_labels(y, n_splits=n_splits)
    timeseries = [np.asarray(series, dtype=float) for series in timeseries]
    if len(timeseries) != len(y):
        raise ValueError(f"{len(timeseries)} time series but {len(y)} labels; expected one label per participant")
    pipeline = connectome_pipeline(kind, edges=edges)
    probabilities = cross_validated_probabilities(pipeline, timeseries, y, n_splits=n_splits, n_repeats=n_repeats,
                                                  random_state=random_state)
    result = summarize_predictions(probabilities, y, n_bootstrap=n_bootstrap, random_state=random_state)
    p_value, permutation_mean = float("nan"), float("nan")
    if n_permutations:
        p_value, permuted = permutation_p_value(timeseries, y, kind=kind, edges=edges, n_splits=n_splits,
                                                n_permutations=n_permutations, random_state=random_state)
        permutation_mean = float(np.mean(permuted))
    return result | {"p_value": float(p_value), "n_permutations": int(n_permutations), "n_splits": n_splits,
                     "n_repeats": n_repeats, "kind": kind, "permutation_scores_mean": permutation_mean}


def permutation_p_value(timeseries, y, *, kind: str = "tangent", edges=None, n_splits: int = 5,
                        n_permutations: int = 1000, random_state: int = 0) -> tuple[float, np.ndarray]:
    """Permutation test of the cross-validated balanced accuracy.

    The folds are plain shuffled K folds (they do not depend on the labels), so the
    connectivity step of each fold, which never sees labels, is fit once on that fold's
    training participants and reused; each permutation refits the scaler and the classifier
    on the permuted training labels. Nothing is fit on test participants.

    Returns
    -------
    (float, ndarray)
        p-value ``(1 + #{permuted >= observed}) / (1 + n_permutations)`` and the permuted scores.
    """
    from sklearn.base import clone
    from sklearn.model_selection import KFold

    y = np.asarray(y)
    full = connectome_pipeline(kind, edges=edges)
    connectivity, rest = full[:-2], full[-2:]
    folds = []
    for train, test in KFold(n_splits=n_splits, shuffle=True, random_state=random_state).split(np.zeros(len(y))):
        transform = clone(connectivity).fit(_take(timeseries, train))
        folds.append((train, test, transform.transform(_take(timeseries, train)),
                      transform.transform(_take(timeseries, test))))

    def score(labels):
        predicted = np.empty(len(labels), dtype=int)
        for train, test, train_features, test_features in folds:
            if labels[train].min() == labels[train].max():
                predicted[test] = labels[train][0]
                continue
            predicted[test] = clone(rest).fit(train_features, labels[train]).predict(test_features)
        return _balanced_accuracy(labels, predicted)

    observed = score(y)
    rng = np.random.default_rng(random_state)
    permuted = np.array([score(rng.permutation(y)) for _ in range(n_permutations)])
    return float((1 + np.sum(permuted >= observed)) / (1 + n_permutations)), permuted


def leaky_edge_selection_accuracy(timeseries, y, *, k: int = 20, n_splits: int = 5, n_repeats: int = 5,
                                  random_state: int = 0) -> dict:
    """The same classifier with the top-k edges chosen two ways: on *all* participants
    before cross-validation (leaky) and inside the training folds (correct).

    Returns
    -------
    dict
        ``leaky`` and ``correct``: balanced accuracy (mean over repeats) of each.
    """
    from nilearn.connectome import ConnectivityMeasure
    from sklearn.feature_selection import f_classif
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    y = check_labels(y, n_splits=n_splits)
    features = ConnectivityMeasure(kind="correlation", vectorize=True, discard_diagonal=True,
                                   standardize="zscore_sample").fit_transform(
        [np.asarray(series, dtype=float) for series in timeseries])
    scores, _ = f_classif(features, y)
    chosen = np.argsort(scores)[::-1][:k]  # chosen with every participant's label: the leak
    leaky = cross_validated_probabilities(make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
                                          features[:, chosen], y, n_splits=n_splits, n_repeats=n_repeats,
                                          random_state=random_state)
    correct = cross_validated_probabilities(connectome_pipeline("correlation", select_k=k), list(timeseries), y,
                                            n_splits=n_splits, n_repeats=n_repeats, random_state=random_state)
    return {"leaky": float(np.mean([_balanced_accuracy(y, (row >= 0.5).astype(int)) for row in leaky])),
            "correct": float(np.mean([_balanced_accuracy(y, (row >= 0.5).astype(int)) for row in correct])),
            "k": k}


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
