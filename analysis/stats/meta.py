"""Random-effects meta-analysis with metafor's conventions.

Why not a library: statsmodels' ``combine_effects`` has no REML and does not clip a
negative DerSimonian-Laird tau² at 0 (which then under-states the random-effects SE),
and PythonMeta / pymare are unmaintained or lack the proportion transforms. The
formulas below follow R's metafor (``escalc``, ``rma.uni``, ``predict``,
``transf.ipft.hm``) and are tested against metafor's printed output
(``tests/stats/test_meta.py``).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "random_effects",
    "pool_proportions",
    "escalc_proportions",
    "back_transform",
    "leave_one_out",
    "subgroup_analysis",
    "egger_test",
    "meta_regression",
    "glmm_proportions",
]

_METHODS = ("REML", "DL", "EE")
_TRANSFORMS = ("logit", "freeman-tukey")
_TRANSFORM_ALIASES = {"logit": "logit", "plo": "logit", "freeman-tukey": "freeman-tukey",
                      "pft": "freeman-tukey", "ft": "freeman-tukey"}


def _as_1d(values, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=float).ravel()
    if array.size == 0:
        raise ValueError(f"{name}: at least one study is needed, got none")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name}: all values must be finite, got {array.tolist()}")
    return array


def _tau2_dl(yi: np.ndarray, vi: np.ndarray) -> float:
    weights = 1.0 / vi
    fixed = np.sum(weights * yi) / np.sum(weights)
    q = np.sum(weights * (yi - fixed) ** 2)
    c = np.sum(weights) - np.sum(weights**2) / np.sum(weights)
    if c <= 0:
        return 0.0
    return max(0.0, (q - (yi.size - 1)) / c)


def _tau2_reml(yi: np.ndarray, vi: np.ndarray, *, tol: float = 1e-12, max_iter: int = 500) -> float:
    """REML tau² by Fisher scoring with step halving (metafor's algorithm), clipped at 0."""
    if yi.size == 1:
        return 0.0
    tau2 = _tau2_dl(yi, vi)  # metafor starts from an initial estimate; the optimum is the same
    for _ in range(max_iter):
        weights = 1.0 / (vi + tau2)
        sum_w = np.sum(weights)
        mu = np.sum(weights * yi) / sum_w
        # P = W - W 1 1' W / sum(W); score and expected information of the restricted likelihood
        residual = yi - mu
        p_diag = weights - weights**2 / sum_w
        py = weights * residual  # P y (since P y = W (y - mu))
        score = 0.5 * (np.sum(py**2) - (np.sum(p_diag)))
        # tr(P P) = sum_i sum_j P_ij^2, P = W - w w' / sum_w
        p_matrix = np.diag(weights) - np.outer(weights, weights) / sum_w
        information = 0.5 * np.sum(p_matrix * p_matrix)
        step = score / information
        new_tau2 = tau2 + step
        while new_tau2 < 0:
            step /= 2.0
            new_tau2 = tau2 + step
            if abs(step) < tol:
                new_tau2 = 0.0
                break
        if abs(new_tau2 - tau2) < tol:
            tau2 = new_tau2
            break
        tau2 = new_tau2
    return max(0.0, float(tau2))


_TESTS = ("z", "t", "knha", "adhoc")


def random_effects(yi, vi, *, method: str = "REML", test: str = "z", level: float = 0.95,
                   cluster=None) -> dict:
    """Random-effects meta-analysis of effect sizes (metafor ``rma(yi, vi, method=...)``, or with
    ``cluster`` the three-level ``rma.mv(yi, vi, random = ~ 1 | cluster/estimate)``).

    Parameters
    ----------
    yi : array-like of float
        Observed effect sizes (one per study, or per arm when ``cluster`` is given).
    vi : array-like of float
        Their sampling variances (strictly positive).
    method : {"REML", "DL", "EE"}
        Estimator of the between-study variance tau² (restricted maximum likelihood or
        DerSimonian-Laird; both clipped at 0), or "EE" for the equal-effects
        (common-effect) model with tau² fixed at 0 (metafor ``method="EE"``). With
        ``cluster`` only "REML".
    test : {"z", "t", "knha", "adhoc"}
        "z": normal distribution. "t": the same standard error against a t distribution with
        k - 1 degrees of freedom (metafor ``test="t"``). "knha": the Hartung-Knapp(-Sidik-Jonkman)
        standard error with t on k - 1 df (metafor ``test="knha"``; it can be narrower than the
        "z" interval). "adhoc": the modified Hartung-Knapp whose variance factor is floored
        at 1, so it never narrows the interval (metafor ``test="adhoc"``). With ``cluster``,
        "z" or "t". The prediction interval uses the same distribution as the CI.
    level : float
        Confidence level for the CI and prediction interval.
    cluster : array-like, optional
        One label per estimate (e.g. the trial each arm belongs to). Estimates that share a
        label get a shared random effect: ``y_ij = mu + u_i + w_ij + e_ij`` with
        ``u_i ~ N(0, sigma2[0])`` between clusters and ``w_ij ~ N(0, sigma2[1])`` within.

    Returns
    -------
    dict
        ``estimate`` pooled effect; ``se`` its standard error; ``ci_low, ci_high``
        confidence interval; ``pi_low, pi_high`` prediction interval for the true
        effect of a new study (``estimate ± crit·sqrt(se² + tau²)``, metafor
        ``predict``); ``tau2`` between-study variance (with ``cluster``: the sum of the two
        components); ``i2`` I² in percent (metafor: ``100·tau²/(tau² + s²)`` with ``s²``
        the typical within-study variance ``(k-1)/tr(P)``, ``P = W - W 1 (1'W1)^-1 1'W``,
        ``W = diag(1/v)``; with ``cluster`` the total I² of the multilevel model, computed
        the same way); ``q`` Cochran's Q; ``q_p`` its p-value (chi² on k-1 df); ``k``
        number of estimates; ``z`` test statistic and ``p`` p-value of the pooled effect;
        ``df`` (t tests) ; ``method``; ``test``. With ``cluster`` also ``sigma2`` =
        [between clusters, within clusters] and ``n_clusters``.

    Notes
    -----
    Weights ``w_i = 1/(v_i + tau²)``; estimate ``Σ w_i y_i / Σ w_i``; ``se = (Σ w_i)^-1/2``.
    The three-level model is fitted by maximizing the restricted log-likelihood over the two
    variance components (bounded at 0), with ``V = diag(v) + sigma2[0] Z Z' + sigma2[1] I``.

    References
    ----------
    Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package.
    J Stat Softw 36(3). doi:10.18637/jss.v036.i03
    Konstantopoulos S (2011). Fixed effects and variance components estimation in three-level
    meta-analysis. Res Synth Methods 2(1):61-76. doi:10.1002/jrsm.35

    Examples
    --------
    >>> out = random_effects([0.1, 0.3, 0.5], [0.01, 0.02, 0.015], method="DL")
    >>> round(out["estimate"], 4), out["k"]
    (0.2922, 3)
    """
    yi, vi, method = _checked_inputs(yi, vi, method, test)
    if cluster is not None:
        return _random_effects_multilevel(yi, vi, cluster, method=method, test=test, level=level)
    k = int(yi.size)
    tau2 = {"REML": _tau2_reml, "DL": _tau2_dl, "EE": lambda *_: 0.0}[method](yi, vi)
    weights = 1.0 / (vi + tau2)
    estimate = float(np.sum(weights * yi) / np.sum(weights))
    se = float(np.sqrt(1.0 / np.sum(weights)))
    q, q_p = _cochran_q(yi, vi)
    if k > 1 and method == "EE":
        # metafor, equal-effects model: I² from Q (Higgins & Thompson 2002)
        i2 = float(max(0.0, 100.0 * (q - (k - 1)) / q)) if q > 0 else 0.0
    else:
        i2 = float(100.0 * tau2 / (tau2 + _typical_variance(vi))) if k > 1 else 0.0
    if test in ("knha", "adhoc", "t") and k < 2:
        raise ValueError(f"test={test!r} needs at least 2 studies")
    if test in ("knha", "adhoc"):  # Hartung-Knapp variance factor (floored at 1 for "adhoc")
        factor = np.sum(weights * (yi - estimate) ** 2) / (k - 1)
        se = float(np.sqrt((max(1.0, factor) if test == "adhoc" else factor) / np.sum(weights)))
    return _summary(estimate, se, float(tau2), k=k, t_test=test != "z", level=level,
                    i2=i2, q=q, q_p=q_p, method=method, test=test)


def _checked_inputs(yi, vi, method: str, test: str):
    yi = _as_1d(yi, "yi")
    vi = _as_1d(vi, "vi")
    if yi.size != vi.size:
        raise ValueError(f"yi and vi must have the same length, got {yi.size} and {vi.size}")
    if np.any(vi <= 0):
        raise ValueError(f"vi: sampling variances must be > 0, got {vi.tolist()}")
    method = method.upper()
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    if test not in _TESTS:
        raise ValueError(f"test must be one of {_TESTS}, got {test!r}")
    return yi, vi, method


def _cochran_q(yi: np.ndarray, vi: np.ndarray) -> tuple[float, float]:
    """Cochran's Q around the equal-effects estimate, and its chi² p-value on k - 1 df."""
    weights = 1.0 / vi
    fixed = np.sum(weights * yi) / np.sum(weights)
    q = float(np.sum(weights * (yi - fixed) ** 2))
    return q, float(stats.chi2.sf(q, yi.size - 1)) if yi.size > 1 else float("nan")


def _summary(estimate: float, se: float, tau2: float, *, k: int, t_test: bool, level: float, **extra) -> dict:
    """CI, prediction interval (metafor ``predict``: estimate ± crit·sqrt(se² + tau²)) and the test
    of the pooled effect, against a normal or (``t_test``) a t distribution on k - 1 df."""
    alpha = 1.0 - level
    dof = k - 1 if t_test else None
    distribution = stats.t(dof) if t_test else stats.norm()
    crit = float(distribution.ppf(1 - alpha / 2))
    statistic = estimate / se
    pi_half = crit * np.sqrt(se**2 + tau2)
    return {"estimate": estimate, "se": se, "ci_low": estimate - crit * se, "ci_high": estimate + crit * se,
            "pi_low": float(estimate - pi_half), "pi_high": float(estimate + pi_half), "tau2": tau2, "k": k,
            "z": float(statistic), "p": float(2 * distribution.sf(abs(statistic))), "df": dof, **extra}


def _typical_variance(vi: np.ndarray, exog: np.ndarray | None = None) -> float:
    """metafor's typical within-study variance ``(k - p) / tr(P)``, ``P = W - W X (X'WX)^-1 X'W``."""
    weights = 1.0 / vi
    exog = np.ones((vi.size, 1)) if exog is None else exog
    weighted = weights[:, None] * exog
    projection = np.diag(weights) - weighted @ np.linalg.solve(exog.T @ weighted, weighted.T)
    return float((vi.size - exog.shape[1]) / np.trace(projection))


def _reml_fit(yi: np.ndarray, vi: np.ndarray, exog: np.ndarray, components: list[np.ndarray]) -> dict:
    """Maximize the restricted log-likelihood of ``y ~ N(X b, diag(v) + sum_j s_j C_j)`` over the
    variance components ``s_j >= 0`` (L-BFGS-B with the analytic gradient, from several starts).

    Returns ``sigma2`` (array), ``beta``, ``cov_beta`` and ``loglik`` (restricted, up to a constant).
    """
    from scipy import optimize

    k = yi.size

    def pieces(sigma2):
        covariance = np.diag(vi) + sum(value * matrix for value, matrix in zip(sigma2, components))
        inverse = np.linalg.inv(covariance)
        information = exog.T @ inverse @ exog
        projection = inverse - inverse @ exog @ np.linalg.solve(information, exog.T @ inverse)
        return covariance, inverse, information, projection

    def objective(sigma2):
        covariance, _, information, projection = pieces(sigma2)
        value = 0.5 * (np.linalg.slogdet(covariance)[1] + np.linalg.slogdet(information)[1]
                       + float(yi @ projection @ yi))
        py = projection @ yi
        gradient = [0.5 * (np.trace(projection @ matrix) - py @ matrix @ py) for matrix in components]
        return value, np.asarray(gradient)

    scale = max(float(np.var(yi, ddof=1)) if k > 1 else 0.0, 1e-4)
    m = len(components)
    starts = [np.full(m, scale / m)] + [np.where(np.arange(m) == j, scale, 0.0) for j in range(m)]
    best = None
    for initial in starts:
        result = optimize.minimize(objective, initial, jac=True, method="L-BFGS-B", bounds=[(0.0, None)] * m,
                                   options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 2000})
        if best is None or result.fun < best.fun:
            best = result
    sigma2 = np.clip(best.x, 0.0, None)
    sigma2 = np.where(sigma2 < 1e-10, 0.0, sigma2)
    _, inverse, information, _ = pieces(sigma2)
    cov_beta = np.linalg.inv(information)
    beta = cov_beta @ exog.T @ inverse @ yi
    return {"sigma2": sigma2, "beta": beta, "cov_beta": cov_beta, "loglik": -float(best.fun)}


