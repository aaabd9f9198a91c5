"""Statistics of a two-period, two-treatment crossover trial (ketamine vs placebo).

All functions take a long table with one row per participant and rated session:
``participant_id, treatment (ketamine | placebo), day (2 | 10), period (1 | 2), sequence
(KP | PK), baseline, score`` (see :func:`analysis.claims.nimh_crossover.long_table`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["mixed_model", "satterthwaite_df", "response_counts", "exact_interval", "paired_exact_test", "paired_change_test",
           "carryover_test"]


def mixed_model(data: pd.DataFrame, *, formula: str = "score ~ treatment + period + baseline",
                level: float = 0.95) -> dict:
    """Linear mixed model with a random intercept per participant (REML, statsmodels MixedLM).

    The treatment term is coded ketamine = 1, placebo = 0, so ``estimate`` is ketamine minus
    placebo in score points (negative: ketamine lowers the score). ``period`` is 0/1.

    Returns
    -------
    dict
        ``estimate, se, ci_low, ci_high, p`` (Wald z, as statsmodels reports them),
        ``ci_low_t, ci_high_t, p_t, df, se_model`` (the same estimate with the model-based
        standard error ``sqrt(c' (X' V^-1 X)^-1 c)``, as lme4 reports it, against a t
        distribution with Satterthwaite's degrees of freedom: a small-sample sensitivity
        analysis; see :func:`satterthwaite_df`),
        ``n_participants, n_observations, group_variance, residual_variance``.

    Notes
    -----
    Model: ``score_ij = b0 + b1 ketamine_ij + b2 period_ij + b3 baseline_i + u_i + e_ij``,
    ``u_i ~ N(0, s_u^2)``, ``e_ij ~ N(0, s_e^2)``.
    """
    import statsmodels.formula.api as smf

    frame = data.assign(treatment=(data["treatment"] == "ketamine").astype(float),
                        period=(data["period"] == 2).astype(float))
    fit = smf.mixedlm(formula, frame, groups=frame["participant_id"]).fit(reml=True)
    estimate, se = float(fit.params["treatment"]), float(fit.bse["treatment"])
    z = stats.norm.ppf(0.5 + level / 2)
    n_obs, n_groups = int(fit.nobs), int(frame["participant_id"].nunique())
    group_variance, residual_variance = float(fit.cov_re.iloc[0, 0]), float(fit.scale)
    exog = np.asarray(fit.model.exog, dtype=float)
    contrast = np.asarray(fit.model.exog_names) == "treatment"
    small = satterthwaite_df(exog, np.asarray(fit.model.groups), contrast.astype(float),
                             group_variance=group_variance, residual_variance=residual_variance)
    dof, se_model = small["df"], small["se"]
    crit = stats.t.ppf(0.5 + level / 2, dof)
    return {"estimate": estimate, "se": se, "ci_low": estimate - z * se, "ci_high": estimate + z * se,
            "p": float(2 * stats.norm.sf(abs(estimate / se))), "df": float(dof), "se_model": se_model,
            "ci_low_t": estimate - crit * se_model, "ci_high_t": estimate + crit * se_model,
            "p_t": float(2 * stats.t.sf(abs(estimate / se_model), dof)),
            "n_participants": n_groups, "n_observations": n_obs,
            "group_variance": group_variance, "residual_variance": residual_variance}


def satterthwaite_df(exog: np.ndarray, groups: np.ndarray, contrast: np.ndarray, *,
                     group_variance: float, residual_variance: float) -> dict:
    """Satterthwaite degrees of freedom for one contrast of a random-intercept model's fixed effects.

    statsmodels' MixedLM reports Wald z tests only, and neither pingouin nor statsmodels has
    Satterthwaite or Kenward-Roger degrees of freedom, hence this short implementation of the
    method lmerTest uses (Kuznetsova et al. 2017, J Stat Softw 82(13)), written for the one
    random-effects structure the crossover needs.

    With ``V = s_u^2 Z Z' + s_e^2 I`` and ``C = (X' V^-1 X)^-1``, the contrast's variance is
    ``f = c' C c``. Its gradient in the variance parameters is
    ``g_k = c' C X' V^-1 V_k V^-1 X C c`` (``V_u = Z Z'``, ``V_e = I``), and the REML estimates'
    asymptotic covariance ``A`` is the inverse of the expected REML information
    ``I_kl = tr(P V_k P V_l) / 2``, ``P = V^-1 - V^-1 X C X' V^-1``. Then
    ``df = 2 f^2 / (g' A g)``.

    Parameters
    ----------
    exog : (n, p) array
        Fixed-effects design matrix.
    groups : (n,) array
        Participant label of each row.
    contrast : (p,) array
        The contrast ``c`` (for one coefficient: 1 at its column, 0 elsewhere).
    group_variance, residual_variance : float
        REML estimates of ``s_u^2`` and ``s_e^2``.

    Returns
    -------
    dict
        ``df``, ``se`` (the contrast's model-based standard error, ``sqrt(f)``) and
        ``gradient`` (``g``, for checking).

    Notes
    -----
    In a complete, balanced two-period crossover this gives ``n - 2`` (participants minus the
    two within-participant terms), the paired t test's degrees of freedom with a period term;
    the tests check that. When the group variance is estimated at zero, the information matrix
    is still regular and the df tends to the residual df of ordinary least squares.
    """
    exog = np.asarray(exog, dtype=float)
    contrast = np.asarray(contrast, dtype=float)
    labels = pd.factorize(np.asarray(groups))[0]
    membership = np.zeros((exog.shape[0], labels.max() + 1))
    membership[np.arange(exog.shape[0]), labels] = 1.0
    derivatives = [membership @ membership.T, np.eye(exog.shape[0])]
    covariance = group_variance * derivatives[0] + residual_variance * derivatives[1]
    inverse = np.linalg.inv(covariance)
    fixed_cov = np.linalg.inv(exog.T @ inverse @ exog)
    variance = float(contrast @ fixed_cov @ contrast)
    projection = inverse - inverse @ exog @ fixed_cov @ exog.T @ inverse
    weights = inverse @ exog @ fixed_cov @ contrast
    gradient = np.array([weights @ d @ weights for d in derivatives])
    information = np.array([[0.5 * np.trace(projection @ a @ projection @ b) for b in derivatives]
                            for a in derivatives])
    asymptotic = np.linalg.inv(information)
    dof = 2.0 * variance ** 2 / float(gradient @ asymptotic @ gradient)
    return {"df": dof, "se": float(np.sqrt(variance)), "gradient": gradient.tolist()}


def exact_interval(events: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson (exact binomial) interval for ``events / n``."""
    if n == 0:
        return float("nan"), float("nan")
    interval = stats.binomtest(int(events), int(n)).proportion_ci(confidence_level=level, method="exact")
    return float(interval.low), float(interval.high)


def response_counts(data: pd.DataFrame, *, response_fraction: float = 0.5, remission_cutoff: float = 10) -> pd.DataFrame:
    """Response (score <= ``response_fraction`` x baseline) and remission (score <=
    ``remission_cutoff``) per treatment and day, with exact 95% CIs.

    Returns
    -------
    DataFrame
        ``outcome, treatment, day, events, n, proportion, ci_low, ci_high``.
    """
    rows = []
    flags = {"response": data["score"] <= response_fraction * data["baseline"],
             "remission": data["score"] <= remission_cutoff}
    for outcome, flag in flags.items():
        for (treatment, day), group in data.assign(flag=flag).groupby(["treatment", "day"], sort=True):
            events, n = int(group["flag"].sum()), int(len(group))
            low, high = exact_interval(events, n)
            rows.append({"outcome": outcome, "treatment": treatment, "day": int(day), "events": events, "n": n,
                         "proportion": events / n if n else float("nan"), "ci_low": low, "ci_high": high})
    return pd.DataFrame(rows)


def paired_exact_test(data: pd.DataFrame, *, day: int, outcome: str = "response", response_fraction: float = 0.5,
                      remission_cutoff: float = 10) -> dict:
    """Exact McNemar test for participants rated after both infusions on ``day``: the discordant
    pairs (response after ketamine only vs after placebo only) against Binomial(b + c, 1/2).

    Returns
    -------
    dict
        ``n_pairs, both, ketamine_only, placebo_only, neither, p``.
    """
    subset = data[data["day"] == day].copy()
    if outcome == "response":
        subset["flag"] = subset["score"] <= response_fraction * subset["baseline"]
    else:
        subset["flag"] = subset["score"] <= remission_cutoff
    wide = subset.pivot_table(index="participant_id", columns="treatment", values="flag", aggfunc="first").dropna()
    ketamine, placebo = wide["ketamine"].astype(bool), wide["placebo"].astype(bool)
    ketamine_only, placebo_only = int((ketamine & ~placebo).sum()), int((~ketamine & placebo).sum())
    discordant = ketamine_only + placebo_only
    p = float(stats.binomtest(ketamine_only, discordant, 0.5).pvalue) if discordant else 1.0
    return {"n_pairs": int(len(wide)), "both": int((ketamine & placebo).sum()), "ketamine_only": ketamine_only,
            "placebo_only": placebo_only, "neither": int((~ketamine & ~placebo).sum()), "p": p}


def paired_change_test(data: pd.DataFrame, *, day: int) -> dict:
    """Paired t-test (pingouin) of change from baseline after ketamine vs after placebo, for
    participants rated after both infusions on ``day`` (a sensitivity analysis)."""
    import pingouin as pg

    subset = data[data["day"] == day].assign(change=lambda frame: frame["score"] - frame["baseline"])
    wide = subset.pivot_table(index="participant_id", columns="treatment", values="change").dropna()
    test = pg.ttest(wide["ketamine"], wide["placebo"], paired=True)
    low, high = test["CI95"].iloc[0] if "CI95" in test else test["CI95%"].iloc[0]
    p_column = "p_val" if "p_val" in test else "p-val"
    return {"n_pairs": int(len(wide)), "estimate": float((wide["ketamine"] - wide["placebo"]).mean()),
            "ci_low": float(low), "ci_high": float(high), "t": float(test["T"].iloc[0]),
            "p": float(test[p_column].iloc[0])}


def carryover_test(data: pd.DataFrame, *, day: int) -> dict:
    """Grizzle's test of carry-over (sequence) for the completers: the per-participant sum of
    the two post-infusion scores compared between sequences (Welch t, pingouin). A difference
    means the treatment effect depends on the order, as a carried-over effect would make it."""
    import pingouin as pg

    subset = data[data["day"] == day]
    totals = subset.groupby("participant_id").agg(total=("score", "sum"), count=("score", "size"),
                                                  sequence=("sequence", "first"))
    totals = totals[totals["count"] == 2]
    first = totals.loc[totals["sequence"] == "KP", "total"]
    second = totals.loc[totals["sequence"] == "PK", "total"]
    if len(first) < 2 or len(second) < 2:
        return {"n_ketamine_first": int(len(first)), "n_placebo_first": int(len(second)), "difference": float("nan"),
                "p": float("nan")}
    test = pg.ttest(first, second, correction=True)
    p_column = "p_val" if "p_val" in test else "p-val"
    return {"n_ketamine_first": int(len(first)), "n_placebo_first": int(len(second)),
            "difference": float(first.mean() - second.mean()), "t": float(test["T"].iloc[0]),
            "p": float(test[p_column].iloc[0])}
