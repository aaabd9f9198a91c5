# Shared by every stage: the validated config, the working paths derived from its `workdir`,
# the claim registry and small helpers.
import json
import os
import subprocess
import sys
from pathlib import Path

import yaml
from snakemake.exceptions import WorkflowError

from analysis import paths
from analysis.bids import bold_paths, dwi_paths
from analysis.imaging.collect import collect_dti, collect_fmri
from analysis.runtime import freeze_objects
from analysis.build.workflow import config_problems, job_environment, resolve_config

# The jobs' shell commands call `python -m analysis` and `jupyter-book`: they run from the
# environment that runs Snakemake (its interpreter's folder first on PATH) with the jobs' settings
# (analysis.build.workflow.job_environment), so `.venv/bin/snakemake --profile profiles/slurm ...`
# needs no activated venv; the SLURM plugin submits with --export=ALL, so the compute nodes get the same.
os.environ.update(job_environment(os.environ, sys.executable))

# Snakemake's own import chain (about 2000 modules) into the collector's permanent generation, so
# that the interpreter's collections skip it (analysis.runtime.freeze_objects; the measured effect is
# in benchmarks/README.md). Objects of the run itself are collected as usual.
freeze_objects()

# unknown keys and wrong types stop the run here, each named by its key path and the profile's file
_problems = config_problems(config, Path(workflow.basedir) / "schemas" / "config.schema.yaml")
if _problems:
    raise WorkflowError("the run profile " + " + ".join(["config/default.yaml", *map(str, workflow.overwrite_configfiles)])
                        + " is not valid:\n  - " + "\n  - ".join(_problems))
WORK = config["workdir"]


config.update(resolve_config(config))  # claim parameters: {workdir} and data-path references resolved


# Where a run publishes: the default profile into _build/ and results/, any other profile into
# _build/<profile>/ (html, pdf and results), so that it never overwrites the default book.
PROFILE = config["profile"]
PUBLISHED = "_build" if PROFILE == "default" else f"_build/{PROFILE}"
PUBLISHED_RESULTS = "results" if PROFILE == "default" else f"_build/{PROFILE}/results"

SITE = f"{WORK}/site"
PDF_NAME = "ketamine-trd.pdf"

REGISTRY = yaml.safe_load(Path("claims.yaml").read_text(encoding="utf-8"))
CLAIMS = [entry["id"] for entry in REGISTRY if entry.get("notebook")]
ANALYSIS_CODE = sorted(str(path) for path in Path("analysis").rglob("*.py"))
BOOK_SOURCES = ["_config.yml", "_toc.yml", "CITATION.cff"] + sorted(
    str(path) for path in Path("book").rglob("*")
    if path.is_file() and "_generated" not in path.parts and ".ipynb_checkpoints" not in path.parts
    and not (path.parent.name == "claims" and path.suffix == ".ipynb"))
GENERATED = [f"{SITE}/book/_generated/{name}.md"
             for name in ("scoreboard", "key-findings", "cite-this", "data-dictionary", "reproducibility", "benchmarks")]
# Written by `make bench` (benchmarks/run.py), committed; shown in the appendix and copied to results/.
BENCHMARK_REPORT = "benchmarks/results/benchmarks.json"
BENCHMARK_COPY = [f"{WORK}/results/benchmarks.json"] if Path(BENCHMARK_REPORT).exists() else []
EXECUTED = [f"{SITE}/book/claims/{claim}.ipynb" for claim in CLAIMS]
RESULTS = [f"{WORK}/results/{claim}.json" for claim in CLAIMS]
LITERATURE = config["literature"]["studies"]
TO_VERIFY = str(Path(LITERATURE).with_name("to_verify.csv"))
PROVENANCE = str(Path(LITERATURE).with_name("claim_provenance.yaml"))
LITERATURE_EXTRAS = [str(Path(LITERATURE).with_name(name)) for name in
                     ("risk_of_bias.csv", "published_meta_analyses.csv", "search_log.csv")]


def git_commit():
    return paths.git_commit() or "unknown"


def claim_data(wildcards):
    """Files a claim notebook reads: every parameter whose name ends in `_path`, `_paths` or `_dir` (a change
    to one re-executes the notebook; generated ones are made first), plus validation checks."""
    parameters = config["claims"][wildcards.claim]["parameters"]
    files = sorted(str(value) for key, value in parameters.items() if key.endswith("_path") and value)
    files += sorted(str(value) for key, values in parameters.items() if key.endswith("_paths") for value in values)
    # a vendored dataset folder stands for its checksum list (the loader checks every file against it)
    files += sorted(f"{value}/SHA256SUMS" for key, value in parameters.items() if key.endswith("_dir") and value)
    if LITERATURE in files:
        files.append(f"{WORK}/checks/literature.ok")
    return files


def collect_step(function, *args):
    """Run a collect function in the Snakemake process; a bad table stops the run with the
    message that names its file, row and column (the outputs are not written)."""
    from snakemake.exceptions import WorkflowError

    from analysis.io import DataValidationError

    try:
        function(*args)
    except DataValidationError as error:
        raise WorkflowError(f"{function.__name__}: {error}") from None


def preflight(function, *args, **kwargs):
    """Run a check of analysis.preflight while the workflow is read, before any job: a missing input
    stops the run (non-zero exit) with the participant, session and expected file named."""
    from snakemake.exceptions import WorkflowError

    from analysis.io import DataValidationError
    from analysis.preflight import InputCheckError

    try:
        return function(*args, **kwargs)
    except (InputCheckError, DataValidationError) as error:
        raise WorkflowError(f"the run cannot start: {error}") from None


def make_batches(items, size, label):
    """Group per-subject work into jobs of `size` items (imports are paid once per job).
    size 1 gives one job per item, named by `label(item)`; larger sizes give `batch-NNN` jobs."""
    size = max(1, int(size))
    if size == 1:
        return {label(item): [item] for item in items}
    return {f"batch-{start // size + 1:03d}": items[start:start + size] for start in range(0, len(items), size)}
