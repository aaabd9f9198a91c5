"""The response-rates verdicts on small tables with known answers."""
import numpy as np
import pandas as pd
import pytest

from analysis.claims import registry_entry, review
from analysis.claims.response_rates import assess_claims, heterogeneity_word, source_checks


def _strata(proportion=None, low=None, high=None):
    rows = []
    if proportion is not None:
        rows.append({"drug": "ketamine", "route": "IV", "timepoint_class": "single_dose_24h", "k_trials": 3,
                     "k_arms": 3, "n_total": 120, "proportion": proportion, "ci_low": low, "ci_high": high})
    rows.append({"drug": "ketamine", "route": "IV", "timepoint_class": "single_dose_2_7d", "k_trials": 2,
                 "k_arms": 2, "n_total": 69, "proportion": 0.30, "ci_low": 0.19, "ci_high": 0.45})
    return pd.DataFrame(rows)


ROUTE = {"identifiable": True, "odds_ratio": 2.0, "ci_low": 1.2, "ci_high": 3.3, "log_ci_low": np.log(1.2),
         "log_ci_high": np.log(3.3), "k_trials": 6, "k_iv": 3, "k_intranasal": 3, "k_arms": 7}
CHECKS = {"response_nimh": "traceable", "remission_nimh": "traceable", "response_range": "misattributed"}


def test_each_number_is_judged_on_its_stratum():
    entry = registry_entry("response-rates")
    strata = {"response": _strata(0.70, 0.63, 0.78), "remission": _strata(0.10, 0.05, 0.16)}
    assessment = assess_claims(entry, strata, ROUTE, CHECKS)
    by_key = {item["key"]: item for item in assessment["subclaims"]}
    assert by_key["response_nimh"]["verdict"] == "reproduced"  # 63-78% inside 60-80%
    assert by_key["remission_nimh"]["verdict"] == "not reproduced"  # 5-16% entirely below 20%
    assert by_key["response_range"]["verdict"] == "partly reproduced"  # crosses 75%
    assert by_key["iv_vs_intranasal"]["verdict"] == "reproduced"  # odds ratio CI above 1
    assert "3 trials (3 arms), n = 120" in by_key["response_nimh"]["basis"]
    assert by_key["response_nimh"]["beside"]["proportion"] == pytest.approx(0.30)
    assert assessment["source_check"] == "misattributed"  # the most serious check is kept visible
    assert all(item["data"] == "real" and item["rule"] for item in assessment["subclaims"])


def test_an_empty_stratum_is_inconclusive_and_says_so():
    entry = registry_entry("response-rates")
    strata = {"response": _strata(), "remission": _strata()}
    route = {**ROUTE, "log_ci_low": np.log(0.9), "log_ci_high": np.log(1.2), "ci_low": 0.9, "ci_high": 1.2}
    assessment = assess_claims(entry, strata, route, CHECKS)
    by_key = {item["key"]: item for item in assessment["subclaims"]}
    assert by_key["response_nimh"]["verdict"] == "inconclusive"
    assert "no included trial" in by_key["response_nimh"]["basis"] and by_key["response_nimh"]["estimate"] is None
    assert by_key["iv_vs_intranasal"]["verdict"] == "not reproduced"  # CI inside 1/1.5 to 1.5


def test_source_checks_from_provenance():
    assert source_checks([{"keys": ["a", "b"], "source_check": "traceable"}]) == {"a": "traceable", "b": "traceable"}
    with pytest.raises(ValueError, match="source_check must be one of"):
        source_checks([{"claim": "x", "keys": ["a"], "source_check": "yes"}])


@pytest.mark.parametrize("i2,word", [(0, "low"), (26, "low"), (30, "moderate"), (55, "substantial"), (80, "considerable")])
def test_heterogeneity_word(i2, word):
    assert heterogeneity_word(i2) == word
