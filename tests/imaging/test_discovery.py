"""pybids discovery of QSIPrep-style derivatives."""
import pytest

from analysis.imaging import ImagingInputError, discover_dwi
from analysis.simulate.dti import TrialDesign, dwi_paths, write_dataset


@pytest.fixture(scope="module")
def small_dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("derivatives")
    write_dataset(root, TrialDesign(n_participants=3, seed=5))
    return root


def test_discovers_every_session(small_dataset):
    manifest = discover_dwi(small_dataset, ["sub-001", "sub-002", "sub-003"])
    assert len(manifest) == 6
    assert manifest["dwi"].str.endswith("_desc-preproc_dwi.nii.gz").all()
    assert manifest["mask"].str.endswith("_desc-brain_mask.nii.gz").all()


def test_missing_session_is_named(small_dataset, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(small_dataset, copy)
    dwi_paths(copy, "sub-002", "post")["dwi"].unlink()
    with pytest.raises(ImagingInputError, match=r"sub-002, session 'post': no dwi file\(s\) found"):
        discover_dwi(copy, ["sub-001", "sub-002", "sub-003"])


def test_not_a_bids_folder(tmp_path):
    with pytest.raises(ImagingInputError, match="no dataset_description.json"):
        discover_dwi(tmp_path, ["sub-001"])
