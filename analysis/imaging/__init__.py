"""Imaging: diffusion tensor fitting (dipy) and data discovery (pybids).

Imports are lazy (PEP 562): a DTI batch job (``python -m analysis dti-roi``) imports
``analysis.imaging.dti`` only, not discovery.
"""
from .._lazy import lazy_exports

__all__ = ["roi_mean_md", "load_gradients", "read_atlas_labels", "ImagingInputError", "discover_dwi",
           "expected_dwi_paths"]

_PUBLIC = {
    "roi_mean_md": "analysis.imaging.dti",
    "load_gradients": "analysis.imaging.dti",
    "read_atlas_labels": "analysis.imaging.dti",
    "ImagingInputError": "analysis.imaging.dti",
    "discover_dwi": "analysis.imaging.discovery",
    "expected_dwi_paths": "analysis.imaging.discovery",
}


__getattr__, __dir__ = lazy_exports(globals(), _PUBLIC)