def _cluster_matrix(cluster, k: int) -> tuple[np.ndarray, int]:
    labels = np.asarray(cluster)
    if labels.size != k:
        raise ValueError(f"cluster must have one label per estimate ({k}), got {labels.size}")
    codes = pd.factorize(labels)[0]
    membership = np.zeros((k, int(codes.max()) + 1))
    membership[np.arange(k), codes] = 1.0
    return membership @ membership.T, membership.shape[1]


def _random_effects_multilevel(yi: np.ndarray, vi: np.ndarray, cluster, *, method: str, test: str,
                               level: float) -> dict:
    """Three-level model (estimates nested in clusters), REML; see :func:`random_effects`."""
    if method != "REML":
        raise ValueError(f"with cluster only method='REML' is available, got {method!r}")
    if test not in ("z", "t"):
        raise ValueError(f"with cluster, test must be 'z' or 't', got {test!r}")
    k = int(yi.size)
    shared, n_clusters = _cluster_matrix(cluster, k)
    fit = _reml_fit(yi, vi, np.ones((k, 1)), [shared, np.eye(k)])
    sigma2 = fit["sigma2"]
    estimate, se = float(fit["beta"][0]), float(np.sqrt(fit["cov_beta"][0, 0]))

    q, q_p = _cochran_q(yi, vi)
    tau2 = float(sigma2.sum())
    i2 = float(100.0 * tau2 / (tau2 + _typical_variance(vi))) if k > 1 else 0.0
    return _summary(estimate, se, tau2, k=k, t_test=test == "t", level=level, sigma2=[float(sigma2[0]), float(sigma2[1])],
                    i2=i2, q=q, q_p=q_p, n_clusters=n_clusters, method=method, test=test)


