"""The `response-rates` claim: pooled response and remission across published studies."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..stats.meta import (back_transform, egger_test, escalc_proportions, leave_one_out,
                         pool_proportions, random_effects, subgroup_analysis)

from . import verdicts as v

__all__ = ["study_table", "analyse_outcome", "route_difference", "SUBGROUPS", "assess_claims", "verdict_markdown",
           "source_checks"]

SUBGROUPS = {"route": "Route", "design": "Design", "timepoint_class": "Timepoint"}


def study_table(table: pd.DataFrame, outcome: str, *, method: str = "REML", transform: str = "logit",
                level: float = 0.95) -> pd.DataFrame:
    """Per-study rows of one outcome with transformed effect, 95% CI and model weight.

    Returns
    -------
    DataFrame
        The literature rows of ``outcome`` sorted by route, timepoint class and year, plus
        ``label`` (author year, arm), ``yi, vi`` (transformed scale), ``ci_low, ci_high``
        (proportion scale, Wald on the transformed scale), ``weight`` (random-effects
        weight, percent) and ``group`` (route).
    """
    rows = table[table["outcome"] == outcome].copy()
    if rows.empty:
        raise ValueError(f"no rows with outcome {outcome!r} in the literature table")
    rows = rows.sort_values(["route", "timepoint_class", "year", "study_key"]).reset_index(drop=True)
    events = rows["events"].to_numpy(dtype=float)
    totals = rows["n"].to_numpy(dtype=float)
    yi, vi = escalc_proportions(events, totals, transform=transform)
    fit = random_effects(yi, vi, method=method, level=level)
    from scipy import stats

    crit = stats.norm.ppf(0.5 + level / 2)
    rows["yi"], rows["vi"] = yi, vi
    rows["ci_low"] = [float(back_transform(y - crit * np.sqrt(v), transform=transform, totals=[n]))
                      for y, v, n in zip(yi, vi, totals)]
    rows["ci_high"] = [float(back_transform(y + crit * np.sqrt(v), transform=transform, totals=[n]))
                       for y, v, n in zip(yi, vi, totals)]
    weights = 1.0 / (vi + fit["tau2"])
    rows["weight"] = 100.0 * weights / weights.sum()
    rows["group"] = rows["route"]
    arm = rows["arm"].where(rows["arm"].str.lower() != rows["drug"], "")
    rows["label"] = (rows["first_author"] + " " + rows["year"].astype(str)
                     + np.where(arm != "", " (" + arm + ")", ""))
    return rows


def analyse_outcome(table: pd.DataFrame, outcome: str, *, method: str = "REML", transform: str = "logit",
                    level: float = 0.95) -> dict:
    """Everything the chapter shows for one outcome.

    Returns
    -------
    dict
        ``studies`` (see :func:`study_table`), ``fit`` (:func:`pool_proportions`),
        ``subgroups`` (tidy DataFrame: analysis, subgroup, k, n_total, proportion, CI, PI,
        tau2, i2), ``subgroup_tests`` (analysis -> q_between, df, p),
        ``leave_one_out`` (DataFrame), ``egger`` (dict or None if k < 3).
    """
    studies = study_table(table, outcome, method=method, transform=transform, level=level)
    events, totals = studies["events"].to_numpy(), studies["n"].to_numpy()
    fit = pool_proportions(events, totals, method=method, transform=transform, level=level)
    subgroup_frames, tests = [], {}
    for column, title in SUBGROUPS.items():
        per_group, test = subgroup_analysis(studies, column, method=method, transform=transform, level=level)
        per_group.insert(0, "analysis", title)
        subgroup_frames.append(per_group)
        tests[column] = test
    loo = leave_one_out(events, totals, studies["label"].tolist(), method=method, transform=transform, level=level)
    egger = egger_test(studies["yi"], studies["vi"]) if len(studies) >= 3 else None
    return {"studies": studies, "fit": fit, "subgroups": pd.concat(subgroup_frames, ignore_index=True),
            "subgroup_tests": tests, "leave_one_out": loo, "egger": egger}


def route_difference(analysis: dict, *, first: str = "IV", second: str = "intranasal", level: float = 0.95) -> dict:
    """Difference in pooled proportion between two routes (first - second), with a CI, and the test
    of subgroup differences restricted to those two routes.

    The CI combines the two subgroup models' standard errors by the delta method: on the
    proportion scale ``se_g = p_g (1 - p_g) se_logit,g``, ``se = sqrt(se_1² + se_2²)``
    (for the logit transform; other transforms use the CI half-widths).
    """
    from scipy import stats

    studies = analysis["studies"]
    fit = analysis["fit"]
    pair = studies[studies["route"].isin([first, second])]
    per_group, test = subgroup_analysis(pair, "route", method=fit["method"], transform=fit["transform"])
    by_route = per_group.set_index("subgroup")
    if first not in by_route.index or second not in by_route.index:
        return {"difference": float("nan"), "ci_low": float("nan"), "ci_high": float("nan"), "p": float("nan"),
                "k_first": 0, "k_second": 0}
    crit = stats.norm.ppf(0.5 + level / 2)

    def proportion_se(route):
        row = by_route.loc[route]
        if fit["transform"] == "logit":
            return row["proportion"] * (1 - row["proportion"]) * row["se"]
        return (row["ci_high"] - row["ci_low"]) / (2 * crit)

    difference = float(by_route.loc[first, "proportion"] - by_route.loc[second, "proportion"])
    se = float(np.hypot(proportion_se(first), proportion_se(second)))
    return {"difference": difference, "ci_low": difference - crit * se, "ci_high": difference + crit * se,
            "se": se, "first": float(by_route.loc[first, "proportion"]),
            "second": float(by_route.loc[second, "proportion"]),
            "k_first": int(by_route.loc[first, "k"]), "k_second": int(by_route.loc[second, "k"]),
            "q_between": test["q_between"], "p": test["p"]}


def source_checks(provenance: list[dict]) -> dict[str, str]:
    """Subclaim key -> source check, from the traced provenance of each popular number."""
    checks = {}
    for entry in provenance:
        for key in entry.get("keys", []):
            if entry.get("source_check") not in v.SOURCE_CHECKS:
                raise ValueError(f"claim_provenance.yaml, entry {entry.get('claim')!r}: source_check must be one "
                                 f"of {list(v.SOURCE_CHECKS)}, got {entry.get('source_check')!r}")
            checks[key] = entry["source_check"]
    return checks


def assess_claims(registry_entry: dict, response: dict, remission: dict, routes: dict,
                  checks: dict[str, str]) -> dict:
    """Verdict for each published number of the claim, by the rules in ``claims.yaml``."""
    published = {item["key"]: item for item in registry_entry["published"]}
    subclaims = []

    def add(key, fit, verdict, basis, scale="proportion"):
        item = published[key]
        interval = {"estimate": fit["estimate"], "ci_low": fit["ci_low"], "ci_high": fit["ci_high"]}
        subclaims.append(v.subclaim(key=key, label=item["label"], published=item["text"], verdict=verdict,
                                    data="real", rule=item["rule"], basis=basis, source_check=checks.get(key),
                                    scale=scale, **interval))

    def pooled(result):
        fit = result["fit"]
        return {"estimate": fit["proportion"], "ci_low": fit["ci_low"], "ci_high": fit["ci_high"]}

    def basis(result, outcome):
        return (f"pooled {outcome}, all verified arms and timepoints (k = {result['fit']['k']} arms, "
                f"n = {int(result['studies']['n'].sum())})")

    item = published["response_nimh"]
    add("response_nimh", pooled(response), v.judge_point(response["fit"]["ci_low"], response["fit"]["ci_high"],
                                                         item["value"], item["margin"]), basis(response, "response"))
    item = published["remission_nimh"]
    add("remission_nimh", pooled(remission), v.judge_point(remission["fit"]["ci_low"], remission["fit"]["ci_high"],
                                                           item["value"], item["margin"]),
        basis(remission, "remission"))
    item = published["response_range"]
    add("response_range", pooled(response), v.judge_range(response["fit"]["ci_low"], response["fit"]["ci_high"],
                                                          item["low"], item["high"]), basis(response, "response"))
    if np.isfinite(routes.get("difference", float("nan"))):
        item = published["iv_vs_intranasal"]
        add("iv_vs_intranasal", {"estimate": routes["difference"], "ci_low": routes["ci_low"],
                                 "ci_high": routes["ci_high"]},
            v.judge_direction(routes["ci_low"], routes["ci_high"], item["margin"]),
            f"pooled response by route, IV (k = {routes['k_first']}) minus intranasal (k = {routes['k_second']}); "
            "not randomized, confounded by timepoint and drug", scale="difference")
    return {"subclaims": subclaims, "verdict": v.overall_verdict([item["verdict"] for item in subclaims]),
            "source_check": v.overall_source_check([item["source_check"] for item in subclaims])}


def verdict_markdown(assessment: dict) -> str:
    """The chapter's verdict table (MyST markdown with verdict, data and source badges)."""
    from .scoreboard import verdict_table_markdown

    return verdict_table_markdown(assessment["subclaims"])


