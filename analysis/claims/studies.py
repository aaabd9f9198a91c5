"""Simulation studies of the imaging claims, one scenario per workflow job.

What synthetic data can show is measured here: how often each analysis detects a finding that is
there (power), how often it reports one that is not (false-positive rate), and the bias and
coverage of its estimates, across many simulated datasets at the published design. The results
files feed the claim chapters; they never give a verdict on a published finding.
"""
from __future__ import annotations

import numpy as np

__all__ = ["SCENARIOS", "run_study", "real_design"]

#: Scenario names per claim (the workflow makes one job per name).
SCENARIOS = {
    "dti-neuroplasticity": ("null", "half", "published"),
    "fmri-prediction": ("null", "accuracy-065", "accuracy-075", "accuracy-085",
                        "real-design-null", "real-design-075", "real-design-085"),
}
_FMRI_ACCURACY = {"null": 0.5, "accuracy-065": 0.65, "accuracy-075": 0.75, "accuracy-085": 0.85,
                  "real-design-null": 0.5, "real-design-075": 0.75, "real-design-085": 0.85}


def real_design(dataset_dir: str) -> dict:
    """The prediction claim's real design on the NIMH crossover: MDD participants with a baseline
    rest scan and a day-2 MADRS after ketamine, and how many responded (from the vendored tables)."""
    from ..io import read_nimh_crossover
    from .nimh_crossover import fmri_design, long_table

    dataset = read_nimh_crossover(dataset_dir)
    return fmri_design(long_table(dataset["participants"], dataset["phenotype"]), dataset["images"])


def run_study(claim: str, scenario: str, settings: dict) -> dict:
    """Run one scenario of a claim's simulation study with ``settings`` (from the run profile).

    Raises
    ------
    ValueError
        For an unknown claim or scenario, naming the known ones.
    """
    if claim not in SCENARIOS:
        raise ValueError(f"no simulation study for claim {claim!r}; known: {list(SCENARIOS)}")
    if scenario not in SCENARIOS[claim]:
        raise ValueError(f"claim {claim!r} has no scenario {scenario!r}; known: {list(SCENARIOS[claim])}")
    if claim == "dti-neuroplasticity":
        from ..simulate.dti import TrialDesign
        from . import dti_neuroplasticity
        from .registry import registry_entry

        entry = registry_entry(claim)
        design = TrialDesign(n_participants=int(settings.get("n_participants", 98)))
        return dti_neuroplasticity.operating_characteristics(
            design, entry["published"], entry["detection"], scenario=scenario,
            n_simulations=int(settings["n_simulations"]), seed=int(settings["seed"]),
            measurement_sd=float(settings["measurement_sd"]))
    from ..simulate.prediction_study import operating_characteristics

    options = {key: settings[key] for key in ("n_participants", "responder_fraction", "n_permutations", "n_repeats",
                                              "n_splits", "test_size") if key in settings}
    n_cohorts = int(settings["n_cohorts"])
    if scenario.startswith("real-design"):
        # stratified 3-fold outside (6 responders cannot fill 5 folds), leave-one-out tuning inside
        design = real_design(settings["real_design"]["dataset_dir"])
        options.update(n_participants=design["n"], responder_fraction=design["n_responders"] / design["n"],
                       n_splits=3, n_repeats=10, **{key: settings["real_design"][key] for key in ("n_permutations",)})
        n_cohorts = int(settings["real_design"]["n_cohorts"])
    result = operating_characteristics(_FMRI_ACCURACY[scenario], n_cohorts=n_cohorts, seed=int(settings["seed"]),
                                       **options)
    ci_low = np.array([cohort["ci_low"] for cohort in result["per_cohort"]])
    return result | {"scenario": scenario, "power_above_065": float(np.mean(ci_low > 0.65))}