def meta_regression(yi, vi, exog, *, names: Sequence[str] | None = None, cluster=None,
                    level: float = 0.95) -> pd.DataFrame:
    """Mixed-effects meta-regression (metafor ``rma(yi, vi, mods = ~ ...)``, REML, z tests; with
    ``cluster`` the three-level ``rma.mv(yi, vi, mods = ~ ..., random = ~ 1 | cluster/estimate)``).

    Parameters
    ----------
    yi, vi : array-like of float
        Effect sizes and sampling variances.
    exog : (k, p) array-like
        Design matrix, including the intercept column.
    names : sequence of str, optional
        Coefficient names (default ``x0, x1, ...``).
    cluster : array-like, optional
        One label per estimate (see :func:`random_effects`).

    Returns
    -------
    DataFrame
        One row per coefficient: ``term, estimate, se, z, p, ci_low, ci_high``; the residual
        variance components are in ``frame.attrs["sigma2"]`` (``tau2`` without ``cluster``).

    Raises
    ------
    ValueError
        If the design is rank-deficient (a moderator is completely confounded with others), naming
        the terms.
    """
    yi = _as_1d(yi, "yi")
    vi = _as_1d(vi, "vi")
    exog = np.asarray(exog, dtype=float)
    if exog.ndim != 2 or exog.shape[0] != yi.size:
        raise ValueError(f"exog must be a ({yi.size}, p) matrix, got shape {exog.shape}")
    names = list(names) if names is not None else [f"x{j}" for j in range(exog.shape[1])]
    if np.linalg.matrix_rank(exog) < exog.shape[1]:
        raise ValueError(f"the moderators {names} are confounded in these data (design of rank "
                         f"{np.linalg.matrix_rank(exog)} < {exog.shape[1]}); drop one")
    if exog.shape[1] >= yi.size:
        raise ValueError(f"{yi.size} estimates cannot support {exog.shape[1]} coefficients plus heterogeneity")
    k = yi.size
    components = [np.eye(k)]
    if cluster is not None:
        shared, _ = _cluster_matrix(cluster, k)
        components = [shared, np.eye(k)]
    fit = _reml_fit(yi, vi, exog, components)
    se = np.sqrt(np.diag(fit["cov_beta"]))
    crit = stats.norm.ppf(0.5 + level / 2)
    frame = pd.DataFrame({"term": names, "estimate": fit["beta"], "se": se, "z": fit["beta"] / se,
                          "p": 2 * stats.norm.sf(np.abs(fit["beta"] / se)),
                          "ci_low": fit["beta"] - crit * se, "ci_high": fit["beta"] + crit * se})
    frame.attrs["sigma2"] = [float(value) for value in fit["sigma2"]]
    return frame


