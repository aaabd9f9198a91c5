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


def test_several_acquisitions_need_a_stated_choice(small_dataset, tmp_path):
    """QSIPrep wrote two acquisitions per session: the run asks for dti.entities instead of picking
    one; with the choice made, exactly that acquisition is read."""
    import shutil

    from analysis.bids import dwi_paths as bids_paths

    copy = tmp_path / "copy"
    shutil.copytree(small_dataset, copy)
    for participant in ("sub-001", "sub-002", "sub-003"):
        for session in ("pre", "post"):
            plain = bids_paths(copy, participant, session, space="T1w")
            for acq in ("multishell", "b1000"):
                for kind, target in bids_paths(copy, participant, session, space="T1w",
                                               entities={"acq": acq, "run": 1}).items():
                    shutil.copyfile(plain[kind], target)
            for path in plain.values():
                path.unlink()
    with pytest.raises(ImagingInputError, match="2 dwi file.* choose one with dti.entities"):
        discover_dwi(copy, ["sub-001", "sub-002", "sub-003"])
    manifest = discover_dwi(copy, ["sub-001", "sub-002", "sub-003"], entities={"acq": "multishell", "run": 1})
    assert len(manifest) == 6 and manifest["dwi"].str.contains("_acq-multishell_run-1_space-T1w_desc-preproc").all()
    with pytest.raises(ValueError, match="unknown BIDS entity"):
        bids_paths(copy, "sub-001", "pre", space="T1w", entities={"echo": 1})
