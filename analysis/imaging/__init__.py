"""Imaging: diffusion tensor fitting (dipy) and data discovery (pybids)."""
from .discovery import discover_dwi, expected_dwi_paths
from .dti import ImagingInputError, load_gradients, read_atlas_labels, roi_mean_md

__all__ = ["roi_mean_md", "load_gradients", "read_atlas_labels", "ImagingInputError", "discover_dwi",
           "expected_dwi_paths"]
