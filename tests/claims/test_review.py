"""The review's protocol rules, flow counts and trial-level models on small tables with known answers."""
import numpy as np
import pandas as pd
import pytest

from analysis import pool_proportions, random_effects
from analysis.claims import review
from analysis.io import DataValidationError, read_leads, read_literature, read_risk_of_bias

from ..conftest import ROOT, literature_row, write_literature


def _row(**overrides):
    row = literature_row(**overrides)
    return {**row, "n": int(row["n"]), "events": int(row["events"])}


def _candidates():
    verified = pd.DataFrame([
        _row(study_key="a_low", trial_id="a", arm="ketamine 28 mg", n=20, events=8),
        _row(study_key="a_high", trial_id="a", arm="ketamine 84 mg", n=20, events=12),
        _row(study_key="a_pbo", trial_id="a", arm="placebo", arm_role="control", drug="placebo", n=20, events=2),
        _row(study_key="b", trial_id="b", n=30, events=15),
        _row(study_key="c", trial_id="c", n=25, events=10, definition="not stated in the abstract"),
        _row(study_key="d", trial_id="d", n=25, events=10, population="MDD, not restricted to TRD"),
        _row(study_key="pooled", trial_id="pooled", n=40, events=20),
        _row(study_key="e", trial_id="e", n=20, events=5, drug="arketamine"),
    ])
    leads = pd.DataFrame([
        {**_row(study_key="b", trial_id="b", n=30, events=15), "numbers_read": "primary"},
        {**_row(study_key="f", trial_id="f"), "n": np.nan, "events": np.nan, "numbers_read": "not_read"},
        {**_row(study_key="g", trial_id="g", n=47, events=30), "numbers_read": "secondary"},
    ])
    return review.candidate_table(verified, leads)


def test_protocol_rules_and_reasons(monkeypatch):
    monkeypatch.setitem(review.OVERLAPS, "pooled", ("a",))
    screened = review.screen(_candidates())
    decision = {(row.trial_id, row.origin, row.arm): (row.decision, row.reason) for row in screened.itertuples()}
    assert decision[("a", "verified", "ketamine 28 mg")] == ("included", "")
    assert decision[("c", "verified", "ketamine")][1] == "response definition not reported as a reduction of at least 50%"
    assert decision[("d", "verified", "ketamine")][1] == "population: MDD, not restricted to TRD"
    assert decision[("e", "verified", "ketamine")][1].startswith("intervention: arketamine")
    assert decision[("pooled", "verified", "ketamine")][1].startswith("pooled re-analysis of trials already included")
    assert decision[("b", "lead", "ketamine")] == ("excluded", "duplicate of a verified row of the same trial")
    assert decision[("f", "lead", "ketamine")] == ("awaiting verification",
                                                   "counts not read in any source (full text needed)")
    assert decision[("g", "lead", "ketamine")] == ("awaiting verification", "counts read only in a secondary source")
    counts = review.prisma_counts(screened)
    assert counts["considered"] == counts["included_trials"] + counts["excluded"] + counts["awaiting"] == 8
    assert counts["included_trials"] == 2 and counts["included_arms"] == 4  # a (3 arms) and b
    assert counts["awaiting"] == 2 and counts["excluded"] == 4


def test_strata_nest_arms_in_trials_and_risk_ratios_match_escalc():
    screened = review.screen(_candidates())
    included = screened[screened["decision"] == "included"]
    strata = review.pool_strata(included, "response")
    row = strata.iloc[0]
    assert (row["k_trials"], row["k_arms"], row["n_total"]) == (3, 4, 110)
    nested = pool_proportions([8, 12, 15, 20], [20, 20, 30, 40], cluster=["a", "a", "b", "pooled"])
    assert row["proportion"] == pytest.approx(nested["proportion"]) and row["sigma2"] == pytest.approx(nested["sigma2"])
    ratios = review.risk_ratios(included, "response")
    # metafor escalc("RR"): log((8/20)/(2/20)), v = 1/8 - 1/20 + 1/2 - 1/20
    assert ratios.loc[0, "yi"] == pytest.approx(np.log(4.0)) and ratios.loc[0, "vi"] == pytest.approx(0.525)
    pooled = review.pool_risk_ratios(ratios)
    fit = random_effects(ratios["yi"], ratios["vi"], cluster=ratios["trial_id"])
    assert pooled.loc[0, "rr"] == pytest.approx(np.exp(fit["estimate"]))


