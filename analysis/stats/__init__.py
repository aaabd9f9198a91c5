"""Statistics: random-effects meta-analysis, trial models and power simulation.

Submodules: :mod:`analysis.stats.meta`, :mod:`analysis.stats.trial`, :mod:`analysis.stats.power`.
"""
from importlib import import_module

_PUBLIC = {name: "analysis.stats.meta" for name in (
    "random_effects", "pool_proportions", "escalc_proportions", "back_transform", "leave_one_out",
    "subgroup_analysis", "egger_test")}
_PUBLIC.update({name: "analysis.stats.trial" for name in (
    "fit_interactions", "association_both_arms", "arm_effect", "sensitivity_analyses", "trial_table")})
__all__ = sorted(_PUBLIC)


def __getattr__(name):
    if name in _PUBLIC:
        return getattr(import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'analysis.stats' has no attribute {name!r}")
