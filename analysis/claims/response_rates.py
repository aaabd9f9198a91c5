"""The `response-rates` claim: verdicts, provenance and the results file. The review itself (protocol,
screening, pooling by stratum) is :mod:`analysis.claims.review`."""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import verdicts as v

__all__ = ["assess_claims", "find_stratum", "stratum_basis", "verdict_markdown", "provenance_markdown",
           "results_payload", "heterogeneity_word", "source_checks"]

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


def stratum_basis(fit: dict | None, spec: dict) -> str:
    """``basis`` of a subclaim: the stratum, its k (trials) and n."""
    from .review import DRUG_LABELS, TIMEPOINT_LABELS

    name = f"{DRUG_LABELS[spec['drug']]}, {spec['route']}, {TIMEPOINT_LABELS[spec['timepoint_class']]}"
    if fit is None:
        return f"{name}: no included trial"
    trials = f"{fit['k_trials']} trial" + ("s" if fit["k_trials"] != 1 else "")
    arms = f"{fit['k_arms']} arm" + ("s" if fit["k_arms"] != 1 else "")
    return f"{name}: {trials} ({arms}), n = {fit['n_total']}"


def find_stratum(strata, spec: dict) -> dict | None:
    """The row of ``strata`` (see :func:`analysis.claims.review.pool_strata`) matching ``spec``."""
    if strata is None or len(strata) == 0:
        return None
    match = strata[(strata["drug"] == spec["drug"]) & (strata["route"] == spec["route"])
                   & (strata["timepoint_class"] == spec["timepoint_class"])]
    return None if match.empty else match.iloc[0].to_dict()


def assess_claims(registry_entry: dict, strata: dict, route: dict, checks: dict[str, str]) -> dict:
    """Verdict for each published number of the claim, by the rules in ``claims.yaml``.

    Parameters
    ----------
    strata : dict
        outcome -> DataFrame of pooled strata (:func:`analysis.claims.review.pool_strata`).
    route : dict
        The adjusted route comparison (:func:`analysis.claims.review.route_comparison`).
    """
    subclaims = []
    outcome_of = {"response_nimh": "response", "remission_nimh": "remission", "response_range": "response"}
    for item in registry_entry["published"]:
        key = item["key"]
        if key in outcome_of:
            fit = find_stratum(strata[outcome_of[key]], item["stratum"])
            beside = find_stratum(strata[outcome_of[key]], item["beside"])
            if fit is None:
                verdict, interval = v.INCONCLUSIVE, {"estimate": None, "ci_low": None, "ci_high": None}
            else:
                interval = {"estimate": fit["proportion"], "ci_low": fit["ci_low"], "ci_high": fit["ci_high"]}
                verdict = (v.judge_range(fit["ci_low"], fit["ci_high"], item["low"], item["high"]) if "low" in item
                           else v.judge_point(fit["ci_low"], fit["ci_high"], item["value"], item["margin"]))
            extra = {}
            if beside is not None:
                extra["beside"] = {"basis": stratum_basis(beside, item["beside"]),
                                   **{name: beside[name] for name in ("proportion", "ci_low", "ci_high")}}
            subclaims.append(v.subclaim(key=key, label=item["label"], published=item["text"], verdict=verdict,
                                        data="real", rule=item["rule"], basis=stratum_basis(fit, item["stratum"]),
                                        source_check=checks.get(key), scale="proportion", **interval, **extra))
        elif key == "iv_vs_intranasal":
            margin = float(np.log(item["odds_ratio_margin"]))
            if route.get("identifiable"):
                verdict = v.judge_direction(route["log_ci_low"], route["log_ci_high"], margin)
                interval = {"estimate": route["odds_ratio"], "ci_low": route["ci_low"], "ci_high": route["ci_high"]}
            else:
                verdict, interval = v.INCONCLUSIVE, {"estimate": None, "ci_low": None, "ci_high": None}
            basis = (f"odds ratio of response, IV vs intranasal, adjusted for timepoint and drug; "
                     f"k = {route['k_trials']} trials ({route['k_iv']} IV, {route['k_intranasal']} intranasal), "
                     f"{route['k_arms']} arms")
            subclaims.append(v.subclaim(key=key, label=item["label"], published=item["text"], verdict=verdict,
                                        data="real", rule=item["rule"], basis=basis, source_check=checks.get(key),
                                        scale="odds ratio", **interval))
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


def results_payload(*, assessment: dict, screened: pd.DataFrame, prisma: dict, strata: dict, controlled: dict,
                    route: dict, sensitivity: dict, risk_of_bias: pd.DataFrame, inputs: dict, parameters: dict,
                    version: str) -> dict:
    """Everything the claim writes to ``results/response-rates.json`` (full precision)."""
    def records(frame: pd.DataFrame) -> list[dict]:
        dropped = [column for column in ("quote", "source_url", "notes", "title_short", "journal") if column in frame]
        return frame.drop(columns=dropped).to_dict(orient="records")

    included = screened[screened["decision"] == "included"]
    return {
        "claim": "response-rates",
        "data": "real",
        "verdict": assessment["verdict"],
        "source_check": assessment["source_check"],
        "subclaims": assessment["subclaims"],
        "review": {"trials_included": prisma["included_trials"], "arms_included": prisma["included_arms"],
                   "trials_considered": prisma["considered"], "trials_excluded": prisma["excluded"],
                   "trials_awaiting": prisma["awaiting"], "excluded_reasons": prisma["excluded_reasons"],
                   "awaiting_reasons": prisma["awaiting_reasons"],
                   "trials": prisma["trials"].to_dict(orient="records")},
        "strata": {outcome: frame.to_dict(orient="records") for outcome, frame in strata.items()},
        "controlled": {outcome: frame.to_dict(orient="records") for outcome, frame in controlled.items()},
        "route_comparison": route,
        "sensitivity": {name: frame.to_dict(orient="records") for name, frame in sensitivity.items()},
        "risk_of_bias": risk_of_bias[risk_of_bias["domain"] == "overall"][["trial_id", "judgement"]].to_dict(
            orient="records"),
        "included_rows": records(included),
        "screening": records(screened[["study_key", "trial_id", "arm", "outcome", "origin", "decision", "reason"]]),
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
