"""Power of the trial's interaction tests, by simulation from the synthetic design."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["interaction_t", "simulate_power", "n_for_power"]


def interaction_t(score_change, score_pre, ketamine, md_change) -> tuple[float, float]:
    """t and two-sided p of the arm x md_change term of ``score_change ~ arm * md_change +
    score_pre`` by ordinary least squares (the model of :func:`analysis.fit_interactions`,
    written with numpy for speed inside power simulations; tested equal to statsmodels)."""
    design = np.column_stack([np.ones_like(md_change), ketamine, md_change, ketamine * md_change, score_pre])
    coefficients, *_ = np.linalg.lstsq(design, score_change, rcond=None)
    residual = score_change - design @ coefficients
    dof = len(score_change) - design.shape[1]
    sigma2 = residual @ residual / dof
    covariance = sigma2 * np.linalg.inv(design.T @ design)
    t_value = coefficients[3] / np.sqrt(covariance[3, 3])
    return float(t_value), float(2 * stats.t.sf(abs(t_value), dof))


def simulate_power(design, *, n_values=(98,), n_simulations: int = 200, seed: int = 0, alpha: float = 0.05,
                   measurement_sd: float = 0.004) -> pd.DataFrame:
    """Simulate the trial many times and test each planted interaction.

    Parameters
    ----------
    design : analysis.simulate.dti.TrialDesign
    n_values : sequence of int
        Trial sizes (randomized in the design's ratio).
    n_simulations : int
    seed : int
        Seeds simulation ``i`` as ``[seed, n, i]``: reruns are identical.
    measurement_sd : float
        Relative SD of the imaging measurement of regional MD per session (the pipeline's
        error on the synthetic images is about 0.4%).

    Returns
    -------
    DataFrame
        One row per (n, roi, scale) with a planted interaction: ``n, roi, scale,
        true_interaction, power`` (share of p < alpha with the planted sign),
        ``median_p`` (the expected p-value), ``median_t``.
    """
    from ..simulate.dti import simulate_participants

    targets = [(effect.roi, effect.scale, effect.ketamine - effect.saline) for effect in design.effects
               if effect.ketamine != effect.saline]
    rows = []
    for n in n_values:
        t_values = {target[:2]: [] for target in targets}
        for index in range(n_simulations):
            simulated = replace(design, n_participants=int(n), seed=int(np.random.SeedSequence([seed, n, index])
                                                                       .generate_state(1)[0]))
            participants, true_md = simulate_participants(simulated)
            noise = np.random.default_rng([seed, n, index, 1])
            measured = true_md["md"].to_numpy() * (1 + noise.normal(0, measurement_sd, len(true_md)))
            wide = true_md.assign(md=measured).pivot_table(index="participant_id", columns=["roi", "session"],
                                                             values="md")
            wide = wide.loc[participants["participant_id"]]
            ketamine = (participants["arm"] == "ketamine").to_numpy(dtype=float)
            for roi, scale, _ in targets:
                md_change = (wide[(roi, "post")] - wide[(roi, "pre")]).to_numpy() * 1e3
                change = (participants[f"{scale}_post"] - participants[f"{scale}_pre"]).to_numpy(dtype=float)
                t_value, _ = interaction_t(change, participants[f"{scale}_pre"].to_numpy(dtype=float), ketamine,
                                           md_change)
                t_values[(roi, scale)].append(t_value)
        for roi, scale, true_interaction in targets:
            values = np.array(t_values[(roi, scale)])
            dof = int(n) - 5
            p_values = 2 * stats.t.sf(np.abs(values), dof)
            correct_sign = np.sign(values) == np.sign(true_interaction)
            rows.append({"n": int(n), "roi": roi, "scale": scale, "true_interaction": float(true_interaction),
                         "power": float(np.mean((p_values < alpha) & correct_sign)),
                         "median_p": float(np.median(p_values)), "median_t": float(np.median(values))})
    return pd.DataFrame(rows)


def n_for_power(power_table: pd.DataFrame, target: float = 0.8) -> pd.DataFrame:
    """Smallest simulated n reaching ``target`` power per (roi, scale), by linear
    interpolation between simulated sizes (NaN if never reached)."""
    rows = []
    for (roi, scale), group in power_table.groupby(["roi", "scale"], sort=False):
        group = group.sort_values("n")
        n_values, power = group["n"].to_numpy(float), group["power"].to_numpy(float)
        needed = float("nan")
        for index in range(len(n_values)):
            if power[index] >= target:
                if index == 0:
                    needed = n_values[0]
                else:
                    fraction = (target - power[index - 1]) / (power[index] - power[index - 1])
                    needed = n_values[index - 1] + fraction * (n_values[index] - n_values[index - 1])
                break
        rows.append({"roi": roi, "scale": scale, "n_for_power": needed})
    return pd.DataFrame(rows)
