"""Checks before any job: a missing participant, session or file is an error that names it."""
import nibabel as nib
import numpy as np
import pytest
import yaml

from analysis.bids import bold_paths, dwi_paths
from analysis.io import DataValidationError
from analysis.preflight import InputCheckError, dti_participants, dti_spaces, fmri_participants
from analysis.build.workflow import load_config

from .conftest import ROOT, snakemake

HEADER = "participant_id\tarm\tage\tsex\tmadrs_pre\tmadrs_post\tqids_pre\tqids_post\n"


def _dti_layout(root, participants, *, skip=(), arms=None):
    arms = arms or ["ketamine" if index % 2 else "saline" for index in range(len(participants))]
    rows = [HEADER] + [f"{p}\t{arm}\t40\tF\t30\t15\t18\t9\n" for p, arm in zip(participants, arms)]
    (root / "participants.tsv").write_text("".join(rows), encoding="utf-8")
    (root / "dataset_description.json").write_text('{"Name": "test", "DatasetType": "derivative"}', encoding="utf-8")
    for participant in participants:
        for session in ("pre", "post"):
            for kind, path in dwi_paths(root, participant, session, space="ACPC").items():
                if (participant, session, kind) not in skip:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    if kind in ("dwi", "mask"):  # tiny real NIfTI files: their headers are checked
                        shape = (2, 2, 2, 7) if kind == "dwi" else (2, 2, 2)
                        nib.save(nib.Nifti1Image(np.zeros(shape, np.int16), AFFINE), path)
                    else:
                        path.write_bytes(b"")
    return root / "participants.tsv"


AFFINE = np.diag([2.0, 2.0, 2.0, 1.0])


def _atlas(path, affine=AFFINE, shape=(2, 2, 2)):
    nib.save(nib.Nifti1Image(np.ones(shape, np.int16), affine), path)
    return path


EIGHT = [f"sub-{index:02d}" for index in range(1, 9)]
FMRI_HEADER = "participant_id\tresponder\tage\tsex\tmadrs_pre\n"


def test_dti_participants_found(tmp_path):
    table = _dti_layout(tmp_path, EIGHT)
    assert dti_participants(tmp_path, table, ["pre", "post"], space="ACPC") == EIGHT


def test_too_few_participants_per_arm_is_said_up_front(tmp_path):
    table = _dti_layout(tmp_path, EIGHT[:5])
    with pytest.raises(InputCheckError, match="2 ketamine and 3 saline participants; .* at least 4 in each arm"):
        dti_participants(tmp_path, table, ["pre", "post"], space="ACPC")


def test_a_missing_session_names_participant_session_and_file(tmp_path):
    table = _dti_layout(tmp_path, EIGHT, skip={("sub-02", "post", "dwi"), ("sub-02", "post", "bval")})
    with pytest.raises(InputCheckError) as error:
        dti_participants(tmp_path, table, ["pre", "post"], space="ACPC")
    message = str(error.value)
    assert "2 input file(s)" in message and "participant sub-02, session post: expected" in message
    assert "sub-02_ses-post_space-ACPC_desc-preproc_dwi.nii.gz" in message


def test_an_atlas_or_mask_in_another_space_is_refused_before_any_job(tmp_path):
    """Headers only: an atlas shifted 50 mm, flipped, or on another grid, and a mask off its DWI,
    are each named with both matrices and the fix; an atlas on the DWI's grid passes."""
    _dti_layout(tmp_path, EIGHT)
    dti_spaces(tmp_path, EIGHT, ["pre", "post"], _atlas(tmp_path / "atlas.nii.gz"), space="ACPC")
    shifted = AFFINE.copy()
    shifted[:3, 3] += 50
    for atlas, expected in ((_atlas(tmp_path / "shifted.nii.gz", shifted), "but not its position in space"),
                            (_atlas(tmp_path / "flipped.nii.gz", np.diag([-2.0, 2, 2, 1])), "orientation LAS"),
                            (_atlas(tmp_path / "grid.nii.gz", shape=(3, 2, 2)), "grid (3, 2, 2) differs")):
        with pytest.raises(InputCheckError) as error:
            dti_spaces(tmp_path, EIGHT, ["pre", "post"], atlas, space="ACPC")
        message = str(error.value)
        assert "1 image(s) not in the space of their DWI" in message and expected in message
        assert str(atlas) in message and "resample_to_img" in message
    mask = dwi_paths(tmp_path, "sub-03", "post", space="ACPC")["mask"]
    nib.save(nib.Nifti1Image(np.ones((2, 2, 2), np.uint8), shifted), mask)
    with pytest.raises(InputCheckError, match="sub-03_ses-post_space-ACPC_desc-brain_mask.nii.gz: the brain mask"):
        dti_spaces(tmp_path, EIGHT, ["pre", "post"], tmp_path / "atlas.nii.gz", space="ACPC")


def test_a_wrong_root_or_table_path_is_named(tmp_path):
    table = _dti_layout(tmp_path, EIGHT)
    with pytest.raises(InputCheckError, match="dti.root .* not found: .*typo"):
        dti_participants(tmp_path / "typo", table, ["pre", "post"], space="ACPC")
    with pytest.raises(InputCheckError, match="dti.participants .* not found"):
        dti_participants(tmp_path, tmp_path / "nope.tsv", ["pre", "post"], space="ACPC")


