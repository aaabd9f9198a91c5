"""The response-rates analysis on a small table with known answers."""
import pytest

from analysis import pool_proportions
from analysis.io import read_literature
from analysis.claims.response_rates import (analyse_outcome, assess_claims, heterogeneity_word, route_difference,
                                            source_checks, study_table)

from ..conftest import literature_row, write_literature


@pytest.fixture
def table(tmp_path):
    rows = [
        literature_row(study_key="a2019", first_author="A", year=2019, n=20, events=14, reported_percent=70),
        literature_row(study_key="b2019", first_author="B", year=2019, n=40, events=26, reported_percent=65),
        literature_row(study_key="c2020", first_author="C", year=2020, n=30, events=21, reported_percent=70),
        literature_row(study_key="d2021", first_author="D", year=2021, n=50, events=20, reported_percent=40,
                       route="intranasal", drug="esketamine", timepoint_class="end_of_course"),
        literature_row(study_key="e2022", first_author="E", year=2022, n=60, events=27, reported_percent=45,
                       route="intranasal", drug="esketamine", timepoint_class="end_of_course"),
        literature_row(study_key="a2019", first_author="A", year=2019, n=20, events=6, reported_percent=30,
                       outcome="remission"),
        literature_row(study_key="d2021", first_author="D", year=2021, n=50, events=15, reported_percent=30,
                       outcome="remission", route="intranasal", drug="esketamine"),
    ]
    return read_literature(write_literature(tmp_path / "studies.csv", rows))


def test_study_table_weights_and_labels(table):
    studies = study_table(table, "response")
    assert len(studies) == 5
    assert studies["weight"].sum() == pytest.approx(100)
    assert (studies["ci_low"] < studies["proportion"]).all() and (studies["proportion"] < studies["ci_high"]).all()
    assert studies.loc[0, "label"].startswith("A 2019")


def test_analyse_outcome_matches_direct_pooling(table):
    result = analyse_outcome(table, "response")
    direct = pool_proportions([14, 26, 21, 20, 27], [20, 40, 30, 50, 60])
    assert result["fit"]["proportion"] == pytest.approx(direct["proportion"])
    routes = result["subgroups"][result["subgroups"]["analysis"] == "Route"].set_index("subgroup")
    assert routes.loc["IV", "proportion"] == pytest.approx(pool_proportions([14, 26, 21], [20, 40, 30])["proportion"])
    assert len(result["leave_one_out"]) == 5
    assert result["egger"]["k"] == 5


def test_route_difference_and_verdicts(table):
    from analysis.claims import registry_entry

    response = analyse_outcome(table, "response")
    remission = analyse_outcome(table, "remission")
    routes = route_difference(response)
    assert routes["difference"] > 0.2 and routes["p"] < 0.05
    assert routes["ci_low"] < routes["difference"] < routes["ci_high"]
    # the delta-method SE reproduces the subgroup CIs' widths
    assert routes["ci_high"] - routes["ci_low"] == pytest.approx(2 * 1.959964 * routes["se"])
    entry = registry_entry("response-rates")
    checks = {"response_nimh": "traceable", "remission_nimh": "traceable", "response_range": "misattributed"}
    assessment = assess_claims(entry, response, remission, routes, checks)
    by_key = {item["key"]: item for item in assessment["subclaims"]}
    assert by_key["iv_vs_intranasal"]["verdict"] == "reproduced"  # CI above 0
    assert by_key["iv_vs_intranasal"]["source_check"] is None
    assert by_key["response_range"]["source_check"] == "misattributed"
    assert assessment["source_check"] == "misattributed"  # the most serious check is kept visible
    assert all(item["data"] == "real" and item["rule"] and item["basis"] for item in assessment["subclaims"])
    assert assessment["verdict"] in ("reproduced", "partly reproduced", "not reproduced", "inconclusive")


def test_source_checks_from_provenance():
    assert source_checks([{"keys": ["a", "b"], "source_check": "traceable"}]) == {"a": "traceable", "b": "traceable"}
    with pytest.raises(ValueError, match="source_check must be one of"):
        source_checks([{"claim": "x", "keys": ["a"], "source_check": "yes"}])


@pytest.mark.parametrize("i2,word", [(0, "low"), (26, "low"), (30, "moderate"), (55, "substantial"), (80, "considerable")])
def test_heterogeneity_word(i2, word):
    assert heterogeneity_word(i2) == word


def test_missing_outcome_is_an_error(table):
    with pytest.raises(ValueError, match="no rows with outcome 'relapse'"):
        study_table(table, "relapse")
