"""Simulation studies of the imaging claims, one scenario per workflow job.

What synthetic data can show is measured here: how often each analysis detects a finding that is
there (power), how often it reports one that is not (false-positive rate), and the bias and
coverage of its estimates, across many simulated datasets at the published design. The results
files feed the claim chapters; they never give a verdict on a published finding.
"""
from __future__ import annotations

__all__ = ["SCENARIOS", "run_study"]

#: Scenario names per claim (the workflow makes one job per name).
SCENARIOS = {
    "dti-neuroplasticity": ("null", "half", "published"),
    "fmri-prediction": ("null", "accuracy-065", "accuracy-075", "accuracy-085"),
}
_FMRI_ACCURACY = {"null": 0.5, "accuracy-065": 0.65, "accuracy-075": 0.75, "accuracy-085": 0.85}


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
    result = operating_characteristics(_FMRI_ACCURACY[scenario], n_cohorts=int(settings["n_cohorts"]),
                                       seed=int(settings["seed"]), **options)
    return result | {"scenario": scenario}
