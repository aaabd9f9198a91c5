"""Papermill smoke runs of the claim notebooks, and determinism of their results files."""
import json

import pytest

from analysis import paths
from analysis.claims import VERDICTS, load_registry
from analysis.claims.studies import SCENARIOS, run_study
from analysis.results import write_results
from analysis.build.workflow import load_config, resolve_config, run_notebook

from .conftest import snakemake

pytestmark = pytest.mark.workflow  # runs Snakemake or papermill: not in make test-fast

CLAIMS = [entry for entry in load_registry() if entry.get("notebook")]
# keep the smoke runs short: fewer permutations and simulated datasets than the book uses
SMOKE_OVERRIDES = {"fmri-prediction": {"n_permutations": 20, "n_repeats": 2}}
SMOKE_STUDIES = {"dti-neuroplasticity": {"n_simulations": 3, "seed": 1, "measurement_sd": 0.004},
                 "fmri-prediction": {"n_cohorts": 2, "n_permutations": 19, "n_repeats": 1, "test_size": 200,
                                     "seed": 1, "real_design": {"dataset_dir": "data/ds005917", "n_cohorts": 2,
                                                                "n_permutations": 19}}}


def _small_studies(claim: str, folder, parameters: dict) -> None:
    """Each scenario of the claim's simulation study, run small (the book's sizes take minutes), in
    place of the files the notebook's parameters name."""
    for key in ("operating_characteristics_paths", "real_design_paths"):
        if key not in parameters:
            continue
        files = []
        for configured in parameters[key]:
            scenario = configured.rsplit("/", 1)[-1].removesuffix(".json")
            assert scenario in SCENARIOS[claim]
            path = folder / f"{scenario}.json"
            write_results(path, run_study(claim, scenario, SMOKE_STUDIES[claim]))
            files.append(str(path))
        parameters[key] = files


@pytest.mark.parametrize("entry", CLAIMS, ids=[entry["id"] for entry in CLAIMS])
def test_notebook_runs_and_is_deterministic(tmp_path, entry):
    config = resolve_config(load_config(paths.CONFIG_DIR / "default.yaml"))
    parameters = {**config["claims"][entry["id"]]["parameters"],
                  **SMOKE_OVERRIDES.get(entry["id"], {})}
    if entry["id"] in SMOKE_STUDIES:
        _small_studies(entry["id"], tmp_path, parameters)
    missing = [value for key, value in parameters.items()
               if key.endswith("_path") and value and not (paths.ROOT / value).exists()]
    if missing:  # generated inputs (e.g. the DTI tables): let the workflow make them
        result = snakemake(*missing)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    outputs = []
    for attempt in ("first", "second"):
        results = tmp_path / attempt / f"{entry['id']}.json"
        notebook = tmp_path / attempt / f"{entry['id']}.ipynb"
        run_notebook(paths.ROOT / entry["notebook"], notebook,
                     {**parameters, "results_path": str(results), "figures_dir": str(tmp_path / attempt / "figures")},
                     failed_dir=tmp_path / "failed")
        outputs.append(results.read_bytes())
    assert outputs[0] == outputs[1], "two runs on the same inputs gave different results files"
    result = json.loads(outputs[0])
    assert result["claim"] == entry["id"]
    if entry.get("evidence_for"):  # evidence for another claim: numbers, no verdict of its own
        assert "verdict" not in result and result["data"] == "real"
    else:
        assert result["verdict"] in VERDICTS
        assert all(item["verdict"] in VERDICTS for item in result["subclaims"])
    for item in result.get("subclaims", []):
        assert {"key", "verdict", "data", "rule", "basis", "source_check"} <= set(item)
        if item["data"] == "synthetic":
            assert item["verdict"] == "not testable with public data"
    if entry["data"] == "synthetic":
        characteristics = result["operating_characteristics"]
        assert characteristics["n_simulations"] > 0 and characteristics["scenarios"]
    executed = json.loads(notebook.read_text(encoding="utf-8"))
    errors = [output for cell in executed["cells"] if cell["cell_type"] == "code"
              for output in cell.get("outputs", []) if output.get("output_type") == "error"]
    assert not errors
    glued = {output["metadata"]["scrapbook"]["name"] for cell in executed["cells"] if cell["cell_type"] == "code"
             for output in cell.get("outputs", []) if "scrapbook" in output.get("metadata", {})}
    assert len(glued) > 20
    assert sorted((tmp_path / "first" / "figures").glob("*.png"))
