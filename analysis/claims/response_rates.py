"""The `response-rates` claim: pooled response and remission across published studies."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .claims import combine_verdicts, verdict_direction, verdict_point, verdict_range
from .stats.meta import (back_transform, egger_test, escalc_proportions, leave_one_out,
                         pool_proportions, random_effects, subgroup_analysis)

__all__ = ["study_table", "analyse_outcome", "route_difference", "SUBGROUPS", "assess_claims"]

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


def route_difference(analysis: dict, *, first: str = "IV", second: str = "intranasal") -> dict:
    """Difference in pooled proportion between two routes (first - second) and the test of
    subgroup differences restricted to those two routes."""
    studies = analysis["studies"]
    fit = analysis["fit"]
    pair = studies[studies["route"].isin([first, second])]
    per_group, test = subgroup_analysis(pair, "route", method=fit["method"], transform=fit["transform"])
    by_route = per_group.set_index("subgroup")
    if first not in by_route.index or second not in by_route.index:
        return {"difference": float("nan"), "p": float("nan"), "k_first": 0, "k_second": 0}
    return {"difference": float(by_route.loc[first, "proportion"] - by_route.loc[second, "proportion"]),
            "first": float(by_route.loc[first, "proportion"]), "second": float(by_route.loc[second, "proportion"]),
            "k_first": int(by_route.loc[first, "k"]), "k_second": int(by_route.loc[second, "k"]),
            "q_between": test["q_between"], "p": test["p"]}


def _interval(fit: dict) -> dict:
    return {key: fit[key] for key in ("ci_low", "ci_high", "pi_low", "pi_high")} | {"estimate": fit["proportion"]}


def assess_claims(registry_entry: dict, response: dict, remission: dict, routes: dict) -> dict:
    """Verdict for each published number of the claim, from the pooled analyses."""
    published = {item["key"]: item for item in registry_entry["published"]}
    subclaims = []

    def add(key, interval, verdict, note):
        item = published[key]
        subclaims.append({"key": key, "label": item["label"], "published": item["text"], "scale": "proportion",
                          **interval, "verdict": verdict, "note": note})

    response_fit, remission_fit = response["fit"], remission["fit"]
    add("response_nimh", _interval(response_fit), verdict_point(published["response_nimh"]["value"], response_fit),
        "pooled response, all verified studies")
    add("remission_nimh", _interval(remission_fit),
        verdict_point(published["remission_nimh"]["value"], remission_fit),
        "pooled remission, all verified studies")
    add("response_range", _interval(response_fit),
        verdict_range(published["response_range"]["low"], published["response_range"]["high"], response_fit),
        "pooled response against the published range")
    if np.isfinite(routes.get("difference", float("nan"))):
        subclaims.append({"key": "iv_vs_intranasal", "label": published["iv_vs_intranasal"]["label"],
                          "published": published["iv_vs_intranasal"]["text"], "scale": "difference",
                          "estimate": routes["difference"], "ci_low": None, "ci_high": None,
                          "reproduced_text": (f"IV {100 * routes['first']:.1f}% vs intranasal "
                                              f"{100 * routes['second']:.1f}% (p = {routes['p']:.2g})"),
                          "verdict": verdict_direction(routes["difference"], routes["p"]),
                          "note": "response, subgroup difference; confounded by timepoint and comparator"})
    verdict = combine_verdicts([item["verdict"] for item in subclaims])
    return {"subclaims": subclaims, "verdict": verdict}


def verdict_markdown(assessment: dict) -> str:
    """The verdict table of the chapter (markdown)."""
    from .claims import _format_interval

    lines = ["| Published | Reproduced (95% CI) | Verdict | Compared with |", "|---|---|---|---|"]
    for item in assessment["subclaims"]:
        lines.append(f"| {item['label']}: {item['published']} | {_format_interval(item)} | **{item['verdict']}** "
                     f"| {item['note']} |")
    return "\n".join(lines)


def provenance_markdown(provenance: list[dict], table: pd.DataFrame) -> str:
    """Render the traced origin of each popular number, with the study's own counts when
    the traced study is in the verified table."""
    blocks = []
    for entry in provenance:
        lines = [f"**{entry['claim']}**", ""]
        lines.append(f"- Traced to: {entry['traced_to']}" + (f" (doi:{entry['doi']})" if entry.get("doi") else ""))
        lines.append(f"- Traceable to the named source: **{'yes' if entry['traceable'] else 'no'}**"
                     f" (status of the trace: {entry['status']})")
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
        "verdict": assessment["verdict"],
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
