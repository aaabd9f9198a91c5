"""Statistics: random-effects meta-analysis (more models arrive with the imaging claims)."""
from .meta import (back_transform, egger_test, escalc_proportions, leave_one_out,
                   pool_proportions, random_effects, subgroup_analysis)

__all__ = ["random_effects", "pool_proportions", "escalc_proportions", "back_transform",
           "leave_one_out", "subgroup_analysis", "egger_test"]
