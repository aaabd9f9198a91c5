"""Claims registry, verdict rules and the generated scoreboard."""
import json

import pytest

from analysis.claims import (combine_verdicts, load_registry, scoreboard_markdown, verdict_direction,
                             verdict_point, verdict_range)
from analysis.results import write_results

FIT = {"ci_low": 0.45, "ci_high": 0.55, "pi_low": 0.30, "pi_high": 0.70}


@pytest.mark.parametrize("value,expected", [(0.50, "reproduced"), (0.45, "reproduced"), (0.65, "partly"),
                                            (0.75, "not reproduced"), (0.20, "not reproduced")])
def test_verdict_point(value, expected):
    assert verdict_point(value, FIT) == expected


@pytest.mark.parametrize("low,high,expected", [(0.40, 0.60, "reproduced"), (0.50, 0.75, "partly"),
                                               (0.60, 0.75, "not reproduced")])
def test_verdict_range(low, high, expected):
    assert verdict_range(low, high, FIT) == expected


def test_verdict_direction_and_combination():
    assert verdict_direction(0.1, 0.01) == "reproduced"
    assert verdict_direction(0.1, 0.3) == "partly"
    assert verdict_direction(-0.1, 0.01) == "not reproduced"
    assert combine_verdicts(["reproduced", "reproduced"]) == "reproduced"
    assert combine_verdicts(["reproduced", "not reproduced"]) == "partly"
    assert combine_verdicts(["not reproduced", "not traceable"]) == "not reproduced"
    assert combine_verdicts(["not traceable"]) == "not traceable"


def test_registry_has_the_three_claims():
    registry = load_registry()
    assert [entry["id"] for entry in registry] == ["response-rates", "dti-neuroplasticity", "fmri-prediction"]


def test_registry_rejects_duplicates(tmp_path):
    path = tmp_path / "claims.yaml"
    entry = {"id": "x", "title": "t", "claim": "c", "source": "s", "published": [], "reproduced_means": "r",
             "notebook": None, "chapter": None}
    path.write_text(json.dumps([entry, entry]), encoding="utf-8")
    with pytest.raises(ValueError, match="duplicate id 'x'"):
        load_registry(path)


def test_scoreboard_never_shows_numbers_for_unanalysed_claims(tmp_path):
    registry = load_registry()
    page = scoreboard_markdown(registry, tmp_path)  # no results at all
    assert page.count("not yet analysed") >= 3 * 2
    import re

    assert not re.search(r"\d+\.\d%", page)  # reproduced estimates are printed as 12.3%


def test_scoreboard_shows_results(tmp_path):
    registry = load_registry()
    write_results(tmp_path / "response-rates.json", {
        "verdict": "partly",
        "subclaims": [{"label": "Response", "published": "~70%", "estimate": 0.5, "ci_low": 0.45,
                       "ci_high": 0.55, "verdict": "not reproduced", "scale": "proportion"}]})
    page = scoreboard_markdown(registry, tmp_path)
    assert "50.0% (45.0-55.0%)" in page
    assert "overall: partly" in page
    assert "{doc}`/book/claims/response-rates`" in page
