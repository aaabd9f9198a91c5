"""Statistics of the randomized DTI trial: interaction models, arm effect, sensitivity."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from statsmodels.stats.multitest import multipletests

__all__ = ["trial_table", "fit_interactions", "association_both_arms", "arm_effect", "sensitivity_analyses", "SCALES"]

SCALES = ("madrs", "qids")
_COLUMNS = ["roi", "scale", "estimate", "ci_low", "ci_high", "t", "p", "n", "slope_ketamine", "slope_saline"]


def _as_frame(value, reader) -> pd.DataFrame:
    if isinstance(value, (str, Path)):
        return reader(value)
    return value.copy()


def trial_table(participants, roi_md) -> pd.DataFrame:
    """One row per participant and ROI: arm, scores, ``md_pre, md_post, md_change`` and
    ``<scale>_change = post - pre`` for each scale.

    Raises
    ------
    ValueError
        Naming the participant and ROI when a session is missing, and the participants that
        have MD but no clinical row (or the reverse).
    """
    from .. import io

    participants = _as_frame(participants, io.read_participants)
    roi_md = _as_frame(roi_md, io.read_roi_md)
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
                        md_change=data["md_change"] * 1e3)  # per 10^-3 mm²/s
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

    data = _as_frame(participants, io.read_participants)
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
        ``no baseline covariate``, ``age and sex`` (baseline score + age + sex), ``robust SE``
        (HC3).
    """
    specs = {"primary": dict(), "no baseline covariate": dict(covariates=""),
             "age and sex": dict(covariates="score_pre + age + C(sex)"), "robust SE": dict(cov_type="HC3")}
    frames = []
    for name, options in specs.items():
        frame = fit_interactions(participants, roi_md, **options)
        frame.insert(0, "analysis", name)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