def test_route_comparison_reports_a_confounded_design():
    rows = pd.DataFrame([_row(study_key=f"s{i}", trial_id=f"s{i}", route=route, drug=drug, n=40, events=events)
                         for i, (route, drug, events) in enumerate([("IV", "ketamine", 20), ("IV", "ketamine", 24),
                                                                    ("intranasal", "esketamine", 14),
                                                                    ("intranasal", "esketamine", 16)])])
    result = review.route_comparison(rows)  # route and drug coincide exactly
    assert result["identifiable"] is False and "confounded" in result["reason"]


def test_participant_level_rows_from_the_crossover_payload():
    payload = {"counts": {"response": {"ketamine_day2": {"events": 6, "n": 27}, "placebo_day2": {"events": 1, "n": 26}},
                          "remission": {"ketamine_day2": {"events": 4, "n": 27}, "placebo_day2": {"events": 0, "n": 26}}}}
    rows = review.participant_level_rows(payload)
    assert len(rows) == 4 and set(rows["timepoint_class"]) == {"single_dose_2_7d"}
    assert rows.set_index(["outcome", "arm_role"]).loc[("response", "experimental"), "events"] == 6


BAD = {
    "conflicting timepoints": ([dict(study_key="x1", trial_id="x"), dict(study_key="x2", trial_id="x", arm="84 mg",
                                                                         timepoint_class="end_of_course")],
                               "timepoint_class", "conflicting timepoint_class"),
    "conflicting designs": ([dict(study_key="x1", trial_id="x"), dict(study_key="x2", trial_id="x", arm="84 mg",
                                                                      design="open-label")], "design",
                            "conflicting design"),
    "unknown timepoint class": ([dict(timepoint_class="24h")], "timepoint_class", "unknown value '24h'"),
    "PMID not a number": ([dict(pmid="PMC123")], "pmid", "does not look right"),
    "control drug in an experimental arm": ([dict(drug="saline")], "drug", "'saline' in a experimental arm"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_literature_rows_are_named(tmp_path, case):
    overrides, column, message = BAD[case]
    path = write_literature(tmp_path / "studies.csv", [literature_row(**item) for item in overrides])
    with pytest.raises(DataValidationError) as caught:
        read_literature(path)
    text = str(caught.value)
    assert str(path) in text and f"column '{column}'" in text and message in text and "row " in text


def test_bad_risk_of_bias_judgement_is_named(tmp_path):
    path = tmp_path / "risk_of_bias.csv"
    path.write_text("trial_id,tool,domain,judgement,reason,source\n"
                    "a,RoB 2,D1 randomization,unclear,not reported,x\n"
                    "a,RoB 2,overall,low,all low,x\n", encoding="utf-8")
    with pytest.raises(DataValidationError) as caught:
        read_risk_of_bias(path)
    text = str(caught.value)
    assert "row 1 (line 2)" in text and "column 'judgement'" in text and "unknown value 'unclear'" in text


def test_committed_review_tables_load():
    folder = ROOT / "data" / "literature"
    verified = read_literature(folder / "studies.csv")
    leads = read_leads(folder / "to_verify.csv")
    rob = read_risk_of_bias(folder / "risk_of_bias.csv")
    screened = review.screen(review.candidate_table(verified, leads))
    included_trials = set(screened.loc[screened["decision"] == "included", "trial_id"])
    assert included_trials <= set(rob["trial_id"]), "every included trial has a risk-of-bias judgement"
