"""The verdict vocabulary and its rules, at their boundaries."""
import pytest

from analysis.claims import verdicts as v


@pytest.mark.parametrize("low,high,expected", [
    (0.60, 0.80, "reproduced"),          # exactly the band
    (0.62, 0.71, "reproduced"),
    (0.55, 0.70, "partly reproduced"),   # crosses 60%, narrower than the band
    (0.81, 0.95, "not reproduced"),      # entirely above
    (0.40, 0.5999, "not reproduced"),    # entirely below, just
    (0.45, 0.70, "inconclusive"),        # wider than 20 points and overlapping
    (0.50, 0.95, "inconclusive"),
])
def test_judge_point(low, high, expected):
    assert v.judge_point(low, high, 0.70, 0.10) == expected


def test_judge_point_rewards_no_imprecision():
    """A wide CI containing the published value is not 'reproduced' (the old 'inside our CI' rule)."""
    assert v.judge_point(0.30, 0.95, 0.70, 0.10) == "inconclusive"


@pytest.mark.parametrize("low,high,expected", [(0.50, 0.75, "reproduced"), (0.45, 0.60, "partly reproduced"),
                                               (0.76, 0.90, "not reproduced"), (0.40, 0.80, "inconclusive")])
def test_judge_range(low, high, expected):
    assert v.judge_range(low, high, 0.50, 0.75) == expected


@pytest.mark.parametrize("low,high,expected", [(0.001, 0.30, "reproduced"), (-0.30, -0.001, "not reproduced"),
                                               (-0.10, 0.10, "not reproduced"), (-0.05, 0.25, "inconclusive"),
                                               (0.0, 0.25, "inconclusive")])
def test_judge_direction(low, high, expected):
    assert v.judge_direction(low, high, 0.10) == expected


@pytest.mark.parametrize("call", [lambda: v.judge_point(0.8, 0.6, 0.7, 0.1), lambda: v.judge_point(0.6, 0.8, 0.7, 0),
                                  lambda: v.judge_range(0.6, 0.7, 0.8, 0.5), lambda: v.judge_direction(float("nan"), 1, 0.1)])
def test_rules_reject_bad_intervals(call):
    with pytest.raises(ValueError):
        call()


def test_synthetic_subclaims_can_only_be_not_testable():
    common = dict(key="k", label="L", published="p", rule="a rule", basis="synthetic cohort of 98")
    assert v.subclaim(verdict=v.NOT_TESTABLE, data="synthetic", **common)["verdict"] == v.NOT_TESTABLE
    for verdict in v.DATA_VERDICTS:
        for data in ("synthetic", "demonstration"):
            with pytest.raises(ValueError, match=f"{data} data"):
                v.subclaim(verdict=verdict, data=data, **common)
    with pytest.raises(ValueError, match="data must be one of"):
        v.subclaim(verdict=v.NOT_TESTABLE, data="simulated", **common)
    with pytest.raises(ValueError, match="not one of"):
        v.subclaim(verdict="partly", data="real", **common)
    with pytest.raises(ValueError, match="source check"):
        v.subclaim(verdict=v.REPRODUCED, data="real", source_check="yes", **common)
    with pytest.raises(ValueError, match="needs a rule"):
        v.subclaim(verdict=v.REPRODUCED, data="real", **(common | {"rule": " "}))


@pytest.mark.parametrize("verdicts,expected", [
    (["reproduced", "reproduced"], "reproduced"),
    (["not reproduced"], "not reproduced"),
    (["inconclusive", "inconclusive"], "inconclusive"),
    (["reproduced", "not reproduced"], "partly reproduced"),
    (["reproduced", "inconclusive"], "partly reproduced"),
    ([v.NOT_TESTABLE, v.NOT_TESTABLE], v.NOT_TESTABLE),
    ([v.NOT_TESTABLE, "reproduced"], "reproduced"),
])
def test_overall_verdict(verdicts, expected):
    assert v.overall_verdict(verdicts) == expected


def test_overall_source_check_keeps_the_most_serious():
    assert v.overall_source_check([None, None]) is None
    assert v.overall_source_check(["traceable", "not traceable"]) == "not traceable"
    assert v.overall_source_check(["misattributed", "not traceable", "traceable"]) == "misattributed"
    with pytest.raises(ValueError):
        v.overall_source_check(["maybe"])
    with pytest.raises(ValueError):
        v.overall_verdict([])


def test_every_word_is_defined_once():
    assert set(v.DEFINITIONS) == set(v.VERDICTS) | set(v.SOURCE_CHECKS)
    assert len(set(v.VERDICTS)) == 5


def test_data_notice_says_synthetic_or_real():
    from analysis.claims.dti_neuroplasticity import data_notice as dti_notice
    from analysis.claims.fmri_prediction import data_notice as fmri_notice

    synthetic = {"Synthetic": True, "GeneratedBy": [{"Name": "gen", "Version": "1.0"}], "SimulationSeed": 7,
                 "TrueAccuracy": 0.7}
    assert dti_notice(synthetic, 98).startswith("**Synthetic data.** 98 participants *generated* by `gen` 1.0 from seed 7.")
    assert "not whether the published finding is true" in dti_notice(synthetic, 98)
    assert "best achievable accuracy is 70%" in fmri_notice(synthetic, 100)
    real = {"Name": "NIMH ketamine study"}
    assert dti_notice(real, 10) == fmri_notice(real, 10).replace("10", "10")  # the same words for real data
    assert dti_notice(real, 10).startswith("**Real data** (NIMH ketamine study, 10 participants)")


def test_data_kind_and_notice_of_a_demonstration():
    """Real images with invented scores: the notice says which part is real and that no verdict is
    given; synthetic wins over a demonstration flag (a generated cohort is never 'real images')."""
    from analysis.claims.dti_neuroplasticity import data_notice as dti_notice

    demo = {"Name": "Worked example", "Demonstration": "real diffusion images; invented clinical scores"}
    assert v.data_kind(demo) == "demonstration"
    assert v.data_kind({**demo, "Synthetic": True}) == "synthetic"
    assert v.data_kind({"Name": "x"}) == "real"
    notice = dti_notice(demo, 12)
    assert notice.startswith("**Demonstration: real images, invented scores.** Worked example, 12 participants: "
                             "real diffusion images; invented clinical scores.")
    assert "gives no verdict" in notice and "Synthetic" not in notice
