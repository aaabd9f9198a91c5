"""Statistics of the randomized DTI trial: interaction models, arm effect, sensitivity."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.stats.multitest import multipletests

__all__ = ["trial_table", "fit_interactions", "association_both_arms", "arm_effect", "sensitivity_analyses",
           "cell_tests", "cell_tests_arrays", "fcr_intervals", "SCALES"]

SCALES = ("madrs", "qids")
_COLUMNS = ["roi", "scale", "estimate", "ci_low", "ci_high", "t", "p", "n", "slope_ketamine", "slope_saline"]


def _as_frame(value, reader, schema_name: str) -> pd.DataFrame:
    """A table from a path (read and validated) or a DataFrame (validated in memory)."""
    from .. import io, schemas

    if isinstance(value, (str, Path)):
        return reader(value)
    io.validate_frame(value, schemas.SCHEMAS[schema_name], name=f"{schema_name} table")
    return value.copy()


def trial_table(participants, roi_md) -> pd.DataFrame:
    """One row per participant and ROI: arm, scores, ``md_pre, md_post, md_change`` and
    ``<scale>_change = post - pre`` for each scale.

    Raises
    ------
    analysis.io.DataValidationError
        For a table that breaks its contract (e.g. an arm other than ``ketamine``/``saline``,
        a duplicated ``participant_id``, MD that cannot be in mm²/s), naming row, column and value.
    ValueError
        Naming the participant and ROI when a session is missing, and the participants that
        have MD but no clinical row (or the reverse).
    """
    from .. import io

    participants = _as_frame(participants, io.read_participants, "participants")
    roi_md = _as_frame(roi_md, io.read_roi_md, "roi_md")
    wide = roi_md.pivot_table(index=["participant_id", "roi"], columns="session", values="md", aggfunc="first")
    for session in ("pre", "post"):
        if session not in wide.columns:
            raise ValueError(f"roi_md: no rows for session '{session}'; expected sessions 'pre' and 'post'")
    incomplete = wide[wide[["pre", "post"]].isna().any(axis=1)]
    if not incomplete.empty:
        first = incomplete.index[0]
        missing = "pre" if pd.isna(incomplete.iloc[0]["pre"]) else "post"
        raise ValueError(f"roi_md: {first[0]} has no '{missing}' session for ROI {first[1]} "
                         f"({len(incomplete)} participant-ROI pair(s) incomplete)")
    wide = wide.reset_index().rename(columns={"pre": "md_pre", "post": "md_post"})
    wide.columns.name = None
    without_scores = sorted(set(wide["participant_id"]) - set(participants["participant_id"]))
    if without_scores:
        raise ValueError(f"roi_md has participants missing from participants.tsv: {without_scores[:5]}")
    table = participants.merge(wide, on="participant_id", how="inner")
    without_md = sorted(set(participants["participant_id"]) - set(wide["participant_id"]))
    if without_md:
        raise ValueError(f"participants without MD for both sessions: {without_md[:5]}")
    table["md_change"] = table["md_post"] - table["md_pre"]
    for scale in SCALES:
        table[f"{scale}_change"] = table[f"{scale}_post"] - table[f"{scale}_pre"]
    table["arm"] = pd.Categorical(table["arm"], categories=["saline", "ketamine"])
    return table


def _interaction_model(data: pd.DataFrame, scale: str, *, covariates: str = "score_pre", cov_type: str = "nonrobust"):
    frame = data.assign(score_change=data[f"{scale}_change"], score_pre=data[f"{scale}_pre"],
                        md_change=data["md_change"] * 1e3,  # per 10^-3 mm²/s
                        md_baseline=data["md_pre"] * 1e3)
    rhs = "C(arm, Treatment('saline')) * md_change" + (f" + {covariates}" if covariates else "")
    return smf.ols(f"score_change ~ {rhs}", data=frame).fit(cov_type=cov_type)


_TERM = "C(arm, Treatment('saline'))[T.ketamine]:md_change"


def fit_interactions(participants, roi_md, *, covariates: str = "score_pre", cov_type: str = "nonrobust",
                     alpha: float = 0.05) -> pd.DataFrame:
    """Group x MD-change interaction for every ROI and scale.

    Model (OLS, statsmodels): ``score_change ~ arm * md_change + score_pre`` with arm
    reference ``saline``, ``score_change = post - pre`` and ``md_change = md_post - md_pre``
    expressed in 10⁻³ mm²/s.

    Parameters
    ----------
    participants, roi_md : DataFrame or path
        Tables in the contracts of :mod:`analysis.schemas` (``participants.tsv``, ``roi_md.tsv``).
    covariates : str
        Right-hand-side terms added to the model ("" for none; e.g. "score_pre + age + C(sex)").
    cov_type : str
        statsmodels covariance type ("nonrobust", or "HC3" for robust standard errors).

    Returns
    -------
    DataFrame
        One row per (roi, scale): ``roi, scale, estimate, ci_low, ci_high, t, p, n`` of the
        interaction term, and the within-arm slopes ``slope_ketamine, slope_saline`` (change in
        score per 10⁻³ mm²/s of MD change), plus ``p_fdr`` (Benjamini-Hochberg across all rows).
    """
    data = trial_table(participants, roi_md)
    rows = []
    for roi in data["roi"].drop_duplicates():
        subset = data[data["roi"] == roi]
        for scale in SCALES:
            fit = _interaction_model(subset, scale, covariates=covariates, cov_type=cov_type)
            low, high = fit.conf_int(alpha=alpha).loc[_TERM]
            rows.append({"roi": roi, "scale": scale, "estimate": float(fit.params[_TERM]), "ci_low": float(low),
                         "ci_high": float(high), "t": float(fit.tvalues[_TERM]), "p": float(fit.pvalues[_TERM]),
                         "n": int(fit.nobs),
                         "slope_ketamine": float(fit.params["md_change"] + fit.params[_TERM]),
                         "slope_saline": float(fit.params["md_change"])})
    result = pd.DataFrame(rows, columns=_COLUMNS)
    result["p_fdr"] = multipletests(result["p"], method="fdr_bh")[1]
    return result


def association_both_arms(participants, roi_md) -> pd.DataFrame:
    """Slope of score change on MD change pooled over arms (``score_change ~ arm + md_change +
    score_pre``): the test behind an association that holds in both arms."""
    data = trial_table(participants, roi_md)
    rows = []
    for roi in data["roi"].drop_duplicates():
        subset = data[data["roi"] == roi]
        for scale in SCALES:
            frame = subset.assign(score_change=subset[f"{scale}_change"], score_pre=subset[f"{scale}_pre"],
                                  md_change=subset["md_change"] * 1e3)
            fit = smf.ols("score_change ~ C(arm, Treatment('saline')) + md_change + score_pre", data=frame).fit()
            low, high = fit.conf_int().loc["md_change"]
            rows.append({"roi": roi, "scale": scale, "estimate": float(fit.params["md_change"]), "ci_low": float(low),
                         "ci_high": float(high), "t": float(fit.tvalues["md_change"]),
                         "p": float(fit.pvalues["md_change"]), "n": int(fit.nobs)})
    return pd.DataFrame(rows)


def arm_effect(participants) -> pd.DataFrame:
    """Ketamine vs saline effect on 24-h change (ANCOVA: ``change ~ arm + pre``), per scale.

    Returns
    -------
    DataFrame
        ``scale, estimate`` (ketamine minus saline, points), ``ci_low, ci_high, t, p, n,
        mean_change_ketamine, mean_change_saline``.
    """
    from .. import io

    data = _as_frame(participants, io.read_participants, "participants")
    rows = []
    for scale in SCALES:
        frame = data.assign(change=data[f"{scale}_post"] - data[f"{scale}_pre"], pre=data[f"{scale}_pre"])
        fit = smf.ols("change ~ C(arm, Treatment('saline')) + pre", data=frame).fit()
        term = "C(arm, Treatment('saline'))[T.ketamine]"
        low, high = fit.conf_int().loc[term]
        means = frame.groupby("arm")["change"].mean()
        rows.append({"scale": scale, "estimate": float(fit.params[term]), "ci_low": float(low), "ci_high": float(high),
                     "t": float(fit.tvalues[term]), "p": float(fit.pvalues[term]), "n": int(fit.nobs),
                     "mean_change_ketamine": float(means.get("ketamine", np.nan)),
                     "mean_change_saline": float(means.get("saline", np.nan))})
    return pd.DataFrame(rows)


def sensitivity_analyses(participants, roi_md) -> pd.DataFrame:
    """The interaction models under alternative specifications.

    Returns
    -------
    DataFrame
        :func:`fit_interactions` rows with an ``analysis`` column: ``primary``,
        ``no baseline covariate``, ``age and sex`` (baseline score + age + sex), ``baseline MD``
        (baseline score + the region's MD before the infusion), ``robust SE`` (HC3).
    """
    specs = {"primary": dict(), "no baseline covariate": dict(covariates=""),
             "age and sex": dict(covariates="score_pre + age + C(sex)"),
             "baseline MD": dict(covariates="score_pre + md_baseline"), "robust SE": dict(cov_type="HC3")}
    frames = []
    for name, options in specs.items():
        frame = fit_interactions(participants, roi_md, **options)
        frame.insert(0, "analysis", name)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _ols(design: np.ndarray, outcome: np.ndarray):
    """Coefficients, their covariance and the residual SD and df of an OLS fit."""
    coefficients, *_ = np.linalg.lstsq(design, outcome, rcond=None)
    residual = outcome - design @ coefficients
    dof = len(outcome) - design.shape[1]
    sigma2 = float(residual @ residual / dof)
    covariance = sigma2 * np.linalg.inv(design.T @ design)
    return coefficients, covariance, np.sqrt(sigma2), dof


def _row(estimate, se, dof, level):
    crit = stats.t.ppf(0.5 + level / 2, dof)
    return {"estimate": float(estimate), "se": float(se), "t": float(estimate / se),
            "p": float(2 * stats.t.sf(abs(estimate / se), dof)), "ci_low": float(estimate - crit * se),
            "ci_high": float(estimate + crit * se), "df": int(dof)}


def cell_tests_arrays(ketamine: np.ndarray, md_change: dict, score_change: dict, score_pre: dict,
                      *, level: float = 0.95) -> pd.DataFrame:
    """Every test of the trial on plain arrays (used by the chapter and by its simulation study).

    For each region and scale, two OLS models:

    - interaction: ``score_change ~ ketamine * md_change + score_pre``; the ``interaction`` row
      holds the ketamine x dMD term, with the within-arm slopes ``slope_ketamine`` and
      ``slope_saline`` and their standard errors;
    - association: ``score_change ~ ketamine + md_change + score_pre`` (one slope for both arms);
      the ``association`` row holds that slope.

    Parameters
    ----------
    ketamine : ndarray of 0/1
    md_change : dict roi -> ndarray
        24-h MD change per participant, in 10⁻³ mm²/s.
    score_change, score_pre : dict scale -> ndarray

    Returns
    -------
    DataFrame
        One row per (test, roi, scale): ``test, roi, scale, estimate, se, t, p, ci_low, ci_high,
        df, slope_ketamine, slope_ketamine_se, slope_saline, slope_saline_se, residual_sd,
        md_change_sd`` (the last two put slopes on a standardized scale: ``slope * md_change_sd /
        residual_sd``, score SDs per SD of MD change; ``md_change_sd`` is pooled within arms).
        Slope columns are NaN on association rows.

    Notes
    -----
    The interaction model is the one of :func:`fit_interactions` (tested equal to statsmodels).
    """
    ketamine = np.asarray(ketamine, dtype=float)
    ones = np.ones_like(ketamine)
    rows = []
    for roi, change in md_change.items():
        change = np.asarray(change, dtype=float)
        within = np.concatenate([change[ketamine == 1] - change[ketamine == 1].mean(),
                                 change[ketamine == 0] - change[ketamine == 0].mean()])
        md_sd = float(np.sqrt(within @ within / (len(change) - 2)))
        for scale, outcome in score_change.items():
            pre = np.asarray(score_pre[scale], dtype=float)
            outcome = np.asarray(outcome, dtype=float)
            design = np.column_stack([ones, ketamine, change, ketamine * change, pre])
            coefficients, covariance, residual_sd, dof = _ols(design, outcome)
            slope_k = coefficients[2] + coefficients[3]
            slope_k_se = np.sqrt(covariance[2, 2] + covariance[3, 3] + 2 * covariance[2, 3])
            rows.append({"test": "interaction", "roi": roi, "scale": scale,
                         **_row(coefficients[3], np.sqrt(covariance[3, 3]), dof, level),
                         "slope_ketamine": float(slope_k), "slope_ketamine_se": float(slope_k_se),
                         "slope_saline": float(coefficients[2]), "slope_saline_se": float(np.sqrt(covariance[2, 2])),
                         "residual_sd": residual_sd, "md_change_sd": md_sd})
            design = np.column_stack([ones, ketamine, change, pre])
            coefficients, covariance, residual_sd, dof = _ols(design, outcome)
            rows.append({"test": "association", "roi": roi, "scale": scale,
                         **_row(coefficients[2], np.sqrt(covariance[2, 2]), dof, level),
                         "slope_ketamine": np.nan, "slope_ketamine_se": np.nan, "slope_saline": np.nan,
                         "slope_saline_se": np.nan, "residual_sd": residual_sd, "md_change_sd": md_sd})
    result = pd.DataFrame(rows)
    result["p_fdr"] = multipletests(result["p"], method="fdr_bh")[1]
    return result


def cell_tests(participants, roi_md, *, level: float = 0.95) -> pd.DataFrame:
    """:func:`cell_tests_arrays` on the trial's tables (validated as in :func:`trial_table`)."""
    data = trial_table(participants, roi_md)
    first_roi = data[data["roi"] == data["roi"].iloc[0]]
    ketamine = (first_roi["arm"] == "ketamine").to_numpy(float)
    order = first_roi["participant_id"].to_numpy()
    md_change = {}
    for roi, group in data.groupby("roi", sort=False, observed=True):
        md_change[roi] = group.set_index("participant_id").loc[order, "md_change"].to_numpy(float) * 1e3
    score_change = {scale: first_roi[f"{scale}_change"].to_numpy(float) for scale in SCALES}
    score_pre = {scale: first_roi[f"{scale}_pre"].to_numpy(float) for scale in SCALES}
    return cell_tests_arrays(ketamine, md_change, score_change, score_pre, level=level)


def fcr_intervals(tests: pd.DataFrame, *, q: float = 0.05) -> pd.DataFrame:
    """False-coverage-rate adjusted CIs for the tests selected by Benjamini-Hochberg.

    With R of m tests selected at FDR level q, each selected test gets a CI at level
    ``1 - R q / m`` (Benjamini and Yekutieli 2005), so the expected share of selected intervals
    that miss their parameter is at most q. Rows not selected get NaN.

    Returns
    -------
    DataFrame
        ``tests`` with ``selected`` (p_fdr < q), ``fcr_ci_low, fcr_ci_high`` and ``fcr_level``.

    References
    ----------
    Benjamini Y, Yekutieli D (2005). False discovery rate-adjusted multiple confidence intervals
    for selected parameters. J Am Stat Assoc 100:71-81.
    """
    result = tests.copy()
    result["selected"] = result["p_fdr"] < q
    selected, total = int(result["selected"].sum()), len(result)
    level = 1 - selected * q / total if selected else np.nan
    result["fcr_level"] = level
    result["fcr_ci_low"], result["fcr_ci_high"] = np.nan, np.nan
    if selected:
        crit = stats.t.ppf(0.5 + level / 2, result.loc[result["selected"], "df"])
        estimate, se = result.loc[result["selected"], "estimate"], result.loc[result["selected"], "se"]
        result.loc[result["selected"], "fcr_ci_low"] = estimate - crit * se
        result.loc[result["selected"], "fcr_ci_high"] = estimate + crit * se
    return result