def glmm_proportions(events, totals, *, level: float = 0.95, n_nodes: int = 100) -> dict:
    """Binomial-normal random-effects model of proportions (metafor ``rma.glmm(measure="PLO")``'s
    model): ``x_i ~ Binomial(n_i, expit(mu + u_i))``, ``u_i ~ N(0, tau2)``, fitted by maximum
    likelihood with Gauss-Hermite quadrature (``n_nodes`` points) over ``u_i``.

    Neither statsmodels (only a Bayesian binomial GLMM) nor pingouin fits this model by maximum
    likelihood, hence this implementation. It needs no continuity correction for 0% or 100%.

    Returns
    -------
    dict
        ``proportion, ci_low, ci_high`` (Wald on the logit scale, from the observed information),
        ``estimate, se, tau2, k, loglik``.
    """
    from scipy import optimize
    from scipy.special import expit, gammaln

    events = np.asarray(events, dtype=float).ravel()
    totals = np.asarray(totals, dtype=float).ravel()
    escalc_proportions(events, totals)  # validates the counts
    nodes, weights = np.polynomial.hermite.hermgauss(n_nodes)
    log_choose = gammaln(totals + 1) - gammaln(events + 1) - gammaln(totals - events + 1)

    def negative_loglik(params):
        mu, log_tau = params
        u = np.sqrt(2.0) * np.exp(log_tau) * nodes  # u = sqrt(2) tau t for int f(u) phi(u) du
        p = np.clip(expit(mu + u[None, :]), 1e-300, 1 - 1e-16)
        log_f = (log_choose[:, None] + events[:, None] * np.log(p) + (totals - events)[:, None] * np.log1p(-p))
        integrand = np.log(weights / np.sqrt(np.pi))[None, :] + log_f
        top = integrand.max(axis=1, keepdims=True)
        return -float(np.sum(top[:, 0] + np.log(np.exp(integrand - top).sum(axis=1))))

    pooled = np.log((events.sum() + 0.5) / (totals.sum() - events.sum() + 0.5))
    best = None
    for log_tau in (np.log(0.5), np.log(0.1), np.log(1.5)):
        result = optimize.minimize(negative_loglik, [pooled, log_tau], method="Nelder-Mead",
                                   options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000})
        if best is None or result.fun < best.fun:
            best = result
    mu, log_tau = best.x
    # observed information for mu with tau profiled at its estimate (central differences)
    h = 1e-4
    second = (negative_loglik([mu + h, log_tau]) - 2 * best.fun + negative_loglik([mu - h, log_tau])) / h**2
    se = float(1.0 / np.sqrt(second)) if second > 0 else float("nan")
    crit = stats.norm.ppf(0.5 + level / 2)
    return {"proportion": float(expit(mu)), "ci_low": float(expit(mu - crit * se)),
            "ci_high": float(expit(mu + crit * se)), "estimate": float(mu), "se": se,
            "tau2": float(np.exp(2 * log_tau)), "k": int(events.size), "loglik": -float(best.fun)}


