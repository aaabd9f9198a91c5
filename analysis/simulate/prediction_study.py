"""Operating characteristics of the fMRI prediction engine, by simulation.

Cohorts are simulated at the ROI-signal level from the network model of
:mod:`analysis.simulate.fmri` (no images), with a chosen Bayes accuracy of the planted
responder difference, and analysed by the chapter's engine
(:func:`analysis.stats.prediction.predict_from_covariances`: tangent space, confound
regression, ridge discriminant, corrected interval, permutation test). Each cohort's
estimand is the accuracy its own pipeline, fitted on all its participants, reaches on new
participants; comparing the reported accuracy and interval with it gives the bias, the
coverage, the false-positive rate and the power of the whole procedure at that sample size.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy import signal, stats

from ..stats.prediction import predict_from_covariances, standardized_covariances, train_and_predict
from .fmri import FmriDesign, select_rois

__all__ = ["SIMULATION_REPEATS", "REAL_DESIGN_REPEATS", "SCENARIOS", "Cohort", "simulate_cohort", "cohort_result",
           "operating_characteristics", "real_design_characteristics", "simulate_test_pool",
           "summarize_cohorts"]

SIMULATION_REPEATS = 1
"""Outer repeats at n = 100 (the chapter uses 10). The cost is the 34 x 34
eigendecompositions of the tangent-space step, 0.15-0.2 ms each on the 2-core build
machine: about 180 per fold, 200 for the final fit and one per test participant, some 1,660
per cohort, with the other steps doubling that time. One repeat of 5 folds puts 200 cohorts
x 199 permutations at about 100 s of one core per scenario (measured: the four scenarios in
3.5 minutes on 2 cores); each further repeat would add about 50 s. The interval and the test are then those of a single 5-fold analysis (J = 5
fold scores, t on 4 degrees of freedom): wider than the chapter's (J = 50), so the simulated
coverage is an upper bound for the chapter's and the simulated power a lower bound."""
REAL_DESIGN_REPEATS = 10
"""Outer repeats at the real design (27 participants, 3 folds), as in the chapter: small
folds are cheap (about 120 s of one core per scenario of 200 cohorts), and a single repeat
would leave J = 3 fold scores and a t interval on 2 degrees of freedom, nearly [0, 1]."""
SCENARIOS = {"null": None, "accuracy 0.65": 0.65, "accuracy 0.75": 0.75, "accuracy 0.85": 0.85}
AR_COEFFICIENT = 0.6
MOTION_COLUMNS = 6


@dataclass(frozen=True)
class Cohort:
    """Simulated participants: 0/1 labels, Ledoit-Wolf covariances of the z-scored ROI
    signals, and confounds (mean framewise displacement, age, sex as 0/1)."""

    labels: np.ndarray
    covariances: np.ndarray
    confounds: np.ndarray


def _ar1(rng: np.random.Generator, shape: tuple[int, int, int]) -> np.ndarray:
    """Stationary AR(1) series along axis 1 with unit variance (the generator's ``_ar1``)."""
    innovations = rng.normal(0, np.sqrt(1 - AR_COEFFICIENT**2), shape)
    innovations[:, 0] = rng.normal(0, 1, (shape[0], shape[2]))
    return signal.lfilter([1.0], [1.0, -AR_COEFFICIENT], innovations, axis=1)


def _roi_signals(design: FmriDesign, networks: np.ndarray, dmn_loading: np.ndarray, coupling: np.ndarray,
                 rng: np.random.Generator) -> np.ndarray:
    """Participants x time x ROI neural signals of ``simulate_roi_signals``' model, batched."""
    n = len(dmn_loading)
    factors = _ar1(rng, (n, design.n_volumes, 3))  # DMN, prefrontal, limbic
    unique = _ar1(rng, (n, design.n_volumes, len(networks)))
    loadings = np.zeros((n, 3, len(networks)))
    loadings[:, 0, networks == "DMN"] = dmn_loading[:, None]
    loadings[:, 1, networks == "prefrontal"] = 0.6
    loadings[:, 2, networks == "limbic"] = 0.6
    loadings[:, 1, networks == "limbic"] = coupling[:, None]
    return unique + factors @ loadings


