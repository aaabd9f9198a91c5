"""Ketamine response in treatment-resistant depression: the analysis package.

The public API (stable names, listed in the README) is re-exported here. Imports are
lazy (PEP 562) so that the per-session workflow jobs (``python -m analysis ...``) only pay
for the libraries they use.
"""
from ._lazy import lazy_exports

__version__ = "0.2.0"
__all__ = ["random_effects", "pool_proportions", "roi_mean_md", "fit_interactions", "predict_response",
           "__version__"]

_PUBLIC = {
    "random_effects": "analysis.stats.meta",
    "pool_proportions": "analysis.stats.meta",
    "roi_mean_md": "analysis.imaging.dti",
    "fit_interactions": "analysis.stats.trial",
    "predict_response": "analysis.stats.prediction",
}


__getattr__, __dir__ = lazy_exports(globals(), _PUBLIC)
