"""The systematic review behind the `response-rates` claim: the protocol's inclusion rules as code,
the PRISMA 2020 flow counts, pooling by stratum with arms nested in trials, controlled comparisons
and the route comparison adjusted for timepoint and drug.

The protocol (book page ``claims/response-rates-protocol``) states the same rules in words; the
constants below are what both the page and the analysis use.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
from scipy import stats

from ..stats.meta import (escalc_proportions, glmm_proportions, meta_regression, pool_proportions,
                          random_effects)

__all__ = ["TIMEPOINT_LABELS", "DRUG_LABELS", "REMISSION_THRESHOLDS", "OVERLAPS", "participant_level_rows", "POPULATIONS_INCLUDED",
           "candidate_table", "screen", "prisma_counts", "pool_strata", "stratum", "risk_ratios",
           "pool_risk_ratios", "route_comparison", "sensitivity_analyses", "INCLUDED", "EXCLUDED", "AWAITING"]

INCLUDED, EXCLUDED, AWAITING = "included", "excluded", "awaiting verification"
#: Populations the review includes (the others are recorded and excluded).
POPULATIONS_INCLUDED = ("TRD", "clinic sample")

TIMEPOINT_LABELS = {
    "single_dose_24h": "24 h or less after one dose",
    "single_dose_2_7d": "2-7 days after one dose",
    "end_of_course": "end of a repeated course",
}
DRUG_LABELS = {"ketamine": "racemic ketamine", "esketamine": "esketamine", "arketamine": "arketamine"}

#: Accepted remission definitions per scale (a row whose definition does not state a threshold on
#: its scale is not pooled): the usual cut-offs of the trials in this field.
REMISSION_THRESHOLDS = {
    "MADRS": "total score <= 10 or <= 12",
    "HDRS-17": "total score <= 7",
    "HDRS-21": "total score <= 7",
    "HAM-D-17": "total score <= 7",
    "QIDS-SR16": "total score <= 5",
    "PHQ-9": "total score < 5",
}

#: Pooled re-analyses and the trials whose participants they contain. A pooled re-analysis is left
#: out when any of its source trials is included, so that no patient is counted twice.
OVERLAPS = {"turkoz2021": ("fedgchin2019", "popova2019")}

_ORIGINS = {"verified": "verified study table", "lead": "leads awaiting verification",
            "participant-level": "participant-level data (ds005917)"}


def participant_level_rows(crossover: dict) -> pd.DataFrame:
    """Literature-style rows for the NIMH crossover, from its results payload (``counts``).

    Only the day-2 ratings enter (2-3 days after one infusion, ``single_dose_2_7d``); each
    participant contributes to both arms (a crossover), which the controlled comparison treats as
    parallel groups (conservative for a paired design).
    """
    rows = []
    definitions = {"response": "MADRS <= 50% of baseline", "remission": "MADRS <= 10"}
    for outcome in ("response", "remission"):
        for arm, drug, role, key in (("ketamine", "ketamine", "experimental", "ketamine_day2"),
                                     ("placebo (saline)", "saline", "control", "placebo_day2")):
            count = crossover["counts"][outcome][key]
            rows.append({
                "study_key": f"nimh_ds005917_{'ketamine' if role == 'experimental' else 'saline'}",
                "trial_id": "nimh_ds005917", "first_author": "Evans", "year": 2025,
                "title_short": "NIMH Ketamine Mechanism of Action Study (OpenNeuro ds005917)",
                "journal": "OpenNeuro", "design": "RCT", "route": "IV", "drug": drug,
                "dose": "0.5 mg/kg over 40 min, single infusion (crossover vs saline)", "arm": arm, "arm_role": role,
                "outcome": outcome, "timepoint": "2-3 days after the infusion", "timepoint_class": "single_dose_2_7d",
                "scale": "MADRS", "definition": definitions[outcome], "n": int(count["n"]),
                "events": int(count["events"]), "reported_percent": np.nan,
                "count_source": "counted from the participant-level ratings (see the crossover chapter)",
                "population": "TRD", "doi": "10.18112/openneuro.ds005917.v1.0.1", "pmid": np.nan, "pmcid": np.nan,
                "registry_id": "NCT00088699",
                "source_url": "https://openneuro.org/datasets/ds005917/versions/1.0.1", "source_type": "repository",
                "quote": "", "status": "verified", "notes": "Crossover; MDD participants rated at baseline and day 2.",
                "origin": "participant-level"})
    return pd.DataFrame(rows)


def candidate_table(verified: pd.DataFrame, leads: pd.DataFrame, participant_level: pd.DataFrame | None = None
                    ) -> pd.DataFrame:
    """Every candidate row, with its ``origin`` (verified, lead, participant-level)."""
    frames = [verified.assign(origin="verified", numbers_read="primary"), leads.assign(origin="lead")]
    if participant_level is not None and len(participant_level):
        frames.append(participant_level.assign(numbers_read="primary"))
    table = pd.concat(frames, ignore_index=True, sort=False)
    table["origin_label"] = table["origin"].map(_ORIGINS)
    return table


def _response_definition_ok(definition) -> bool:
    return isinstance(definition, str) and bool(re.search(r"50\s*%", definition)) and "not read" not in definition


def _remission_definition_ok(definition, scale) -> bool:
    return (isinstance(definition, str) and "not read" not in definition and "not stated" not in definition
            and bool(re.search(r"(<=|<|≤|=<)\s*\d", definition)) and isinstance(scale, str)
            and not scale.startswith("not"))


def screen(candidates: pd.DataFrame) -> pd.DataFrame:
    """Apply the protocol's rules, in order, to every candidate row.

    Adds ``decision`` (included, excluded, awaiting verification) and ``reason`` (empty when
    included). The first rule a row fails decides.
    """
    table = candidates.copy()
    decisions, reasons = [], []
    verified_keys = {(r.trial_id, r.arm_role, r.outcome) for r in table.itertuples() if r.origin != "lead"}
    for row in table.itertuples():
        decision, reason = INCLUDED, ""
        lead = row.origin == "lead"
        if row.drug == "arketamine":
            decision, reason = EXCLUDED, "intervention: arketamine is outside this review"
        elif not isinstance(row.design, str) or not row.design:
            decision, reason = EXCLUDED, "design not stated in the source"
        elif row.population not in POPULATIONS_INCLUDED:
            decision, reason = EXCLUDED, f"population: {row.population}"
        elif lead and (row.trial_id, row.arm_role, row.outcome) in verified_keys:
            decision, reason = EXCLUDED, "duplicate of a verified row of the same trial"
        elif lead and (row.numbers_read == "not_read" or pd.isna(row.n) or pd.isna(row.events)):
            decision, reason = AWAITING, "counts not read in any source (full text needed)"
        elif lead:
            where = "a secondary source" if row.numbers_read == "secondary" else "a source not yet confirmed"
            decision, reason = AWAITING, f"counts read only in {where}"
        elif row.arm_role == "experimental" and row.outcome == "response" and not _response_definition_ok(row.definition):
            decision, reason = EXCLUDED, "response definition not reported as a reduction of at least 50%"
        elif row.arm_role == "experimental" and row.outcome == "remission" and not _remission_definition_ok(
                row.definition, row.scale):
            decision, reason = EXCLUDED, "remission threshold not reported"
        decisions.append(decision)
        reasons.append(reason)
    table["decision"], table["reason"] = decisions, reasons
    included_trials = set(table.loc[table["decision"] == INCLUDED, "trial_id"])
    for pooled, sources in OVERLAPS.items():
        overlapping = included_trials.intersection(sources)
        if overlapping:
            mask = (table["trial_id"] == pooled) & (table["decision"] == INCLUDED)
            table.loc[mask, "decision"] = EXCLUDED
            table.loc[mask, "reason"] = "pooled re-analysis of trials already included"
    return table


def prisma_counts(screened: pd.DataFrame) -> dict:
    """Trial-level counts for the PRISMA 2020 flow diagram.

    A trial is included when any of its rows is, awaiting when none is included and any awaits,
    excluded otherwise (with the reason of its first excluded row).
    """
    per_trial = []
    for trial, rows in screened.groupby("trial_id", sort=True):
        if (rows["decision"] == INCLUDED).any():
            status, reason = INCLUDED, ""
        elif (rows["decision"] == AWAITING).any():
            status, reason = AWAITING, rows.loc[rows["decision"] == AWAITING, "reason"].iloc[0]
        else:
            status, reason = EXCLUDED, rows["reason"].iloc[0]
        origin = rows["origin_label"].iloc[0]
        per_trial.append({"trial_id": trial, "status": status, "reason": reason, "origin": origin})
    trials = pd.DataFrame(per_trial)
    included = screened[screened["decision"] == INCLUDED]
    return {
        "considered": int(len(trials)),
        "by_origin": trials["origin"].value_counts().sort_index().to_dict(),
        "screened": int(len(trials)),
        "excluded": int((trials["status"] == EXCLUDED).sum()),
        "excluded_reasons": trials.loc[trials["status"] == EXCLUDED, "reason"].value_counts().to_dict(),
        "awaiting": int((trials["status"] == AWAITING).sum()),
        "awaiting_reasons": trials.loc[trials["status"] == AWAITING, "reason"].value_counts().to_dict(),
        "included_trials": int((trials["status"] == INCLUDED).sum()),
        "included_arms": int(included.drop_duplicates(["trial_id", "arm"]).shape[0]),
        "included_rows": int(len(included)),
        "trials": trials,
    }


def stratum(frame: pd.DataFrame, *, outcome: str, drug: str, route: str | None, timepoint_class: str,
            arm_role: str = "experimental") -> pd.DataFrame:
    """Rows of one stratum (``route=None``: any route)."""
    mask = ((frame["outcome"] == outcome) & (frame["drug"] == drug) & (frame["timepoint_class"] == timepoint_class)
            & (frame["arm_role"] == arm_role))
    if route is not None:
        mask &= frame["route"] == route
    return frame[mask]


def _pool(rows: pd.DataFrame, *, method: str, transform: str, level: float, test: str = "z") -> dict:
    events, totals = rows["events"].to_numpy(), rows["n"].to_numpy()
    n_trials = rows["trial_id"].nunique()
    if len(rows) == 1:
        fit = pool_proportions(events, totals, method=method, transform=transform, level=level)
        fit.update(pi_low=float("nan"), pi_high=float("nan"))
    elif n_trials < len(rows):
        fit = pool_proportions(events, totals, method=method, transform=transform, level=level, test=test,
                               cluster=rows["trial_id"].to_numpy())
    else:
        fit = pool_proportions(events, totals, method=method, transform=transform, level=level, test=test)
    fit["k_trials"], fit["k_arms"], fit["n_total"] = int(n_trials), int(len(rows)), int(totals.sum())
    return fit


def pool_strata(included: pd.DataFrame, outcome: str, *, method: str = "REML", transform: str = "logit",
                level: float = 0.95) -> pd.DataFrame:
    """Pool the experimental arms of each stratum (drug x route x timepoint class), arms nested in
    trials (three-level model) where a trial contributes several arms.

    Returns
    -------
    DataFrame
        One row per stratum: ``drug, route, timepoint_class, k_trials, k_arms, n_total,
        proportion, ci_low, ci_high, pi_low, pi_high, tau2, i2, sigma2`` (NaN when one trial).
    """
    rows = included[(included["outcome"] == outcome) & (included["arm_role"] == "experimental")]
    records = []
    for (drug, route, timepoint), group in rows.groupby(["drug", "route", "timepoint_class"], sort=True):
        fit = _pool(group, method=method, transform=transform, level=level)
        records.append({"drug": drug, "route": route, "timepoint_class": timepoint,
                        **{key: fit.get(key, float("nan")) for key in
                           ("k_trials", "k_arms", "n_total", "proportion", "ci_low", "ci_high", "pi_low", "pi_high",
                            "tau2", "i2")},
                        "sigma2": fit.get("sigma2")})
    return pd.DataFrame(records)


def risk_ratios(included: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """Per experimental arm with a control arm in the same trial: log risk ratio and its variance
    (metafor ``escalc(measure="RR")``: 0.5 added to all four cells when one is 0)."""
    rows = included[included["outcome"] == outcome]
    records = []
    for trial, group in rows.groupby("trial_id", sort=True):
        controls = group[group["arm_role"] == "control"]
        if controls.empty:
            continue
        control = controls.iloc[0]
        for _, arm in group[group["arm_role"] == "experimental"].iterrows():
            a, n1, c, n2 = float(arm["events"]), float(arm["n"]), float(control["events"]), float(control["n"])
            if min(a, c, n1 - a, n2 - c) == 0:
                a, c, n1, n2 = a + 0.5, c + 0.5, n1 + 1.0, n2 + 1.0
            records.append({"trial_id": trial, "label": f"{arm['first_author']} {arm['year']}",
                            "arm": arm["arm"], "comparator": control["arm"], "drug": arm["drug"], "route": arm["route"],
                            "timepoint_class": arm["timepoint_class"], "events": int(arm["events"]), "n": int(arm["n"]),
                            "control_events": int(control["events"]), "control_n": int(control["n"]),
                            "yi": np.log((a / n1) / (c / n2)), "vi": 1 / a - 1 / n1 + 1 / c - 1 / n2})
    return pd.DataFrame(records)


def pool_risk_ratios(ratios: pd.DataFrame, *, level: float = 0.95) -> pd.DataFrame:
    """Pooled risk ratio per stratum (drug x timepoint class), arms nested in trials where a trial
    has several doses against one control (their shared control makes them correlated; the
    trial-level random effect absorbs part of it)."""
    records = []
    if ratios.empty:
        return pd.DataFrame(columns=["drug", "timepoint_class", "k_trials", "k_arms", "rr", "ci_low", "ci_high",
                                     "p", "i2"])
    for (drug, timepoint), group in ratios.groupby(["drug", "timepoint_class"], sort=True):
        cluster = group["trial_id"].to_numpy() if group["trial_id"].nunique() < len(group) else None
        fit = random_effects(group["yi"], group["vi"], level=level, cluster=cluster)
        records.append({"drug": drug, "timepoint_class": timepoint, "k_trials": int(group["trial_id"].nunique()),
                        "k_arms": int(len(group)), "rr": float(np.exp(fit["estimate"])),
                        "ci_low": float(np.exp(fit["ci_low"])), "ci_high": float(np.exp(fit["ci_high"])),
                        "p": fit["p"], "i2": fit["i2"]})
    return pd.DataFrame(records)


def route_comparison(included: pd.DataFrame, *, outcome: str = "response", level: float = 0.95) -> dict:
    """IV against intranasal, adjusted for timepoint class and drug: a three-level meta-regression of
    the logit response proportion on route, timepoint class and drug (arms nested in trials).

    Returns
    -------
    dict
        ``odds_ratio, ci_low, ci_high, p`` for IV vs intranasal (adjusted), ``k_trials, k_arms``,
        ``terms`` (coefficient table) and ``identifiable`` (False when the moderators are
        completely confounded, with ``reason``).
    """
    rows = included[(included["outcome"] == outcome) & (included["arm_role"] == "experimental")
                    & included["route"].isin(["IV", "intranasal"])].reset_index(drop=True)
    yi, vi = escalc_proportions(rows["events"], rows["n"])
    columns, names = [np.ones(len(rows))], ["intercept"]
    columns.append((rows["route"] == "IV").to_numpy(float))
    names.append("route: IV vs intranasal")
    for level_name in ("single_dose_2_7d", "end_of_course"):
        if (rows["timepoint_class"] == level_name).any():
            columns.append((rows["timepoint_class"] == level_name).to_numpy(float))
            names.append(f"timepoint: {TIMEPOINT_LABELS[level_name]}")
    if rows["drug"].nunique() > 1:
        columns.append((rows["drug"] == "esketamine").to_numpy(float))
        names.append("drug: esketamine vs racemic")
    exog = np.column_stack(columns)
    base = {"k_trials": int(rows["trial_id"].nunique()), "k_arms": int(len(rows)),
            "k_iv": int(rows.loc[rows["route"] == "IV", "trial_id"].nunique()),
            "k_intranasal": int(rows.loc[rows["route"] == "intranasal", "trial_id"].nunique())}
    cluster = rows["trial_id"].to_numpy() if rows["trial_id"].nunique() < len(rows) else None
    try:
        terms = meta_regression(yi, vi, exog, names=names, cluster=cluster, level=level)
    except ValueError as error:
        return {**base, "identifiable": False, "reason": str(error), "odds_ratio": float("nan"),
                "ci_low": float("nan"), "ci_high": float("nan"), "p": float("nan"), "log_ci_low": float("nan"),
                "log_ci_high": float("nan"), "terms": []}
    route = terms.set_index("term").loc["route: IV vs intranasal"]
    return {**base, "identifiable": True, "reason": "", "odds_ratio": float(np.exp(route["estimate"])),
            "ci_low": float(np.exp(route["ci_low"])), "ci_high": float(np.exp(route["ci_high"])),
            "log_ci_low": float(route["ci_low"]), "log_ci_high": float(route["ci_high"]), "p": float(route["p"]),
            "terms": terms.to_dict(orient="records")}


def sensitivity_analyses(included: pd.DataFrame, awaiting: pd.DataFrame, risk_of_bias: pd.DataFrame, *,
                         outcome: str, drug: str, route: str | None, timepoint_class: str, method: str = "REML",
                         transform: str = "logit", level: float = 0.95) -> pd.DataFrame:
    """The primary stratum estimate and its sensitivity analyses, one row each."""
    primary_rows = stratum(included, outcome=outcome, drug=drug, route=route, timepoint_class=timepoint_class)
    records = []

    def add(name, rows, fit=None):
        if rows.empty:
            records.append({"analysis": name, "k_trials": 0, "k_arms": 0, "n_total": 0})
            return
        fit = fit if fit is not None else _pool(rows, method=method, transform=transform, level=level)
        records.append({"analysis": name, "k_trials": int(rows["trial_id"].nunique()), "k_arms": int(len(rows)),
                        "n_total": int(rows["n"].sum()),
                        **{key: fit.get(key, float("nan")) for key in ("proportion", "ci_low", "ci_high", "pi_low",
                                                                        "pi_high")}})

    add("primary: arms nested in trials, REML, logit", primary_rows)
    if len(primary_rows) > 1:
        two_level = pool_proportions(primary_rows["events"], primary_rows["n"], method=method, transform=transform,
                                     level=level)
        add("arms as independent studies", primary_rows, two_level)
        adhoc = pool_proportions(primary_rows["events"], primary_rows["n"], method=method, transform=transform,
                                 level=level, test="adhoc")
        add("modified Hartung-Knapp (arms as studies)", primary_rows, adhoc)
        ft = pool_proportions(primary_rows["events"], primary_rows["n"], method=method, transform="freeman-tukey",
                              level=level)
        add("Freeman-Tukey transform (arms as studies)", primary_rows, ft)
        glmm = glmm_proportions(primary_rows["events"], primary_rows["n"], level=level)
        add("binomial-normal GLMM (arms as studies)", primary_rows, {**glmm, "pi_low": float("nan"),
                                                                     "pi_high": float("nan")})
    high = set(risk_of_bias.loc[(risk_of_bias["domain"] == "overall") & (risk_of_bias["judgement"] == "high"),
                                "trial_id"])
    add("without trials at high risk of bias", primary_rows[~primary_rows["trial_id"].isin(high)])
    leads = stratum(awaiting.dropna(subset=["n", "events"]), outcome=outcome, drug=drug, route=route,
                    timepoint_class=timepoint_class) if len(awaiting) else awaiting
    add("with unverified leads whose counts were read", pd.concat([primary_rows, leads], ignore_index=True))
    return pd.DataFrame(records)


# ----------------------------------------------------------------------------- tables for readers
def _percent_ci(estimate, low, high) -> str:
    if estimate is None or not np.isfinite(estimate):
        return "-"
    return f"{100 * estimate:.1f}% ({100 * low:.1f} to {100 * high:.1f})"


def _interval(low, high) -> str:
    return "-" if low is None or not np.isfinite(low) else f"{100 * low:.0f} to {100 * high:.0f}%"


def stratum_name(drug: str, route: str, timepoint_class: str) -> str:
    return f"{DRUG_LABELS[drug]}, {route}, {TIMEPOINT_LABELS[timepoint_class]}"


#: Trials whose bibliography key differs from their trial id.
CITATION_KEYS = {"nimh_ds005917": "ds005917"}


def cite(trial_id: str, label: str, citable: set[str]) -> str:
    """``{cite:t}`` for a trial in the bibliography, else its label."""
    key = CITATION_KEYS.get(trial_id, trial_id)
    return f"{{cite:t}}`{key}`" if key in citable else label


def included_trials_table(included: pd.DataFrame, risk_of_bias: pd.DataFrame, citable: set[str]) -> pd.DataFrame:
    """One row per included trial: design, drug, route, timepoint, arms, participants, overall risk of bias."""
    overall = risk_of_bias[risk_of_bias["domain"] == "overall"].set_index("trial_id")["judgement"]
    rows = []
    for trial, group in included.groupby("trial_id", sort=False):
        first = group.iloc[0]
        arms = group.drop_duplicates("arm")
        experimental = arms[arms["arm_role"] == "experimental"]
        controls = arms[arms["arm_role"] == "control"]
        control = f" vs {', '.join(controls['drug'])}" if len(controls) else ""
        n_experimental = int(experimental["n"].sum())
        rows.append({"Trial": cite(trial, f"{first['first_author']} {first['year']}", citable),
                     "Design": f"{first['design']}{control}",
                     "Drug, route": f"{DRUG_LABELS[experimental['drug'].iloc[0]]}, {first['route']}",
                     "Assessed": TIMEPOINT_LABELS[first["timepoint_class"]],
                     "Arms (n)": f"{len(experimental)} ({n_experimental})",
                     "Risk of bias": overall.get(trial, "not assessed")})
    return pd.DataFrame(rows).sort_values(["Drug, route", "Assessed", "Trial"]).reset_index(drop=True)


def not_included_table(screened: pd.DataFrame, trials: pd.DataFrame, citable: set[str]) -> pd.DataFrame:
    """Trials excluded or awaiting verification, with the reason."""
    rows = []
    for _, trial in trials[trials["status"] != INCLUDED].sort_values(["status", "trial_id"]).iterrows():
        first = screened[screened["trial_id"] == trial["trial_id"]].iloc[0]
        rows.append({"Trial": cite(trial["trial_id"], f"{first['first_author']} {first['year']}", citable),
                     "Found in": trial["origin"], "Decision": trial["status"], "Reason": trial["reason"]})
    return pd.DataFrame(rows)


def strata_table(strata: pd.DataFrame) -> pd.DataFrame:
    """Pooled proportion per stratum, for people."""
    from .response_rates import heterogeneity_word

    rows = []
    for _, row in strata.iterrows():
        one = int(row["k_trials"]) == 1 and int(row["k_arms"]) == 1
        rows.append({"Stratum": stratum_name(row["drug"], row["route"], row["timepoint_class"]),
                     "Trials (arms)": f"{int(row['k_trials'])} ({int(row['k_arms'])})", "n": f"{int(row['n_total'])}",
                     "Pooled, % (95% CI)": _percent_ci(row["proportion"], row["ci_low"], row["ci_high"]),
                     "95% prediction interval": "-" if int(row["k_trials"]) < 2 else _interval(row["pi_low"],
                                                                                              row["pi_high"]),
                     "Heterogeneity": "-" if one or int(row["k_arms"]) < 2 else
                     f"{heterogeneity_word(row['i2'])} (I² {row['i2']:.0f}%)"})
    return pd.DataFrame(rows)


def controlled_table(pooled: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for _, row in pooled.iterrows():
        rows.append({"Drug": DRUG_LABELS[row["drug"]], "Assessed": TIMEPOINT_LABELS[row["timepoint_class"]],
                     "Trials (arms)": f"{int(row['k_trials'])} ({int(row['k_arms'])})",
                     "Risk ratio (95% CI)": f"{row['rr']:.2f} ({row['ci_low']:.2f} to {row['ci_high']:.2f})",
                     "p": f"{row['p']:.2g}"})
    return pd.DataFrame(rows)


def risk_of_bias_table(risk_of_bias: pd.DataFrame, included_trials: set[str], citable: set[str]) -> pd.DataFrame:
    """Trials by domain (D1-D5 or C1-C5, overall): low, some (concerns) or high."""
    short = {"low": "low", "some concerns": "some", "high": "high"}
    rows = []
    for trial, group in risk_of_bias[risk_of_bias["trial_id"].isin(included_trials)].groupby("trial_id", sort=True):
        prefix = "D" if group["tool"].iloc[0] == "RoB 2" else "C"
        judgements = dict(zip(group["domain"].str.split(" ").str[0], group["judgement"]))
        rows.append({"Trial": cite(trial, trial, citable), "Tool": "RoB 2" if prefix == "D" else "checklist",
                     **{str(i): f"{prefix}{i} {short[judgements[f'{prefix}{i}']]}" if f"{prefix}{i}" in judgements
                        else "-" for i in range(1, 6)},
                     "Overall": short[judgements["overall"]]})
    frame = pd.DataFrame(rows)
    frame.columns = ["Trial", "Tool", "1", "2", "3", "4", "5", "Overall"]
    return frame


def sensitivity_table(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"Analysis": frame["analysis"],
                         "Trials (arms)": [f"{int(k)} ({int(a)})" for k, a in zip(frame["k_trials"], frame["k_arms"])],
                         "Pooled, % (95% CI)": [_percent_ci(row.get("proportion"), row.get("ci_low"), row.get("ci_high"))
                                                if row["k_arms"] else "no trial" for _, row in frame.iterrows()]})


_SHORT_TIMES = {"single_dose_24h": "24 h or less, one dose", "single_dose_2_7d": "2-7 days, one dose",
                "end_of_course": "end of course"}


def _short_stratum(drug: str, route: str) -> str:
    return f"{'esketamine' if drug == 'esketamine' else 'racemic'} {route}"


def published_comparison(published: pd.DataFrame, strata: dict, controlled: dict, citable: set[str]) -> pd.DataFrame:
    """Published meta-analyses' pooled estimates beside ours for the same outcome and timepoint class,
    with the main reasons they may differ (population, measure, timepoints or drugs pooled together)."""
    rows = []
    for _, row in published.iterrows():
        outcome, timepoint = row["outcome"], row["timepoint_class"]
        stated = re.match(r"^Timepoint ([^.;]+)", str(row.get("notes") or ""))
        when = stated.group(1) if stated else ("mixed" if timepoint == "mixed" else _SHORT_TIMES[timepoint])
        comparison = re.search(r"_vs_(pbo|mdz)_", row["key"])
        if comparison:
            outcome_label = f"{outcome} vs {'placebo' if comparison.group(1) == 'pbo' else 'midazolam'}"
        else:
            outcome_label = outcome
        if row["measure"] == "proportion":
            theirs = f"{100 * row['estimate']:.1f}%"
            if pd.notna(row["ci_low"]):
                theirs += f" ({100 * row['ci_low']:.0f}-{100 * row['ci_high']:.0f})"
            frame = strata[outcome]
            if timepoint != "mixed":
                frame = frame[frame["timepoint_class"] == timepoint]
            elif str(row["drug"]).strip() == "ketamine":
                frame = frame[(frame["drug"] == "ketamine") & (frame["route"] == "IV")]
            ours = "; ".join(f"{_short_stratum(r['drug'], r['route'])}"
                             f"{'' if timepoint != 'mixed' else ', ' + _SHORT_TIMES[r['timepoint_class']]}: "
                             f"{100 * r['proportion']:.0f}% ({100 * r['ci_low']:.0f}-{100 * r['ci_high']:.0f})"
                             for _, r in frame.iterrows()) or "no included trial"
        else:
            measure = "RR" if row["measure"] == "risk_ratio" else "OR"
            theirs = f"{measure} {row['estimate']:.2f}"
            if pd.notna(row["ci_low"]):
                theirs += f" ({row['ci_low']:.2f}-{row['ci_high']:.2f})"
            frame = controlled[outcome]
            frame = frame[frame["timepoint_class"] == timepoint] if len(frame) else frame
            ours = "; ".join(f"{'esketamine' if r['drug'] == 'esketamine' else 'racemic'}: RR {r['rr']:.2f} "
                             f"({r['ci_low']:.2f}-{r['ci_high']:.2f})" for _, r in frame.iterrows()) or "no trial"
        reasons = []
        population = str(row["population"]).lower()
        if "not restricted" in population or ("mdd" in population and "trd" not in population):
            reasons.append("not only TRD")
        if row["measure"] == "odds_ratio":
            reasons.append("odds ratio (ours: risk ratio)")
        if timepoint == "mixed":
            reasons.append("timepoints pooled")
        if "esketamine" in str(row["drug"]) and "ketamine" in str(row["drug"]).replace("esketamine", ""):
            reasons.append("drugs pooled")
        rows.append({"Meta-analysis": cite(re.match(r"^[a-z]+\d{4}", row["key"]).group(0),
                                           f"{row['first_author']} {row['year']}", citable),
                     "Outcome": outcome_label, "When": when, "Theirs": theirs, "Ours (same outcome and time)": ours,
                     "May differ because": ", ".join(reasons) or "-"})
    return pd.DataFrame(rows)