def _mean_framewise_displacement(design: FmriDesign, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Mean FD of the generator's motion model (random-walk motion with spikes, scaled a
    little larger in non-responders), first volume excluded as fMRIPrep leaves it empty."""
    n, volumes = len(labels), design.n_volumes
    scale = np.where(labels == 1, design.motion_scale_responders, design.motion_scale_nonresponders)
    motion = np.cumsum(rng.normal(0, 1, (n, volumes, MOTION_COLUMNS)) * 0.02 * scale[:, None, None], axis=1)
    motion[..., 3:] *= 0.02
    spikes = rng.random((n, volumes)) < 0.03 * scale[:, None]
    spike_sizes = rng.normal(0, 1, (int(spikes.sum()), MOTION_COLUMNS)) * 0.3 * scale[np.nonzero(spikes)[0], None]
    motion[spikes] += spike_sizes * np.array([1, 1, 1, .02, .02, .02])
    derivative = np.abs(np.diff(motion, axis=1))
    displacement = derivative[..., :3].sum(axis=2) + 50 * derivative[..., 3:].sum(axis=2)
    return displacement.mean(axis=1)


def simulate_cohort(design: FmriDesign, networks, n_participants: int, responder_fraction: float,
                    rng: np.random.Generator) -> Cohort:
    """One cohort from ``design`` (its ``true_accuracy`` sets d'): responders shuffled,
    class-conditional DMN loading and prefrontal-limbic coupling (``simulate_latents``),
    neural ROI signals (``simulate_roi_signals``), covariances and confounds."""
    networks = np.asarray(networks)
    n_responders = int(round(n_participants * responder_fraction))
    labels = rng.permutation(np.repeat([1, 0], [n_responders, n_participants - n_responders]))
    shift = design.d_prime / np.sqrt(2) * design.parameter_sd
    dmn_loading = rng.normal(design.dmn_loading + shift * labels, design.parameter_sd)
    coupling = rng.normal(design.coupling + shift * labels, design.parameter_sd)
    covariances = standardized_covariances(_roi_signals(design, networks, dmn_loading, coupling, rng))
    age = np.clip(np.round(rng.normal(40, 12, n_participants)), 18, 65)
    sex = (rng.random(n_participants) < 0.45).astype(float)
    confounds = np.column_stack([_mean_framewise_displacement(design, labels, rng), age, sex])
    return Cohort(labels=labels, covariances=covariances, confounds=confounds)


def _balanced_accuracy(truth: np.ndarray, predicted: np.ndarray) -> float:
    return float((np.mean(predicted[truth == 1] == 1) + np.mean(predicted[truth == 0] == 0)) / 2)


def cohort_result(cohort_index: int, *, design: FmriDesign, networks, n_participants: int,
                  responder_fraction: float, n_permutations: int, n_repeats: int, n_splits: int, seed: int,
                  test_pool: Cohort, test_size: int) -> dict:
    """Analyse simulated cohort ``cohort_index`` (seeded by ``SeedSequence([seed, 0,
    cohort_index])``) and score its fully fitted pipeline on ``test_size`` participants of
    ``test_pool`` (half of them responders, drawn by the same seed).

    Returns
    -------
    dict
        ``reported, ci_low, ci_high, p, estimand``.
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0, cohort_index]))
    cohort = simulate_cohort(design, networks, n_participants, responder_fraction, rng)
    result = predict_from_covariances(cohort.covariances, cohort.labels, random_state=int(rng.integers(2**31)),
                                      n_permutations=n_permutations, n_splits=n_splits, n_repeats=n_repeats,
                                      confounds=cohort.confounds)
    test = np.concatenate([rng.choice(np.flatnonzero(test_pool.labels == label), test_size // 2, replace=False)
                           for label in (1, 0)])
    fitted = train_and_predict(cohort.covariances, cohort.labels, test_pool.covariances[test],
                               confounds=cohort.confounds, new_confounds=test_pool.confounds[test])
    return {"reported": result["balanced_accuracy"], "ci_low": result["balanced_accuracy_ci_low"],
            "ci_high": result["balanced_accuracy_ci_high"], "p": result["p_value"],
            "estimand": _balanced_accuracy(test_pool.labels[test], fitted["predicted"])}


def simulate_test_pool(design: FmriDesign, networks, size: int, seed: int, *, chunk: int = 1000) -> Cohort:
    """New participants, half responders, from which each cohort draws its test set
    (seeded by ``SeedSequence([seed, 1])``; simulated in chunks to bound memory)."""
    streams = np.random.SeedSequence([seed, 1]).spawn(-(-size // chunk))
    parts = [simulate_cohort(design, networks, min(chunk, size - index * chunk), 0.5, np.random.default_rng(stream))
             for index, stream in enumerate(streams)]
    return Cohort(labels=np.concatenate([part.labels for part in parts]),
                  covariances=np.concatenate([part.covariances for part in parts]),
                  confounds=np.concatenate([part.confounds for part in parts]))


def _clopper_pearson(successes: int, trials: int, level: float = 0.95) -> tuple[float, float]:
    tail = (1 - level) / 2
    low = 0.0 if successes == 0 else float(stats.beta.ppf(tail, successes, trials - successes + 1))
    high = 1.0 if successes == trials else float(stats.beta.ppf(1 - tail, successes + 1, trials - successes))
    return low, high


def _sample_sd(values: np.ndarray) -> float:
    return float(values.std(ddof=1)) if values.size > 1 else float("nan")


def summarize_cohorts(per_cohort: list[dict], *, claimed: float = 0.75, alpha: float = 0.05) -> dict:
    """Bias, coverage, rejection rates and their binomial bounds over cohorts.

    Notes
    -----
    ``bias = mean(reported - estimand)``; ``coverage`` = share of cohorts whose interval
    contains their own estimand; ``false_positive_rate`` and ``power_beat_chance`` are both
    the share with ``p < alpha`` (a false-positive rate under the null, power otherwise);
    ``fpr_upper_bound`` is the upper limit of the two-sided 95% Clopper-Pearson interval at
    ``round(alpha x n_cohorts)`` rejections: an observed rate above it is not compatible with
    a calibrated test. ``fpr_ci_low, fpr_ci_high`` is the Clopper-Pearson interval of the
    observed rate. ``power_above_claimed`` = share with ``ci_low > claimed``.
    """
    reported = np.array([row["reported"] for row in per_cohort])
    estimand = np.array([row["estimand"] for row in per_cohort])
    low, high = np.array([row["ci_low"] for row in per_cohort]), np.array([row["ci_high"] for row in per_cohort])
    rejected = np.array([row["p"] for row in per_cohort]) < alpha
    n_cohorts = len(per_cohort)
    fpr_low, fpr_high = _clopper_pearson(int(rejected.sum()), n_cohorts)
    return {"mean_reported": float(reported.mean()), "sd_reported": _sample_sd(reported),
            "mean_estimand": float(estimand.mean()), "sd_estimand": _sample_sd(estimand),
            "bias": float(np.mean(reported - estimand)),
            "coverage": float(np.mean((low <= estimand) & (estimand <= high))),
            "false_positive_rate": float(rejected.mean()), "fpr_ci_low": fpr_low, "fpr_ci_high": fpr_high,
            "fpr_upper_bound": _clopper_pearson(int(round(alpha * n_cohorts)), n_cohorts)[1],
            "power_beat_chance": float(rejected.mean()), "power_above_claimed": float(np.mean(low > claimed)),
            "mean_ci_width": float(np.mean(high - low))}


def operating_characteristics(scenario_accuracy: float | None, *, n_participants: int = 100,
                              responder_fraction: float = 0.5, n_cohorts: int = 200, n_permutations: int = 199,
                              n_repeats: int = SIMULATION_REPEATS, n_splits: int = 5, test_size: int = 500,
                              test_pool_size: int = 8000, seed: int = 0, claimed: float = 0.75,
                              design: FmriDesign = FmriDesign()) -> dict:
    """Bias, coverage, false-positive rate and power of the prediction engine in a scenario.

    Parameters
    ----------
    scenario_accuracy : float or None
        Bayes accuracy of the planted responder difference; None or 0.5 is the null (d' = 0).
    n_participants, responder_fraction : int, float
        Cohort size and share of responders (rounded to whole participants).
    n_cohorts, n_permutations, n_repeats, n_splits : int
        Simulated cohorts, and the engine's settings in each (``n_repeats`` default: see
        :data:`SIMULATION_REPEATS`).
    test_size, test_pool_size : int
        Each cohort's pipeline, fitted on all its participants, is scored on ``test_size``
        new participants (half responders) drawn from a pool of ``test_pool_size`` simulated
        once per call (:func:`simulate_test_pool`): the estimand. Its Monte Carlo SD is about
        ``0.5/√test_size`` (0.022) per cohort, mostly independent between cohorts, plus a
        component common to all cohorts of about ``0.5/√test_pool_size`` (0.006) that does
        not average out in ``mean_estimand`` and ``bias``. Each test participant costs one
        eigendecomposition per cohort (the tangent projection at that cohort's reference),
        which is why the default is 500 and not more; simulating the pool once keeps the
        cost of drawing new participants out of the loop.
    seed : int
        Cohort ``c`` is seeded by ``SeedSequence([seed, 0, c])``: results do not depend on
        how cohorts are batched (:func:`cohort_result` runs one).
    claimed : float
        Accuracy the claim states; ``power_above_claimed`` is the share of intervals above it.
    design : FmriDesign
        Signal model (its ``true_accuracy`` is replaced by the scenario's).

    Returns
    -------
    dict
        ``scenario, true_accuracy, n_cohorts, n_participants, n_responders, n_permutations,
        n_repeats, n_splits, test_size`` and the keys of :func:`summarize_cohorts`, plus
        ``per_cohort`` (``reported, ci_low, ci_high, p, estimand`` of each cohort).
    """
    true_accuracy = 0.5 if scenario_accuracy is None else float(scenario_accuracy)
    scenario_design = replace(design, true_accuracy=true_accuracy)
    networks = select_rois()["network"].to_numpy()
    test_pool = simulate_test_pool(scenario_design, networks, test_pool_size, seed)
    settings = {"design": scenario_design, "networks": networks, "n_participants": n_participants,
                "responder_fraction": responder_fraction, "n_permutations": n_permutations,
                "n_repeats": n_repeats, "n_splits": n_splits, "seed": seed, "test_pool": test_pool,
                "test_size": test_size}
    per_cohort = [cohort_result(cohort, **settings) for cohort in range(n_cohorts)]
    return {"scenario": "null" if true_accuracy == 0.5 else f"accuracy {true_accuracy:.2f}",
            "true_accuracy": true_accuracy, "n_cohorts": n_cohorts, "n_participants": n_participants,
            "n_responders": int(round(n_participants * responder_fraction)), "n_permutations": n_permutations,
            "n_repeats": n_repeats, "n_splits": n_splits, "test_size": test_size,
            **summarize_cohorts(per_cohort, claimed=claimed), "per_cohort": per_cohort}


def real_design_characteristics(scenario_accuracy: float | None, **settings) -> dict:
    """:func:`operating_characteristics` at the real study's design: 27 participants, 6
    responders, stratified 3-fold cross-validation (2 responders per test fold), repeated
    :data:`REAL_DESIGN_REPEATS` times; ``settings`` override any of these."""
    defaults = {"n_participants": 27, "responder_fraction": 6 / 27, "n_splits": 3, "n_repeats": REAL_DESIGN_REPEATS}
    return operating_characteristics(scenario_accuracy, **(defaults | settings))
