"""Where an image sits in space: the grid and voxel-to-world matrix checks shared by the
pre-run checks (headers only) and the imaging code (every image it reads)."""
from __future__ import annotations

import numpy as np

__all__ = ["AFFINE_TOLERANCE", "grid_description", "orientation", "voxel_size", "space_mismatch", "storage_sentence"]

#: how far two voxel-to-world matrices may differ and still be the same grid (mm, and unitless
#: for the rotation and scaling terms): rounding in the files, never a shift or a flip
AFFINE_TOLERANCE = 1e-3


def orientation(affine) -> str:
    """The axis codes of a voxel-to-world matrix, e.g. ``RAS`` or ``LPS``."""
    import nibabel as nib

    return "".join(nib.aff2axcodes(np.asarray(affine)))


def voxel_size(affine) -> str:
    """Voxel size in mm, e.g. ``2 x 2 x 2``."""
    import nibabel as nib

    return " x ".join(f"{size:.3g}" for size in nib.affines.voxel_sizes(np.asarray(affine)))


def grid_description(affine) -> str:
    rows = "\n    ".join(" ".join(f"{value:9.3f}" for value in row) for row in np.asarray(affine))
    return f"orientation {orientation(affine)}, voxel size {voxel_size(affine)} mm:\n    {rows}"


def space_mismatch(what: str, name: str, shape, affine, reference_name: str, reference_shape,
                   reference_affine) -> str | None:
    """Why the image `name` (the `what`: atlas, brain mask, ...) cannot be read on the grid of
    `reference_name` (a DWI or BOLD image), or None when it can: the same voxel grid (the first
    three dimensions) and the same voxel-to-world matrix within :data:`AFFINE_TOLERANCE`. The
    message gives both matrices and how to resample.

    >>> space_mismatch("atlas", "a.nii.gz", (2, 2, 2), np.eye(4), "dwi.nii.gz", (2, 2, 2, 7), np.eye(4)) is None
    True
    """
    fix = ("Resample it onto the reference image, e.g. nilearn.image.resample_to_img(image, reference, "
           "interpolation='nearest'), or ANTs antsApplyTransforms -n NearestNeighbor with the reference image.")
    if tuple(shape[:3]) != tuple(reference_shape[:3]):
        return (f"{name}: the {what}'s grid {tuple(shape[:3])} differs from the grid {tuple(reference_shape[:3])} of "
                f"{reference_name}. {fix}")
    if affine is None or reference_affine is None or np.allclose(affine, reference_affine, atol=AFFINE_TOLERANCE):
        return None
    return (f"{name}: the {what} has the grid of {reference_name} but not its position in space (voxel-to-world "
            f"matrices differ by up to {np.abs(np.asarray(affine) - np.asarray(reference_affine)).max():.3f}), so "
            f"its labels would fall on the wrong voxels.\n  {what} affine, {grid_description(affine)}\n  "
            f"{reference_name} affine, {grid_description(reference_affine)}\n{fix}")


def storage_sentence(table, noun: str) -> str:
    """How a set of images is stored, for a chapter's quality control, from a table with one row per
    image and the columns ``orientation`` and ``voxel_size_mm`` (and ``grid``, when given): each
    distinct value, with how many images have it when they differ.

    >>> import pandas as pd
    >>> print(storage_sentence(pd.DataFrame({"orientation": ["LAS", "RAS"], "voxel_size_mm": "2 x 2 x 2"}), "BOLD images"))
    The 2 BOLD images are stored in LAS (1 images), RAS (1 images) orientation with 2 x 2 x 2 mm voxels.
    """
    def values(column: str, unit: str = "") -> str:
        counts = table[column].astype(str).value_counts()
        if len(counts) == 1:
            return f"{counts.index[0]}{unit}"
        return ", ".join(f"{value}{unit} ({count} images)" for value, count in counts.items())

    grid = f" on a {values('grid')} grid" if "grid" in table.columns else ""
    return (f"The {len(table)} {noun} are stored in {values('orientation')} orientation with "
            f"{values('voxel_size_mm', ' mm')} voxels{grid}.")
