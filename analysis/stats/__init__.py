"""Statistics: random-effects meta-analysis, trial models, prediction and the crossover model.

Submodules: :mod:`analysis.stats.meta`, :mod:`analysis.stats.trial`, :mod:`analysis.stats.prediction`,
:mod:`analysis.stats.crossover`.
"""
from .._lazy import lazy_exports

_PUBLIC = {name: "analysis.stats.meta" for name in (
    "random_effects", "pool_proportions", "escalc_proportions", "back_transform", "leave_one_out",
    "subgroup_analysis", "egger_test")}
_PUBLIC.update({name: "analysis.stats.trial" for name in (
    "fit_interactions", "association_both_arms", "arm_effect", "sensitivity_analyses", "trial_table")})
__all__ = sorted(_PUBLIC)


__getattr__, __dir__ = lazy_exports(globals(), _PUBLIC)
