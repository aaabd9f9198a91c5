"""analysis.stats.meta against R's metafor.

Reference values are metafor's printed output for its documented examples (the R calls are
in the comments), to the 4 significant digits metafor prints.
"""
import numpy as np
import pytest

from analysis import pool_proportions, random_effects
from analysis.stats.meta import back_transform, egger_test, escalc_proportions, leave_one_out, subgroup_analysis

# dat.bcg (Colditz et al. 1994), as printed by metafor's help page ?dat.bcg
BCG_TPOS = [4, 6, 3, 62, 33, 180, 8, 505, 29, 17, 186, 5, 27]
BCG_TNEG = [119, 300, 228, 13536, 5036, 1361, 2537, 87886, 7470, 1699, 50448, 2493, 16886]
BCG_CPOS = [11, 29, 11, 248, 47, 372, 10, 499, 45, 65, 141, 3, 29]
BCG_CNEG = [128, 274, 209, 12619, 5761, 1079, 619, 87892, 7232, 1600, 27197, 2338, 17825]


@pytest.fixture
def bcg():
    # dat <- escalc(measure="RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)
    a, b, c, d = (np.array(x, dtype=float) for x in (BCG_TPOS, BCG_TNEG, BCG_CPOS, BCG_CNEG))
    yi = np.log((a / (a + b)) / (c / (c + d)))
    vi = 1 / a - 1 / (a + b) + 1 / c - 1 / (c + d)
    return yi, vi


def sig4(value):
    return float(f"{value:.4g}")


def test_reml_matches_metafor_bcg(bcg):
    # rma(yi, vi, data=dat)  -> estimate -0.7145, se 0.1798, ci -1.0669 to -0.3622,
    # tau^2 0.3132, I^2 92.22%, Q(df = 12) = 152.2330; predict(): pi -1.8667 to 0.4376
    fit = random_effects(*bcg)
    assert sig4(fit["estimate"]) == -0.7145
    assert sig4(fit["se"]) == 0.1798
    assert round(fit["ci_low"], 4) == -1.0669
    assert round(fit["ci_high"], 4) == -0.3622
    assert sig4(fit["tau2"]) == 0.3132
    assert round(fit["i2"], 2) == 92.22
    assert round(fit["q"], 4) == 152.2330
    assert round(fit["pi_low"], 4) == -1.8667
    assert round(fit["pi_high"], 4) == 0.4376
    assert fit["k"] == 13


def test_dl_matches_metafor_bcg(bcg):
    # rma(yi, vi, data=dat, method="DL") -> estimate -0.7141, se 0.1787, tau^2 0.3088, I^2 92.12%
    fit = random_effects(*bcg, method="DL")
    assert sig4(fit["estimate"]) == -0.7141
    assert sig4(fit["se"]) == 0.1787
    assert sig4(fit["tau2"]) == 0.3088
    assert round(fit["i2"], 2) == 92.12


def test_knha_matches_metafor_bcg(bcg):
    # rma(yi, vi, data=dat, test="knha") -> se 0.1808, t(12) = -3.9522, ci -1.1084 to -0.3206
    fit = random_effects(*bcg, test="knha")
    assert sig4(fit["se"]) == 0.1808
    assert round(fit["z"], 4) == -3.9522
    assert round(fit["ci_low"], 4) == -1.1084
    assert round(fit["ci_high"], 4) == -0.3206


def test_dl_tau2_is_clipped_at_zero():
    # homogeneous studies: Q < k - 1, the DL moment estimate would be negative
    fit = random_effects([0.10, 0.11, 0.09, 0.10], [0.04, 0.05, 0.04, 0.06], method="DL")
    assert fit["tau2"] == 0.0
    assert fit["i2"] == 0.0
    fixed = random_effects([0.10, 0.11, 0.09, 0.10], [0.04, 0.05, 0.04, 0.06], method="REML")
    assert fixed["tau2"] == 0.0
    assert fit["se"] == pytest.approx(fixed["se"])


def test_reml_maximizes_restricted_likelihood(bcg):
    yi, vi = bcg
    fit = random_effects(yi, vi)

    def restricted_loglik(tau2):
        w = 1 / (vi + tau2)
        mu = np.sum(w * yi) / np.sum(w)
        return -0.5 * (np.sum(np.log(vi + tau2)) + np.log(np.sum(w)) + np.sum(w * (yi - mu) ** 2))

    best = restricted_loglik(fit["tau2"])
    for delta in (-1e-3, 1e-3):
        assert restricted_loglik(fit["tau2"] + delta) < best