def _transform_name(transform: str) -> str:
    try:
        return _TRANSFORM_ALIASES[transform.lower()]
    except KeyError:
        raise ValueError(f"transform must be one of {_TRANSFORMS}, got {transform!r}") from None


def escalc_proportions(events, totals, *, transform: str = "logit") -> tuple[np.ndarray, np.ndarray]:
    """Per-study transformed proportions and sampling variances (metafor ``escalc``).

    ``transform="logit"`` is measure "PLO": ``yi = log(x/(n-x))``, ``vi = 1/x + 1/(n-x)``,
    with 0.5 added to both cells of a study with 0% or 100% only (``add=1/2, to="only0"``).
    ``transform="freeman-tukey"`` is "PFT": ``yi = ½[asin√(x/(n+1)) + asin√((x+1)/(n+1))]``,
    ``vi = 1/(4n+2)``; no correction is needed.

    Examples
    --------
    >>> yi, vi = escalc_proportions([8], [18])
    >>> round(float(yi[0]), 4), round(float(vi[0]), 4)
    (-0.2231, 0.225)
    """
    transform = _transform_name(transform)
    events = np.asarray(events, dtype=float).ravel()
    totals = np.asarray(totals, dtype=float).ravel()
    if events.size != totals.size:
        raise ValueError(f"events and totals must have the same length, got {events.size} and {totals.size}")
    if events.size == 0:
        raise ValueError("at least one study is needed, got none")
    if np.any(totals <= 0) or np.any(events < 0) or np.any(events > totals):
        bad = [(int(e), int(n)) for e, n in zip(events, totals) if n <= 0 or e < 0 or e > n]
        raise ValueError(f"each study needs 0 <= events <= totals and totals > 0; offending (events, totals): {bad}")
    if transform == "logit":
        non_events = totals - events
        zero_cell = (events == 0) | (non_events == 0)
        x = np.where(zero_cell, events + 0.5, events)
        m = np.where(zero_cell, non_events + 0.5, non_events)
        return np.log(x / m), 1.0 / x + 1.0 / m
    yi = 0.5 * (np.arcsin(np.sqrt(events / (totals + 1))) + np.arcsin(np.sqrt((events + 1) / (totals + 1))))
    return yi, 1.0 / (4 * totals + 2)


