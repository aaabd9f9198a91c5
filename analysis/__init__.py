"""Ketamine response in treatment-resistant depression: the analysis package.

The public API (stable names, see ``shared/DESIGN.md``) is re-exported here.
"""
from .stats import pool_proportions, random_effects

__version__ = "0.1.0"
__all__ = ["random_effects", "pool_proportions", "__version__"]