def test_logit_escalc_and_continuity_correction():
    # escalc(measure="PLO", xi=c(8, 0, 20), ni=c(18, 20, 20)): 0.5 added only where 0% or 100%
    yi, vi = escalc_proportions([8, 0, 20], [18, 20, 20])
    assert yi[0] == pytest.approx(np.log(8 / 10))
    assert vi[0] == pytest.approx(1 / 8 + 1 / 10)
    assert yi[1] == pytest.approx(np.log(0.5 / 20.5))
    assert yi[2] == pytest.approx(np.log(20.5 / 0.5))


def test_freeman_tukey_round_trip():
    # transf.ipft(transf.pft(p, n), n) == p for a single study
    for events, total in ((8, 18), (15, 42), (52, 99), (0, 12), (30, 30)):
        yi, _ = escalc_proportions([events], [total], transform="freeman-tukey")
        back = back_transform(yi, transform="freeman-tukey", totals=[total])
        assert float(back[0]) == pytest.approx(events / total, abs=1e-9)


def test_pool_proportions_logit_back_transforms_random_effects():
    events, totals = [8, 15, 22, 52], [18, 42, 34, 99]
    out = pool_proportions(events, totals)
    yi, vi = escalc_proportions(events, totals)
    fit = random_effects(yi, vi)
    assert out["estimate"] == fit["estimate"]
    assert out["proportion"] == pytest.approx(1 / (1 + np.exp(-fit["estimate"])))
    assert out["ci_low"] < out["proportion"] < out["ci_high"]
    assert out["pi_low"] <= out["ci_low"] and out["pi_high"] >= out["ci_high"]
    for key in ("proportion", "ci_low", "ci_high", "pi_low", "pi_high", "estimate", "se", "tau2", "i2", "q", "k"):
        assert key in out


def test_single_study_pools_to_itself():
    out = pool_proportions([8], [18])
    assert out["proportion"] == pytest.approx(8 / 18)
    assert out["tau2"] == 0.0 and out["k"] == 1


@pytest.mark.parametrize("events,totals,message", [
    ([5, 30], [20, 20], "events <= totals"),
    ([-1], [20], "events <= totals"),
    ([1], [0], "totals > 0"),
])
def test_bad_counts_raise(events, totals, message):
    with pytest.raises(ValueError, match=message):
        pool_proportions(events, totals)


def test_unknown_method_and_transform_raise():
    with pytest.raises(ValueError, match="method"):
        random_effects([0.1, 0.2], [0.01, 0.02], method="ML")
    with pytest.raises(ValueError, match="transform"):
        pool_proportions([1, 2], [10, 10], transform="probit")


def test_leave_one_out_and_subgroups():
    import pandas as pd

    table = pd.DataFrame({"events": [8, 15, 22, 52, 30], "n": [18, 42, 34, 99, 40],
                          "route": ["intranasal", "IV", "IV", "IV", "intranasal"]})
    loo = leave_one_out(table["events"], table["n"], list("abcde"))
    assert list(loo["k"]) == [4] * 5
    assert list(loo["omitted"]) == list("abcde")
    per_group, test = subgroup_analysis(table, "route")
    assert set(per_group["subgroup"]) == {"IV", "intranasal"}
    assert test["df"] == 1 and 0 <= test["p"] <= 1


def test_egger_detects_planted_asymmetry():
    # small studies with systematically larger effects -> positive intercept
    rng = np.random.default_rng(1)
    se = np.linspace(0.05, 0.6, 25)
    yi = 0.2 + 2.0 * se + rng.normal(0, 0.01, se.size)
    result = egger_test(yi, se**2)
    assert result["intercept"] > 1.5 and result["p"] < 0.001
    symmetric = egger_test(0.2 + rng.normal(0, 1, se.size) * se, se**2)
    assert symmetric["p"] > 0.01


# dat.nielweise2007 (Niel-Weise et al. 2007; metadat data-raw/dat.nielweise2007.txt):
# ci/n2i = catheter infections in the control arms, ai/n1i = in the treated arms.
NIELWEISE_CI = [3, 3, 9, 7, 6, 4, 3, 2, 19, 2, 7, 1, 5, 11, 0, 1, 3, 1]
NIELWEISE_N2I = [117, 35, 195, 136, 157, 139, 177, 39, 103, 122, 64, 58, 175, 180, 105, 262, 362, 69]
NIELWEISE_AI = [0, 1, 2, 0, 5, 1, 1, 1, 1, 1, 0, 0, 3, 6, 0, 0, 1, 4]
NIELWEISE_N1I = [116, 44, 208, 130, 151, 98, 174, 74, 97, 113, 66, 70, 188, 187, 118, 252, 345, 64]