def _pft(proportion: float, n: float) -> float:
    x = proportion * n
    return 0.5 * (np.arcsin(np.sqrt(x / (n + 1))) + np.arcsin(np.sqrt((x + 1) / (n + 1))))


def back_transform(values, *, transform: str = "logit", totals=None) -> np.ndarray:
    """Back-transform to the proportion scale (metafor ``transf.ilogit`` / ``transf.ipft.hm``).

    For Freeman-Tukey the harmonic mean of ``totals`` is used (Miller 1978), and values
    beyond the transform's range at that n are clipped to 0 or 1, as metafor does.
    """
    transform = _transform_name(transform)
    values = np.asarray(values, dtype=float)
    if transform == "logit":
        return 1.0 / (1.0 + np.exp(-values))
    if totals is None:
        raise ValueError("the Freeman-Tukey back-transform needs the study totals (harmonic mean)")
    n_hm = 1.0 / np.mean(1.0 / np.asarray(totals, dtype=float))
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.sin(2 * values)
        out = 0.5 * (1 - np.sign(np.cos(2 * values)) * np.sqrt(1 - (s + (s - 1 / s) / n_hm) ** 2))
    out = np.where(values > _pft(1.0, n_hm), 1.0, out)
    out = np.where(values < _pft(0.0, n_hm), 0.0, out)
    return out


def pool_proportions(events, totals, *, method: str = "REML", transform: str = "logit",
                     test: str = "z", level: float = 0.95, cluster=None) -> dict:
    """Pool single-arm proportions with a random-effects model.

    Parameters
    ----------
    events, totals : array-like of int
        Events (responders, remitters) and the number analysed, per study.
    method : {"REML", "DL", "EE"}
    transform : {"logit", "freeman-tukey"}
        metafor measures "PLO" and "PFT" (see :func:`escalc_proportions`).
    test : {"z", "t", "knha", "adhoc"}
        See :func:`random_effects`.
    level : float
    cluster : array-like, optional
        One label per row (e.g. the trial of each arm): arms nested in trials, see
        :func:`random_effects`.

    Returns
    -------
    dict
        Proportion scale: ``proportion, ci_low, ci_high, pi_low, pi_high``.
        Transformed scale: ``estimate, se, tau2, i2, q, q_p, k`` (and the transformed
        ``estimate_ci_low, estimate_ci_high, estimate_pi_low, estimate_pi_high``),
        plus ``method, transform, test`` and, with ``cluster``, ``sigma2, n_clusters``.

    Examples
    --------
    >>> out = pool_proportions([8, 15, 22], [18, 42, 34])
    >>> out["k"], 0 < out["proportion"] < 1
    (3, True)
    """
    name = _transform_name(transform)
    yi, vi = escalc_proportions(events, totals, transform=name)
    fit = random_effects(yi, vi, method=method, test=test, level=level, cluster=cluster)
    totals_array = np.asarray(totals, dtype=float)
    back = lambda value: float(back_transform(value, transform=name, totals=totals_array))  # noqa: E731
    return {
        "proportion": back(fit["estimate"]),
        "ci_low": back(fit["ci_low"]),
        "ci_high": back(fit["ci_high"]),
        "pi_low": back(fit["pi_low"]),
        "pi_high": back(fit["pi_high"]),
        "estimate": fit["estimate"],
        "se": fit["se"],
        "estimate_ci_low": fit["ci_low"],
        "estimate_ci_high": fit["ci_high"],
        "estimate_pi_low": fit["pi_low"],
        "estimate_pi_high": fit["pi_high"],
        "tau2": fit["tau2"],
        "i2": fit["i2"],
        "q": fit["q"],
        "q_p": fit["q_p"],
        "k": fit["k"],
        "method": fit["method"],
        "transform": name,
        "test": test,
        **({"sigma2": fit["sigma2"], "n_clusters": fit["n_clusters"]} if cluster is not None else {}),
    }


