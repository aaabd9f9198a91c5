"""Claims registry and the generated scoreboard."""
import json
import re

import pytest

from analysis.claims import load_registry, registry_entry, scoreboard_markdown
from analysis.claims.scoreboard import format_estimate, verdict_badge
from analysis.results import write_results


def test_registry_has_the_three_claims_each_number_with_its_rule():
    registry = load_registry()
    assert [entry["id"] for entry in registry] == ["response-rates", "nimh-crossover", "dti-neuroplasticity",
                                                  "fmri-prediction"]
    for entry in registry:
        assert entry["rules_stated"]["after_results"] is bool(entry["published"])  # the pages say so
        assert all(len(item["rule"]) > 80 for item in entry["published"])
    margins = {item["key"]: item.get("margin") for item in registry_entry("response-rates")["published"]}
    assert margins["response_nimh"] == 0.10
    rule = next(item["rule"] for item in registry_entry("response-rates")["published"] if item["key"] == "response_nimh")
    assert "10 percentage points" in rule and "60-80%" in rule


def _entry(**overrides):
    entry = {"id": "x", "title": "t", "claim": "c", "source": "s", "reproduced_means": "r", "notebook": None,
             "chapter": None, "rules_stated": {"date": "2026-12-02", "after_results": True},
             "published": [{"key": "a", "label": "A", "text": "1", "rule": "a rule"}]}
    return entry | overrides


def test_registry_rejects_duplicates_and_missing_rules(tmp_path):
    path = tmp_path / "claims.yaml"
    path.write_text(json.dumps([_entry(), _entry()]), encoding="utf-8")
    with pytest.raises(ValueError, match="duplicate id 'x'"):
        load_registry(path)
    path.write_text(json.dumps([_entry(published=[{"key": "a", "label": "A", "text": "1"}])]), encoding="utf-8")
    with pytest.raises(ValueError, match=r"published item 1 \(a\): missing field\(s\) \['rule'\]"):
        load_registry(path)
    with pytest.raises(ValueError, match="no claim 'y'"):
        path.write_text(json.dumps([_entry()]), encoding="utf-8")
        registry_entry("y", path)


def test_scoreboard_never_shows_numbers_for_unanalysed_claims(tmp_path):
    page = scoreboard_markdown(load_registry(), tmp_path)  # no results at all
    assert page.count("not yet analysed") >= 3 * 2 + 1
    assert not re.search(r"\d+\.\d%", page)


def test_scoreboard_shows_badges_estimates_and_rules(tmp_path):
    registry = load_registry()
    write_results(tmp_path / "response-rates.json", {
        "verdict": "partly reproduced", "data": "real", "source_check": "misattributed",
        "subclaims": [{"label": "Response", "published": "~70%", "estimate": 0.5, "ci_low": 0.45, "ci_high": 0.55,
                       "verdict": "not reproduced", "data": "real", "scale": "proportion",
                       "source_check": "traceable"}]})
    write_results(tmp_path / "dti-neuroplasticity.json", {
        "verdict": "not testable with public data", "data": "synthetic", "source_check": "traceable",
        "subclaims": [{"label": "L BA10", "published": "p = 0.016", "verdict": "not testable with public data",
                       "data": "synthetic", "source_check": "traceable", "basis": "b",
                       "detectable": {"power": 0.41, "false_positive_rate": 0.012, "n_simulations": 500}}]})
    page = scoreboard_markdown(registry, tmp_path)
    assert "50.0% (95% CI 45.0 to 55.0%)" in page
    assert "{bdg-danger}`not reproduced`" in page and "{bdg-warning}`partly reproduced`" in page
    assert "{bdg-danger-line}`source: misattributed`" in page
    assert "detects this 41% of the time when it is true and 1.2% of the time" in page
    assert "{doc}`Chapter </book/claims/response-rates>`" in page
    assert "after the numbers they judge had been seen" in page
    assert "|---" not in page  # tables are list-tables, never raw markdown


def test_format_estimate_and_badges():
    assert format_estimate({"data": "real", "scale": "difference", "estimate": 0.074, "ci_low": -0.063,
                            "ci_high": 0.211}) == "+7.4 points (95% CI -6.3 to +21.1)"
    with pytest.raises(ValueError, match="unknown verdict"):
        verdict_badge("partly")


def test_key_findings_box_has_one_line_per_chapter(tmp_path):
    from analysis.claims.scoreboard import key_findings_markdown

    registry = load_registry()
    write_results(tmp_path / "response-rates.json", {
        "verdict": "inconclusive", "data": "real", "source_check": "misattributed",
        "subclaims": [{"label": "Response", "published": "~70%", "estimate": 0.5, "ci_low": 0.45, "ci_high": 0.55,
                       "verdict": "inconclusive", "data": "real", "scale": "proportion", "source_check": "traceable"}]})
    write_results(tmp_path / "dti-neuroplasticity.json", {
        "verdict": "not testable with public data", "data": "synthetic", "source_check": "traceable",
        "subclaims": [{"label": "L BA10", "published": "p = 0.016", "verdict": "not testable with public data",
                       "data": "synthetic", "source_check": "traceable", "basis": "b",
                       "detectable": {"power": 0.41, "false_positive_rate": 0.012, "n_simulations": 500}}]})
    box = key_findings_markdown(registry, tmp_path)
    lines = [line for line in box.splitlines() if line.startswith("- ")]
    assert len(lines) == len(registry)
    assert "{bdg-muted}`inconclusive`" in lines[0] and "50.0% (95% CI 45.0 to 55.0%)" in lines[0]
    dti = next(line for line in lines if "dti-neuroplasticity" in line)
    assert "{bdg-dark-line}`synthetic data`" in dti and "the analysis detects this 41%" in dti
    assert "50.0%" not in dti  # a synthetic chapter never shows an estimate
    assert "not yet analysed" in next(line for line in lines if "fmri-prediction" in line)


def test_data_statement_says_what_each_imaging_chapter_ran_on(tmp_path):
    """The footer's and title page's sentence comes from the run's results files: one phrase when both
    imaging chapters ran on the same kind of data, one per chapter otherwise."""
    import json

    from analysis.claims import load_registry
    from analysis.claims.scoreboard import data_statement

    registry = load_registry()
    assert data_statement(registry, tmp_path) == ("The imaging chapters run on synthetic cohorts; the literature "
                                                  "chapters use published data.")
    (tmp_path / "dti-neuroplasticity.json").write_text(json.dumps({"data": "demonstration"}))
    assert data_statement(registry, tmp_path).startswith(
        "The DTI chapter runs on a demonstration (real images, invented scores), the fMRI chapter on a synthetic cohort;")
