"""Crossover statistics against trusted references: pingouin's paired and two-sample t tests
(balanced designs, where Satterthwaite's degrees of freedom are known exactly) and statsmodels'
GLS with a known covariance (the fixed effects' model-based covariance)."""
import numpy as np
import pandas as pd
import pingouin as pg
import pytest
import statsmodels.api as sm

from analysis.stats import crossover


def _crossover(n=20, seed=1, drop=0):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        level, sequence = rng.normal(0, 3), "KP" if i % 2 == 0 else "PK"
        for period in (1, 2):
            treatment = "ketamine" if (sequence == "KP") == (period == 1) else "placebo"
            rows.append({"participant_id": f"sub-{i:02d}", "treatment": treatment, "period": period,
                         "sequence": sequence, "baseline": 30 + level,
                         "score": 20 + level + 1.5 * (period == 2) - 5 * (treatment == "ketamine") + rng.normal(0, 4)})
    frame = pd.DataFrame(rows)
    return frame.drop(index=frame.index[1:2 * drop:2]).reset_index(drop=True)


def test_balanced_crossover_without_period_is_the_paired_t_test():
    data = _crossover()
    model = crossover.mixed_model(data, formula="score ~ treatment")
    wide = data.pivot(index="participant_id", columns="treatment", values="score")
    reference = pg.ttest(wide["ketamine"], wide["placebo"], paired=True)
    assert model["df"] == pytest.approx(19, abs=1e-6)
    assert model["estimate"] / model["se_model"] == pytest.approx(reference["T"].iloc[0], rel=1e-4)
    assert model["p_t"] == pytest.approx(reference["p_val" if "p_val" in reference else "p-val"].iloc[0], rel=1e-3)


def test_balanced_crossover_with_period_is_the_two_sample_t_test_of_period_differences():
    data = _crossover()
    wide = data.pivot(index="participant_id", columns="period", values="score")
    sequence = data.groupby("participant_id")["sequence"].first()
    # half the period difference: (ketamine - placebo)/2 + period/2 in KP, (placebo - ketamine)/2 + period/2 in PK
    half_difference = (wide[1] - wide[2]) / 2
    reference = pg.ttest(half_difference[sequence == "KP"], half_difference[sequence == "PK"], correction=False)
    model = crossover.mixed_model(data, formula="score ~ treatment + period")
    assert model["df"] == pytest.approx(18, abs=1e-6)
    assert model["estimate"] / model["se_model"] == pytest.approx(reference["T"].iloc[0], rel=1e-4)
    assert model["ci_low_t"] < model["ci_low"] and model["ci_high_t"] > model["ci_high"]


def test_unbalanced_design_against_gls_and_finite_differences():
    data = _crossover(n=24, seed=3, drop=6)  # six participants rated after one infusion only
    model = crossover.mixed_model(data, formula="score ~ treatment + period")
    assert 18 - 1e-6 < model["df"] < 24  # between the complete pairs' df and all participants'
    frame = data.assign(treatment=(data["treatment"] == "ketamine").astype(float),
                        period=(data["period"] == 2).astype(float))
    exog = np.column_stack([np.ones(len(frame)), frame["treatment"], frame["period"]])
    groups = frame["participant_id"].to_numpy()
    contrast = np.array([0.0, 1.0, 0.0])
    g, r = model["group_variance"], model["residual_variance"]
    small = crossover.satterthwaite_df(exog, groups, contrast, group_variance=g, residual_variance=r)
    covariance = g * (groups[:, None] == groups[None, :]) + r * np.eye(len(groups))
    gls = sm.GLS(frame["score"].to_numpy(), exog, sigma=covariance).fit()
    assert small["se"] ** 2 == pytest.approx(gls.normalized_cov_params[1, 1], rel=1e-8)

    def variance(group, residual):
        return crossover.satterthwaite_df(exog, groups, contrast, group_variance=group,
                                          residual_variance=residual)["se"] ** 2

    h = 1e-4
    numeric = [(variance(g + h, r) - variance(g - h, r)) / (2 * h), (variance(g, r + h) - variance(g, r - h)) / (2 * h)]
    assert small["gradient"] == pytest.approx(numeric, rel=1e-5)