def leave_one_out(events, totals, labels: Sequence[str], **kwargs) -> pd.DataFrame:
    """Re-pool the proportions leaving out one study at a time.

    Returns
    -------
    DataFrame
        One row per omitted study: ``omitted, proportion, ci_low, ci_high, tau2, i2, k``.
    """
    events = np.asarray(events)
    totals = np.asarray(totals)
    labels = list(labels)
    if len(labels) != events.size:
        raise ValueError("labels must have one entry per study")
    rows = []
    for index, label in enumerate(labels):
        keep = np.arange(events.size) != index
        fit = pool_proportions(events[keep], totals[keep], **kwargs)
        rows.append({"omitted": label, **{key: fit[key] for key in
                                          ("proportion", "ci_low", "ci_high", "tau2", "i2", "k")}})
    return pd.DataFrame(rows)


def subgroup_analysis(table: pd.DataFrame, by: str, *, events: str = "events", totals: str = "n",
                      min_k: int = 2, **kwargs) -> tuple[pd.DataFrame, dict]:
    """Pool proportions within subgroups and test whether subgroups differ.

    Each subgroup gets its own random-effects model (separate tau²). The test of
    subgroup differences is Cochran's Q between subgroup estimates on the transformed
    scale, ``Q_between = Σ_g (θ_g - θ̄)²/se_g²`` on G-1 df (Borenstein et al. 2009, ch. 19;
    RevMan's test for subgroup differences). Subgroups with fewer than ``min_k`` studies
    are listed but not tested.

    Returns
    -------
    (DataFrame, dict)
        Per subgroup: ``subgroup, k, n_total, proportion, ci_low, ci_high, pi_low, pi_high,
        estimate, se, tau2, i2``; and ``{"q_between", "df", "p"}``.
    """
    rows = []
    for level_name, group in table.groupby(by, sort=True):
        fit = pool_proportions(group[events].to_numpy(), group[totals].to_numpy(), **kwargs)
        rows.append({"subgroup": level_name, "k": fit["k"], "n_total": int(group[totals].sum()),
                     **{key: fit[key] for key in ("proportion", "ci_low", "ci_high", "pi_low",
                                                  "pi_high", "estimate", "se", "tau2", "i2")}})
    per_group = pd.DataFrame(rows)
    testable = per_group[per_group["k"] >= min_k]
    if len(testable) < 2:
        return per_group, {"q_between": float("nan"), "df": 0, "p": float("nan")}
    weights = 1.0 / testable["se"].to_numpy() ** 2
    theta = testable["estimate"].to_numpy()
    mean = np.sum(weights * theta) / np.sum(weights)
    q_between = float(np.sum(weights * (theta - mean) ** 2))
    df = int(len(testable) - 1)
    return per_group, {"q_between": q_between, "df": df, "p": float(stats.chi2.sf(q_between, df))}


def egger_test(yi, vi) -> dict:
    """Egger's regression test for funnel-plot asymmetry (metafor ``regtest(model="lm")``).

    Regresses the standardized effect ``y/√v`` on precision ``1/√v`` by OLS
    (statsmodels); the intercept measures asymmetry.

    Returns
    -------
    dict
        ``intercept, intercept_se, t, p, df, k``.
    """
    import statsmodels.api as sm

    yi = _as_1d(yi, "yi")
    vi = _as_1d(vi, "vi")
    if yi.size < 3:
        raise ValueError(f"Egger's test needs at least 3 studies, got {yi.size}")
    sei = np.sqrt(vi)
    design = sm.add_constant(1.0 / sei)
    fit = sm.OLS(yi / sei, design).fit()
    return {"intercept": float(fit.params[0]), "intercept_se": float(fit.bse[0]),
            "t": float(fit.tvalues[0]), "p": float(fit.pvalues[0]), "df": int(fit.df_resid),
            "k": int(yi.size)}
