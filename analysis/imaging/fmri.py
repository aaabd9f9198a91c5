"""Confound-cleaned ROI time series from preprocessed BOLD (nilearn)."""
from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd

from .dti import ImagingInputError

__all__ = ["extract_roi_timeseries", "freeze_imported_objects", "REQUIRED_CONFOUNDS"]

#: columns the default strategy (motion, wm_csf, scrub) reads from an fMRIPrep confounds file
REQUIRED_CONFOUNDS = ("trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z", "white_matter", "csf",
                      "framewise_displacement", "std_dvars")


def extract_roi_timeseries(bold, rois: pd.DataFrame, *, mask=None, radius: float = 6.0,
                           strategy=("motion", "wm_csf", "scrub"), fd_threshold: float = 0.5,
                           std_dvars_threshold: float = 1.5, t_r: float | None = None,
                           clean: bool = True) -> tuple[np.ndarray, dict]:
    """ROI time series from spheres around coordinates, cleaned of fMRIPrep confounds.

    Parameters
    ----------
    bold : str or Path
        fMRIPrep ``*_desc-preproc_bold.nii.gz``; its ``*_desc-confounds_timeseries.tsv``
        must sit beside it.
    rois : DataFrame
        ``name, x, y, z`` in the BOLD image's world (MNI) coordinates.
    mask : str, Path or image, optional
        Brain mask; every ROI centre must fall inside it.
    strategy : tuple
        :func:`nilearn.interfaces.fmriprep.load_confounds` strategy (motion parameters,
        white matter and CSF, scrubbing of high-motion volumes).
    clean : bool
        False extracts the raw sphere means (for demonstrating what cleaning removes).

    Returns
    -------
    (ndarray, dict)
        Time x ROI array (kept volumes only, z-scored) and QC: ``n_volumes, n_kept,
        mean_fd, max_fd``.

    Raises
    ------
    ImagingInputError
        Naming the file: unreadable BOLD, missing confounds file or columns, confounds of a
        different length than the BOLD, a mask that misses ROI centres.
    """
    from nilearn.interfaces.fmriprep import load_confounds
    from nilearn.maskers import NiftiSpheresMasker

    bold = Path(bold)
    if not bold.exists():
        raise ImagingInputError(f"{bold}: BOLD image not found")
    try:
        image = nib.load(str(bold))
    except Exception as error:
        raise ImagingInputError(f"{bold}: cannot read the BOLD image as NIfTI ({error})") from error
    if image.ndim != 4:
        raise ImagingInputError(f"{bold}: expected a 4D BOLD image, got shape {image.shape}")
    n_volumes = image.shape[3]
    from ..bids import confounds_path

    confounds_file = confounds_path(bold)
    if not confounds_file.exists():
        raise ImagingInputError(f"{confounds_file}: confounds file not found (expected beside {bold.name})")
    raw_confounds = pd.read_csv(confounds_file, sep="\t", na_values="n/a")
    missing = [column for column in REQUIRED_CONFOUNDS if column not in raw_confounds.columns]
    if missing:
        raise ImagingInputError(f"{confounds_file}: missing confound column(s) {missing}; expected the fMRIPrep "
                                f"columns {list(REQUIRED_CONFOUNDS)}")
    if len(raw_confounds) != n_volumes:
        raise ImagingInputError(f"{confounds_file} has {len(raw_confounds)} rows but {bold} has {n_volumes} volumes; "
                                "expected one confound row per volume")
    if mask is not None:
        mask_image = nib.load(str(mask)) if isinstance(mask, (str, Path)) else mask
        mask_data = np.asarray(mask_image.dataobj) > 0
        inverse = np.linalg.inv(mask_image.affine)
        outside = []
        for roi in rois.itertuples():
            voxel = np.round(inverse @ np.array([roi.x, roi.y, roi.z, 1.0]))[:3].astype(int)
            inside = np.all(voxel >= 0) and np.all(voxel < mask_data.shape) and mask_data[tuple(voxel)]
            if not inside:
                outside.append(roi.name)
        if outside:
            raise ImagingInputError(f"{mask}: the brain mask misses {len(outside)} ROI centre(s) "
                                    f"{outside[:5]}; expected every ROI inside the mask (same space?)")
    t_r = t_r or float(image.header.get_zooms()[3])
    if clean:
        confounds, sample_mask = load_confounds(str(bold), strategy=strategy, motion="basic", wm_csf="basic",
                                                scrub=5, fd_threshold=fd_threshold,
                                                std_dvars_threshold=std_dvars_threshold, demean=True)
    else:
        confounds, sample_mask = None, None
    masker = NiftiSpheresMasker(seeds=rois[["x", "y", "z"]].to_numpy(float).tolist(), radius=radius,
                                mask_img=mask, allow_overlap=True, standardize="zscore_sample", detrend=True,
                                t_r=t_r)
    series = masker.fit_transform(str(bold), confounds=confounds, sample_mask=sample_mask)
    fd = raw_confounds["framewise_displacement"].to_numpy(float)
    from ..spatial import orientation, voxel_size

    qc = {"n_volumes": int(n_volumes), "n_kept": int(series.shape[0]), "mean_fd": float(np.nanmean(fd)),
          "max_fd": float(np.nanmax(fd)), "orientation": orientation(image.affine),
          "voxel_size_mm": voxel_size(image.affine)}
    return series, qc


def freeze_imported_objects() -> int:
    """Import nilearn's masker and confound loader, then move every object allocated so far
    into the garbage collector's permanent generation (:func:`gc.freeze`). For short-lived
    batch processes (the ``fmri-timeseries`` command): call it once, before a loop of
    :func:`extract_roi_timeseries`; returns the number of frozen objects.

    nilearn forces a full ``gc.collect()`` every time it reads image data
    (``nilearn._utils.niimg.safe_get_data``), five times per participant here. A full
    collection walks every tracked object, and with nilearn, scikit-learn, scipy and pandas
    imported that is most of the fMRI stage's time on the synthetic cohort (``make profile``;
    the measured effect is in benchmarks/README.md). Frozen objects are not walked, so a collection then costs only
    what the current participant allocated, and the time series are unchanged. Objects
    allocated after the call are collected as usual. Everything allocated before it, the
    caller's data included, is never freed by the collector: harmless in a batch process that
    ends after its loop, not something to call in a notebook kernel or a long-lived service
    (:func:`gc.unfreeze` undoes it).
    """
    from nilearn.interfaces.fmriprep import load_confounds  # noqa: F401  (imported before freezing)
    from nilearn.maskers import NiftiSpheresMasker  # noqa: F401

    from ..runtime import freeze_objects

    return freeze_objects(collect=True)