@pytest.mark.parametrize("events, totals, expected", [
    # res <- rma(measure="PLO", xi=ci, ni=n2i, data=dat.nielweise2007)
    # predict(res, transf=transf.ilogit)   (metafor tests/testthat/test_analysis_example_stijnen2010.r;
    # Stijnen, Hamza & Ozdemir 2010, Stat Med, Table II)
    (NIELWEISE_CI, NIELWEISE_N2I, dict(estimate=-3.3018, se=0.2378, tau2=0.6629,
                                       proportion=0.0355, ci_low=0.0226, ci_high=0.0554)),
    # res <- rma(measure="PLO", xi=ai, ni=n1i, data=dat.nielweise2007)
    (NIELWEISE_AI, NIELWEISE_N1I, dict(estimate=-4.2604, se=0.2589, tau2=0.3928,
                                       proportion=0.0139, ci_low=0.0084, ci_high=0.0229)),
])
def test_pool_proportions_logit_matches_metafor_stijnen2010(events, totals, expected):
    # includes studies with 0 events, so metafor's add=1/2, to="only0" correction is exercised
    out = pool_proportions(events, totals, method="REML", transform="logit")
    for key, value in expected.items():
        # metafor prints 4 decimals: agreement to rounding (half a unit in the 4th decimal)
        assert out[key] == pytest.approx(value, abs=5.01e-5), key


def test_freeman_tukey_matches_metafor_miller1978():
    # dat <- data.frame(xi=c(3, 6, 10, 1), ni=c(11, 17, 21, 6))
    # escalc(measure="PFT", ...): yi*2 and vi*4 as on page 138 of Miller (1978)
    # (metafor tests/testthat/test_analysis_example_miller1978.r)
    events, totals = [3, 6, 10, 1], [11, 17, 21, 6]
    yi, vi = escalc_proportions(events, totals, transform="freeman-tukey")
    np.testing.assert_allclose(yi * 2, [1.1391, 1.2888, 1.5253, 0.9515], atol=5.01e-5)
    np.testing.assert_allclose(vi * 4, [0.0870, 0.0571, 0.0465, 0.1538], atol=5.01e-5)
    # rma(yi, vi, method="EE"); predict(res, transf=transf.ipft.hm, targs=list(ni=dat$ni)) -> 0.3595
    out = pool_proportions(events, totals, method="EE", transform="freeman-tukey")
    assert out["estimate"] * 2 == pytest.approx(1.3093, abs=5.01e-5)
    assert out["proportion"] == pytest.approx(0.3595, abs=5.01e-5)


def test_freeman_tukey_back_transform_matches_metafor_with_0_and_100_percent():
    # dat <- data.frame(xi=c(0, 4, 9, 16, 20), ni=c(10, 10, 15, 20, 20))
    # res <- rma(yi, vi, method="EE", data=escalc(measure="PFT", xi=xi, ni=ni, data=dat, add=0))
    # predict(res, transf=transf.ipft.hm, targs=list(ni=dat$ni)) -> 0.6886 [0.5734, 0.7943]
    out = pool_proportions([0, 4, 9, 16, 20], [10, 10, 15, 20, 20], method="EE", transform="freeman-tukey")
    assert out["tau2"] == 0.0
    assert (out["proportion"], out["ci_low"], out["ci_high"]) == pytest.approx((0.6886, 0.5734, 0.7943), abs=5.01e-5)


# --- three-level model (arms nested in trials) against metafor's printed output -------------------
import json

import pandas as pd
from scipy import stats
from pathlib import Path

REFERENCE = Path(__file__).resolve().parents[1] / "reference"


@pytest.fixture(scope="module")
def konstantopoulos():
    return pd.read_csv(REFERENCE / "konstantopoulos2011.csv")


def test_three_level_matches_metafor_konstantopoulos2011(konstantopoulos):
    """rma.mv(yi, vi, random = ~ 1 | district/school, data = dat.konstantopoulos2011), metafor 5.1-12."""
    reference = json.loads((REFERENCE / "konstantopoulos2011_reference.json").read_text())
    pinned = reference["rma_mv_REML_district_school"]["printed_4dp"]
    fit = random_effects(konstantopoulos["yi"], konstantopoulos["vi"], cluster=konstantopoulos["district"])
    assert round(fit["estimate"], 4) == pinned["estimate"]
    assert round(fit["se"], 4) == pinned["se"]
    assert round(fit["z"], 4) == pinned["zval"]
    assert round(fit["p"], 4) == pinned["pval"]
    assert round(fit["ci_low"], 4) == pinned["ci.lb"] and round(fit["ci_high"], 4) == pinned["ci.ub"]
    assert [round(value, 4) for value in fit["sigma2"]] == pinned["sigma2"]
    assert round(fit["q"], 3) == pinned["QE"] and fit["k"] - 1 == pinned["QE_df"]
    assert fit["tau2"] == pytest.approx(sum(fit["sigma2"]))
    assert fit["n_clusters"] == 11
    # prediction interval as metafor's predict.rma.mv: estimate +- z * sqrt(se^2 + sum(sigma2))
    half = 1.959963984540054 * np.sqrt(fit["se"] ** 2 + fit["tau2"])
    assert fit["pi_low"] == pytest.approx(fit["estimate"] - half) and fit["pi_high"] == pytest.approx(fit["estimate"] + half)


