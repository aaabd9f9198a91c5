"""The NIMH crossover route (config/ds005917.yaml), end to end on a SYNTHETIC stand-in written in
ds005917's exact fMRIPrep layout (participants, ses-b0, every rest run, file names) with the real
responder labels: no download, no fMRIPrep. The chapter must say the data are synthetic."""
import json
import subprocess
import sys

import nbformat
import pytest
import yaml

from .conftest import ROOT, snakemake

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def stand_in(tmp_path_factory):
    out = tmp_path_factory.mktemp("ds005917")
    subprocess.run([sys.executable, str(ROOT / "scripts" / "ds005917.py"), "stand-in", str(out)], check=True, cwd=ROOT)
    return out


def _profile(stand_in, folder, **fmri):
    profile = yaml.safe_load((ROOT / "config" / "ds005917.yaml").read_text(encoding="utf-8"))
    profile["workdir"] = str(folder / "work")
    profile["fmri"].update(root=str(stand_in / "fmriprep"), participants=str(stand_in / "fmri_participants.tsv"),
                           rois=str(stand_in / "rois.tsv"), **fmri)
    profile["fmri"] = {key: value for key, value in profile["fmri"].items() if value is not None}
    # lighter inference for a test (the route, not the numbers, is under test)
    profile["simulations"] = {"fmri-prediction": {"n_cohorts": 4, "n_permutations": 9,
                                                  "real_design": {"n_cohorts": 2, "n_permutations": 9}}}
    profile["claims"] = {"fmri-prediction": {"parameters": {"n_permutations": 19, "n_repeats": 2}}}
    path = folder / "profile.yaml"
    path.write_text(yaml.safe_dump(profile, sort_keys=False), encoding="utf-8")
    return str(path)


def test_the_stand_in_has_the_real_design_and_layout(stand_in):
    from analysis.claims.studies import real_design

    design = real_design(str(ROOT / "data" / "ds005917"))
    labels = (stand_in / "fmri_participants.tsv").read_text().splitlines()[1:]
    assert [line.split("\t")[0] for line in labels] == design["participants"]
    assert sum(int(line.split("\t")[1]) for line in labels) == design["n_responders"]
    func = stand_in / "fmriprep" / "sub-MOA101" / "ses-b0" / "func"
    assert sorted(path.name for path in func.glob("*_bold.nii.gz")) == [
        f"sub-MOA101_ses-b0_task-rest_run-{run}_space-MNI152NLin2009cAsym_desc-preproc_bold.nii.gz" for run in ("01", "02")]
    assert json.loads((stand_in / "fmriprep" / "dataset_description.json").read_text())["Synthetic"] is True


def test_without_a_run_choice_the_route_stops_and_names_the_runs(stand_in, tmp_path):
    result = snakemake("--configfile", _profile(stand_in, tmp_path, run=None), "--dry-run", timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "sub-MOA101: run-01, run-02" in output and "fmri.run" in output and "Nothing to be done" not in output


def test_the_fmri_chapter_runs_on_the_stand_in_and_says_it_is_synthetic(stand_in, tmp_path):
    work = tmp_path / "work"
    profile = _profile(stand_in, tmp_path)
    result = snakemake(str(work / "results" / "fmri-prediction.json"), "--configfile", profile,
                       timeout=1500)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    payload = json.loads((work / "results" / "fmri-prediction.json").read_text())
    assert payload["data"] == "synthetic" and payload["verdict"] == "not testable with public data"
    assert payload["models"]["whole connectome (tangent)"]["n"] == 27
    plan = snakemake(str(work / "fmri" / "qc.tsv"), "--configfile", profile, "--dry-run", "--forceall",
                     "--printshellcmds", timeout=600).stdout
    assert "sub-MOA101_ses-b0_task-rest_run-01_space-MNI152NLin2009cAsym_desc-preproc_bold.nii.gz" in plan
    assert "_run-02_" not in plan  # the profile's run, never the second one
    notebook = nbformat.read(str(work / "site" / "book" / "claims" / "fmri-prediction.ipynb"), as_version=4)
    glued = {output["metadata"]["scrapbook"]["name"]: output["data"]
             for cell in notebook.cells for output in cell.get("outputs", []) if "scrapbook" in output.get("metadata", {})}
    notice = glued["data_notice"]["application/papermill.record/text/markdown"]
    assert notice.startswith("**Synthetic data.** 27 participants")
