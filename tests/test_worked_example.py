"""The worked example of "Run it on your data", end to end: real diffusion images (dipy's small_64D)
in QSIPrep's layout, built by scripts/worked_example.py, run through the workflow with a profile
of only the user's choices; and the mistakes an author makes on that route, each a clear error
before any job runs."""
import json
import shutil
import subprocess
import sys

import nbformat
import nibabel as nib
import numpy as np
import pytest
import yaml

from .conftest import ROOT, snakemake

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    out = tmp_path_factory.mktemp("small64d")
    subprocess.run([sys.executable, str(ROOT / "scripts" / "worked_example.py"), "--out", str(out)], check=True,
                   cwd=ROOT)
    return out


def _profile(example, folder, **dti) -> str:
    """The worked example's profile (config/worked-example.yaml) with this example's paths."""
    profile = yaml.safe_load((ROOT / "config" / "worked-example.yaml").read_text(encoding="utf-8"))
    profile["workdir"] = str(folder / "work")
    profile["dti"].update(root=str(example / "derivatives" / "qsiprep"), participants=str(example / "participants.tsv"),
                          atlas=str(example / "atlas" / "atlas-slabs_dseg.nii.gz"),
                          atlas_labels=str(example / "atlas" / "atlas-slabs_dseg.tsv"), **dti)
    path = folder / "profile.yaml"
    path.write_text(yaml.safe_dump(profile, sort_keys=False), encoding="utf-8")
    return str(path)


def test_the_profile_holds_only_choices():
    profile = yaml.safe_load((ROOT / "config" / "worked-example.yaml").read_text(encoding="utf-8"))
    assert set(profile) == {"profile", "workdir", "dti"}
    assert set(profile["dti"]) == {"mode", "root", "participants", "atlas", "atlas_labels", "space"}


def test_the_example_is_real_images_on_one_grid(example):
    """Every voxel written is one dipy's small_64D recorded; atlas, masks and images share its affine."""
    from dipy.data import get_fnames

    original = nib.load(get_fnames(name="small_64D")[0])
    dwi = nib.load(example / "derivatives/qsiprep/sub-01/ses-pre/dwi/sub-01_ses-pre_space-ACPC_desc-preproc_dwi.nii.gz")
    assert dwi.shape == (10, 10, 10, 49) and np.allclose(dwi.affine, original.affine)
    recorded = np.asarray(original.dataobj)
    data = np.asarray(dwi.dataobj)
    assert all(any(np.array_equal(data[..., i], recorded[..., j]) for j in range(recorded.shape[-1]))
               for i in range(data.shape[-1]))
    atlas = nib.load(example / "atlas" / "atlas-slabs_dseg.nii.gz")
    assert np.allclose(atlas.affine, original.affine) and set(np.unique(atlas.dataobj)) == set(range(8))
    description = json.loads((example / "derivatives/qsiprep/dataset_description.json").read_text())
    assert "clinical scores are invented" in description["Demonstration"] and not description.get("Synthetic")


def test_the_chapter_runs_on_the_example_as_a_demonstration(example, tmp_path):
    """The DTI chapter executes on the example: its results say 'demonstration' and give no verdict,
    the simulation study runs at the example's 12 participants, and the staged chapter keeps the
    demonstration's cells (no generator calibration, no 'synthetic' wording)."""
    profile = _profile(example, tmp_path)
    work = tmp_path / "work"
    result = snakemake("--configfile", profile, "--cores", "2", str(work / "results" / "dti-neuroplasticity.json"),
                       timeout=1500)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    payload = json.loads((work / "results" / "dti-neuroplasticity.json").read_text())
    assert payload["data"] == "demonstration" and payload["verdict"] == "not testable with public data"
    assert {item["data"] for item in payload["subclaims"]} == {"demonstration"}
    assert payload["operating_characteristics"]["n_participants"] == 12
    roi_md = (work / "dti" / "roi_md.tsv").read_text().splitlines()
    assert len(roi_md) == 1 + 12 * 2 * 7  # every participant, session and region, fitted from the images
    notebook = nbformat.read(str(work / "site" / "book" / "claims" / "dti-neuroplasticity.ipynb"), as_version=4)
    shown = "\n".join(cell.source for cell in notebook.cells
                      if cell.cell_type == "markdown" and "remove-cell" not in cell.metadata.get("tags", []))
    assert "## The data" in shown and "invented" in shown
    for phrase in ("The generator was calibrated", "synthetic trial", "Does the shortcut match", "A worked example"):
        assert phrase not in shown
    glued = {output["metadata"]["scrapbook"]["name"]: output["data"]
             for cell in notebook.cells for output in cell.get("outputs", []) if "scrapbook" in output.get("metadata", {})}
    assert "Demonstration: real images, invented scores." in glued["data_notice"]["application/papermill.record/text/markdown"]


@pytest.mark.parametrize("mistake,expected", [
    ("missing_session", "participant sub-03, session post: expected"),
    ("ids_without_sub", "sub-"),
    ("shifted_atlas", "affine"),
    ("too_few_per_arm", "at least 4"),
    ("unknown_key", "atlass"),
])
def test_each_mistake_is_a_clear_error_before_any_job(example, tmp_path, mistake, expected):
    """The mistakes of the issue on the worked example's real layout: each stops the run (non-zero)
    before any job, with a message naming what is wrong."""
    copy = tmp_path / "example"
    shutil.copytree(example, copy)
    extra = {}
    derivatives = copy / "derivatives" / "qsiprep"
    if mistake == "missing_session":
        next((derivatives / "sub-03" / "ses-post" / "dwi").glob("*_desc-preproc_dwi.nii.gz")).unlink()
    elif mistake == "ids_without_sub":
        table = copy / "participants.tsv"
        table.write_text(table.read_text().replace("sub-01\t", "01\t"))
    elif mistake == "shifted_atlas":
        atlas_path = copy / "atlas" / "atlas-slabs_dseg.nii.gz"
        atlas = nib.load(atlas_path)
        affine = atlas.affine.copy()
        affine[:3, 3] += 50.0
        nib.save(nib.Nifti1Image(np.asarray(atlas.dataobj), affine), atlas_path)
    elif mistake == "too_few_per_arm":
        table = copy / "participants.tsv"
        lines = table.read_text().splitlines()
        table.write_text("\n".join(line for line in lines if "\tsaline\t" not in line or "sub-12" in line) + "\n")
    elif mistake == "unknown_key":
        extra = {"atlass": "typo"}
    profile = _profile(copy, tmp_path, **extra)
    result = snakemake("--configfile", profile, "--cores", "1", timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert expected in output, output[-3000:]
    assert "Traceback" not in output and "Nothing to be done" not in output
    assert not (tmp_path / "work" / "dti").exists()  # no job ran