def test_two_level_on_konstantopoulos2011_matches_metafor(konstantopoulos):
    fit = random_effects(konstantopoulos["yi"], konstantopoulos["vi"])
    assert round(fit["estimate"], 4) == 0.1279 and round(fit["se"], 4) == 0.0439 and round(fit["tau2"], 4) == 0.0884
    assert round(fit["i2"], 2) == 94.70  # printed "I^2 (total heterogeneity / total variability): 94.70%"


def test_one_arm_per_cluster_reduces_to_the_two_level_model(konstantopoulos):
    yi, vi = konstantopoulos["yi"], konstantopoulos["vi"]
    two = random_effects(yi, vi)
    three = random_effects(yi, vi, cluster=np.arange(len(yi)))
    assert three["tau2"] == pytest.approx(two["tau2"], rel=1e-6)
    assert three["estimate"] == pytest.approx(two["estimate"], rel=1e-6)
    assert three["i2"] == pytest.approx(two["i2"], rel=1e-6)


def test_adhoc_never_narrows_and_knha_can(konstantopoulos):
    yi, vi = np.array([0.1, 0.12, 0.11, 0.13]), np.array([0.05, 0.06, 0.04, 0.05])  # homogeneous: KH factor < 1
    z, knha, adhoc = (random_effects(yi, vi, test=test) for test in ("z", "knha", "adhoc"))
    assert knha["se"] < z["se"] and adhoc["se"] == pytest.approx(z["se"])
    assert adhoc["ci_high"] - adhoc["ci_low"] > z["ci_high"] - z["ci_low"]  # t quantile on k-1 df
    # prediction interval with a t distribution on k-1 df (metafor's predict with test="knha")
    from scipy import stats

    crit = stats.t.ppf(0.975, 3)
    assert knha["pi_high"] == pytest.approx(knha["estimate"] + crit * np.sqrt(knha["se"] ** 2 + knha["tau2"]))


def test_meta_regression_intercept_only_is_the_random_effects_model(konstantopoulos):
    from analysis.stats.meta import meta_regression

    yi, vi = konstantopoulos["yi"], konstantopoulos["vi"]
    frame = meta_regression(yi, vi, np.ones((len(yi), 1)), names=["intercept"], cluster=konstantopoulos["district"])
    fit = random_effects(yi, vi, cluster=konstantopoulos["district"])
    assert frame.loc[0, "estimate"] == pytest.approx(fit["estimate"], rel=1e-6)
    assert frame.attrs["sigma2"] == pytest.approx(fit["sigma2"], rel=1e-5)
    with pytest.raises(ValueError, match="confounded"):
        meta_regression(yi, vi, np.column_stack([np.ones(len(yi)), np.ones(len(yi))]), names=["a", "b"])


def test_glmm_against_direct_integration():
    """The binomial-normal likelihood by quadrature equals scipy's adaptive integration, and with
    no heterogeneity the pooled proportion is the pooled events over the pooled n."""
    from scipy import integrate
    from scipy.special import expit

    from analysis.stats.meta import glmm_proportions

    events, totals = np.array([8, 15, 22, 5, 30]), np.array([18, 42, 34, 30, 50])
    fit = glmm_proportions(events, totals)
    mu, tau = fit["estimate"], np.sqrt(fit["tau2"])
    direct = 0.0
    for x, n in zip(events, totals):
        value, _ = integrate.quad(lambda u: stats.binom.pmf(x, n, expit(mu + u)) * stats.norm.pdf(u, 0, tau),
                                  -12 * tau, 12 * tau, epsabs=1e-14)
        direct += np.log(value)
    assert fit["loglik"] == pytest.approx(direct, rel=1e-8)
    same = glmm_proportions([10, 20, 30], [50, 100, 150])
    assert same["proportion"] == pytest.approx(60 / 300, abs=1e-4) and same["tau2"] < 1e-3
