"""ROI time-series extraction: confound cleaning and bad inputs."""
import gc

import numpy as np
import pandas as pd
import pytest

from analysis.imaging import ImagingInputError
from analysis.imaging.fmri import extract_roi_timeseries, freeze_imported_objects
from analysis.simulate.fmri import FmriDesign, bold_paths, write_dataset


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    root = tmp_path_factory.mktemp("fmriprep")
    write_dataset(root, FmriDesign(n_participants=4, seed=3))
    return root, pd.read_csv(root / "rois.tsv", sep="\t")


def test_extracts_every_roi_and_scrubs(cohort):
    root, rois = cohort
    paths = bold_paths(root, "sub-001")
    series, qc = extract_roi_timeseries(paths["bold"], rois, mask=paths["mask"])
    assert series.shape[1] == len(rois)
    assert qc["n_kept"] <= qc["n_volumes"] == FmriDesign().n_volumes
    assert np.allclose(series.mean(axis=0), 0, atol=1e-6)


def test_confound_regression_removes_the_planted_motion_artefact(cohort):
    root, rois = cohort
    paths = bold_paths(root, "sub-002")
    confounds = pd.read_csv(paths["confounds"], sep="\t", na_values="n/a")
    raw, _ = extract_roi_timeseries(paths["bold"], rois, mask=paths["mask"], clean=False)
    motion = confounds[["trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z"]].to_numpy()
    motion = motion - motion.mean(axis=0)

    def explained_by_motion(series, rows):
        design = np.column_stack([np.ones(len(rows)), motion[rows]])
        fitted = design @ np.linalg.lstsq(design, series, rcond=None)[0]
        return float(np.mean(1 - ((series - fitted) ** 2).sum(0) / ((series - series.mean(0)) ** 2).sum(0)))

    before = explained_by_motion(raw, np.arange(len(raw)))
    cleaned, _ = extract_roi_timeseries(paths["bold"], rois, mask=paths["mask"], strategy=("motion", "wm_csf"))
    after = explained_by_motion(cleaned, np.arange(len(cleaned)))
    assert before > 0.05, f"the planted artefact should be visible before cleaning (R² = {before:.2f})"
    assert after < before / 10, f"motion still explains R² = {after:.3f} after cleaning (before: {before:.3f})"


def test_bold_and_confounds_of_different_lengths(cohort, tmp_path):
    import shutil

    root, rois = cohort
    copy = tmp_path / "copy"
    shutil.copytree(root / "sub-003", copy / "sub-003")
    paths = bold_paths(copy, "sub-003")
    confounds = pd.read_csv(paths["confounds"], sep="\t")
    confounds.iloc[:-5].to_csv(paths["confounds"], sep="\t", index=False)
    with pytest.raises(ImagingInputError, match=r"confounds_timeseries.tsv has 145 rows but .* has 150 volumes"):
        extract_roi_timeseries(paths["bold"], rois, mask=paths["mask"])


def test_missing_confound_columns(cohort, tmp_path):
    import shutil

    root, rois = cohort
    copy = tmp_path / "copy"
    shutil.copytree(root / "sub-003", copy / "sub-003")
    paths = bold_paths(copy, "sub-003")
    pd.read_csv(paths["confounds"], sep="\t").drop(columns=["csf", "std_dvars"]).to_csv(
        paths["confounds"], sep="\t", index=False)
    with pytest.raises(ImagingInputError, match=r"missing confound column\(s\) \['csf', 'std_dvars'\]"):
        extract_roi_timeseries(paths["bold"], rois, mask=paths["mask"])


def test_mask_that_misses_the_rois(cohort, tmp_path):
    import nibabel as nib

    root, rois = cohort
    paths = bold_paths(root, "sub-001")
    mask = nib.load(paths["mask"])
    empty = nib.Nifti1Image(np.zeros(mask.shape, dtype=np.uint8), mask.affine)
    with pytest.raises(ImagingInputError, match=r"the brain mask misses 34 ROI centre"):
        extract_roi_timeseries(paths["bold"], rois, mask=empty)


def test_freezing_the_imported_objects_leaves_the_time_series_unchanged(cohort):
    root, rois = cohort
    paths = bold_paths(root, "sub-002")
    before, qc_before = extract_roi_timeseries(paths["bold"], rois, mask=paths["mask"])
    try:
        frozen = freeze_imported_objects()
        assert frozen > 0 and gc.get_freeze_count() == frozen
        # frozen objects are outside the collector's generations, so a collection does not walk them
        from nilearn.maskers import NiftiSpheresMasker

        assert not any(item is NiftiSpheresMasker for item in gc.get_objects())
        after, qc_after = extract_roi_timeseries(paths["bold"], rois, mask=paths["mask"])
    finally:
        gc.unfreeze()  # this test process goes on; the batch command's process ends after its loop
    np.testing.assert_array_equal(after, before)
    assert qc_after == qc_before