def provenance_markdown(provenance: list[dict], table: pd.DataFrame) -> str:
    """Render the traced origin of each popular number, with the study's own counts when
    the traced study is in the verified table."""
    blocks = []
    for entry in provenance:
        lines = [f"**{entry['claim']}**", ""]
        lines.append(f"- Traced to: {entry['traced_to']}" + (f" (doi:{entry['doi']})" if entry.get("doi") else ""))
        lines.append(f"- Source check: **{entry['source_check']}** ({entry['status']})")
        for quote in entry.get("quotes", []):
            lines.append(f"- Source text ({quote['source']}): \u201c{quote['text']}\u201d")
        for key in entry.get("study_keys", []):
            rows = table[table["study_key"] == key]
            for _, row in rows.iterrows():
                lines.append(f"- In the verified table: {row['first_author']} {row['year']}, {row['outcome']} "
                             f"{row['events']}/{row['n']} = {100 * row['proportion']:.1f}% ({row['timepoint']})")
        lines.append(f"- Assessment: {entry['assessment'].strip()}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def results_payload(*, assessment: dict, response: dict, remission: dict, sensitivity: dict, routes: dict,
                    inputs: dict, parameters: dict, version: str) -> dict:
    """Everything the claim writes to ``results/response-rates.json`` (full precision)."""
    def records(frame: pd.DataFrame) -> list[dict]:
        dropped = [column for column in ("quote", "source_url", "notes", "title_short", "journal") if column in frame]
        return frame.drop(columns=dropped).to_dict(orient="records")

    fit = response["fit"]
    return {
        "claim": "response-rates",
        "data": "real",
        "verdict": assessment["verdict"],
        "source_check": assessment["source_check"],
        "subclaims": assessment["subclaims"],
        "headline": {"label": "Pooled response",
                     **{key: fit[key] for key in ("proportion", "ci_low", "ci_high", "pi_low", "pi_high")}},
        "pooled": {"response": fit, "remission": remission["fit"]},
        "subgroups": {"response": response["subgroups"].to_dict(orient="records"),
                      "remission": remission["subgroups"].to_dict(orient="records")},
        "subgroup_tests": {"response": response["subgroup_tests"], "remission": remission["subgroup_tests"]},
        "leave_one_out": response["leave_one_out"].to_dict(orient="records"),
        "egger": {"response": response["egger"], "remission": remission["egger"]},
        "sensitivity": sensitivity,
        "route_difference": routes,
        "studies": {"response": records(response["studies"]), "remission": records(remission["studies"])},
        "inputs": inputs,
        "parameters": parameters,
        "analysis_version": version,
    }


def heterogeneity_word(i2: float) -> str:
    """Cochrane Handbook's rough guide to I² (section 10.10.2): 0-40% might not be important,
    30-60% moderate, 50-90% substantial, 75-100% considerable (overlapping on purpose; the lower
    reading is used here)."""
    if i2 < 30:
        return "low"
    if i2 < 50:
        return "moderate"
    if i2 < 75:
        return "substantial"
    return "considerable"