def test_fmri_table_is_validated_and_files_checked(tmp_path):
    table = tmp_path / "participants.tsv"
    with pytest.raises(InputCheckError, match="'T1w': the a-priori ROIs are MNI coordinates"):
        fmri_participants(tmp_path, table, space="T1w")
    table.write_text("participant_id\tresponder\n", encoding="utf-8")
    with pytest.raises(DataValidationError, match="missing column 'madrs_pre' .baseline MADRS"):
        fmri_participants(tmp_path, table, space="MNI152NLin2009cAsym")
    table.write_text(FMRI_HEADER + "01\t1\t40\tF\t30\nsub-02\tyes\tforty\tfemale\t30\n", encoding="utf-8")
    with pytest.raises(DataValidationError) as error:
        fmri_participants(tmp_path, table, space="MNI152NLin2009cAsym")
    assert "row 2, column participant_id: '01' should start with 'sub-'" in str(error.value)
    assert "row 3, column responder: 'yes' should be 0 or 1" in str(error.value)
    assert "row 3, column sex: 'female' should be F or M" in str(error.value)
    assert "row 3, column age: 'forty' should be a number" in str(error.value)
    table.write_text(FMRI_HEADER + "".join(f"sub-{i:02d}\t{i % 2}\t40\tF\t30\n" for i in range(1, 5)),
                     encoding="utf-8")
    with pytest.raises(InputCheckError, match="2 responders and 2 non-responders; .* at least 5 of each"):
        fmri_participants(tmp_path, table, space="MNI152NLin2009cAsym")
    table.write_text(FMRI_HEADER + "".join(f"sub-{i:02d}\t{i % 2}\t40\tF\t30\n" for i in range(1, 11)),
                     encoding="utf-8")
    (tmp_path / "dataset_description.json").write_text("{}", encoding="utf-8")
    for index in range(1, 11):
        paths = bold_paths(tmp_path, f"sub-{index:02d}", space="MNI152NLin2009cAsym")
        for path in list(paths.values())[:2] if index == 1 else paths.values():  # sub-01's confounds are missing
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"")
    with pytest.raises(InputCheckError, match="participant sub-01: expected .*desc-confounds_timeseries.tsv"):
        fmri_participants(tmp_path, table, space="MNI152NLin2009cAsym")


@pytest.mark.workflow
def test_a_missing_session_stops_the_run_before_any_job(tmp_path):
    """With a built book present, a real-data profile whose session is missing must not end in
    "nothing to be done": the run stops, non-zero, naming the session."""
    table = _dti_layout(tmp_path, EIGHT, skip={("sub-01", "post", "mask")})
    config = load_config(ROOT / "config" / "default.yaml")
    config["workdir"] = str(tmp_path / "work")
    config["dti"].update(mode="real", root=str(tmp_path), participants=str(table), space="ACPC")
    config_file = tmp_path / "profile.yaml"
    config_file.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    result = snakemake("--configfile", str(config_file), "--dry-run", timeout=300)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "participant sub-01, session post: expected" in output and "desc-brain_mask.nii.gz" in output
    assert "Nothing to be done" not in output


@pytest.mark.workflow
def test_a_profile_of_only_the_users_choices_plans_its_own_book(tmp_path):
    """A profile with just `mode: real` and the DTI paths is merged over the defaults: it plans the
    whole book into its own staging folder and publishes into _build/<profile>/, with no planted
    truth for the real cohort."""
    table = _dti_layout(tmp_path, EIGHT)
    _atlas(tmp_path / "atlas_dseg.nii.gz")
    (tmp_path / "atlas_dseg.tsv").write_bytes(b"")
    profile = {"profile": "mine", "workdir": str(tmp_path / "work"),
               "dti": {"mode": "real", "root": str(tmp_path), "participants": str(table), "space": "ACPC",
                       "atlas": str(tmp_path / "atlas_dseg.nii.gz"), "atlas_labels": str(tmp_path / "atlas_dseg.tsv")}}
    config_file = tmp_path / "mine.yaml"
    config_file.write_text(yaml.safe_dump(profile), encoding="utf-8")
    result = snakemake("--configfile", str(config_file), "--dry-run", "--printshellcmds", timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "_build/mine/html/index.html" in result.stdout and "--build-dir _build/mine" in result.stdout
    assert '"truth_path": ""' in result.stdout and f'"participants_path": "{table}"' in result.stdout
    assert str(tmp_path / "work" / "dti" / "roi_md.tsv") in result.stdout
    unknown = tmp_path / "typo.yaml"
    unknown.write_text(yaml.safe_dump({**profile, "dti": {**profile["dti"], "atlass": "x"}}), encoding="utf-8")
    result = snakemake("--configfile", str(unknown), "--dry-run", timeout=300)
    assert result.returncode != 0 and "atlass" in result.stdout + result.stderr


def test_fmri_with_a_session_level(tmp_path):
    """fMRIPrep writes a ses- level for a dataset with sessions (a pre/post study): the profile names
    the session to read (fmri.session), and the expected files carry it."""
    table = tmp_path / "participants.tsv"
    table.write_text(FMRI_HEADER + "".join(f"sub-{i:02d}\t{i % 2}\t40\tF\t30\n" for i in range(1, 11)),
                     encoding="utf-8")
    (tmp_path / "dataset_description.json").write_text("{}", encoding="utf-8")
    for index in range(1, 11):
        for path in bold_paths(tmp_path, f"sub-{index:02d}", space="MNI152NLin2009cAsym", session="baseline").values():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"")
    assert len(fmri_participants(tmp_path, table, space="MNI152NLin2009cAsym", session="baseline")) == 10
    assert "sub-01/ses-baseline/func/sub-01_ses-baseline_task-rest_space-MNI152NLin2009cAsym_desc-preproc_bold" in \
        str(bold_paths(tmp_path, "sub-01", space="MNI152NLin2009cAsym", session="baseline")["bold"])
    with pytest.raises(InputCheckError, match="sub-<label>/func/sub-<label>_task-rest"):  # no session given
        fmri_participants(tmp_path, table, space="MNI152NLin2009cAsym")
