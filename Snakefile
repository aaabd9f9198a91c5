# The workflow: data -> claim notebooks -> results/<claim>.json -> HTML -> PDF -> publish.
#
#   snakemake --cores 2                       build everything (what `make book` runs)
#   snakemake --cores 2 --configfile config/real.yaml    another run profile
#   snakemake --cores 1 claim --config only=response-rates   re-execute one claim's notebook
#   snakemake -n                              show what would run, and why
#
# Every step writes into the staging folder (config "workdir", default .work/); only the
# final `publish` step touches _build/ and results/, and only after everything succeeded.
import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from analysis.imaging.collect import collect_dti, collect_fmri
from analysis.workflow import cancel_scheduler_timers, freeze_objects, job_environment

configfile: "config/default.yaml"

# The jobs' shell commands call `python -m analysis` and `jupyter-book`: they run from the
# environment that runs Snakemake (its interpreter's folder first on PATH) with the Makefile's
# settings, so `.venv/bin/snakemake --profile profiles/slurm ...` needs no activated venv; the SLURM
# plugin submits with --export=ALL, so the compute nodes get the same.
os.environ.update(job_environment(os.environ, sys.executable))

# Snakemake's own import chain (about 2000 modules) into the collector's permanent generation: the
# interpreter's collections at exit walked it all, about 0.35 s added to every run
# (analysis.workflow.freeze_objects). Objects of the run itself are collected as usual.
freeze_objects()

WORK = config.get("workdir", ".work")

# Rules that stay on the submitting machine under a cluster executor (profiles/slurm): cheap
# bookkeeping, the collect steps and the book build, which needs TeX.
localrules: all, claim, validate_literature, collect_dti, collect_fmri, stage_book, scoreboard, data_dictionary,
    cite_this, reproducibility, benchmarks_page, html, pdf, publish
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
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


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


def make_batches(items, size, label):
    """Group per-subject work into jobs of `size` items (imports are paid once per job).
    size 1 gives one job per item, named by `label(item)`; larger sizes give `batch-NNN` jobs."""
    size = max(1, int(size))
    if size == 1:
        return {label(item): [item] for item in items}
    return {f"batch-{start // size + 1:03d}": items[start:start + size] for start in range(0, len(items), size)}


# ---------------------------------------------------------------- DTI trial (claim dti-neuroplasticity)
DTI = config["dti"]
DTI_ROOT = DTI["root"]
DTI_SESSIONS = ["pre", "post"]
if DTI["mode"] == "synthetic":
    DTI_SUBJECTS = [f"sub-{index:03d}" for index in range(1, int(DTI["synthetic"]["n_participants"]) + 1)]
elif DTI["mode"] == "real":
    import csv

    with open(DTI["participants"], newline="", encoding="utf-8") as stream:
        DTI_SUBJECTS = [row["participant_id"] for row in csv.DictReader(stream, delimiter="\t")]
else:
    raise ValueError(f"config dti.mode must be 'synthetic' or 'real', got {DTI['mode']!r}")


def dwi_files(participant, session):
    base = f"{DTI_ROOT}/{participant}/ses-{session}/dwi/{participant}_ses-{session}_space-{DTI['space']}"
    return {"dwi": f"{base}_desc-preproc_dwi.nii.gz", "bval": f"{base}_desc-preproc_dwi.bval",
            "bvec": f"{base}_desc-preproc_dwi.bvec", "mask": f"{base}_desc-brain_mask.nii.gz"}


def dwi_inputs(items):
    """Input files of the sessions `items`. A synthetic cohort is written in one piece (into a
    temporary folder, then renamed), so its participants.tsv stands for all of its images: listing
    thousands of generated files as outputs makes Snakemake's DAG quadratic in the cohort size."""
    if DTI["mode"] == "synthetic":
        return [DTI["participants"]]
    return [path for participant, session in items for path in dwi_files(participant, session).values()]


DTI_ITEMS = [(participant, session) for participant in DTI_SUBJECTS for session in DTI_SESSIONS]
ALL_DWI_FILES = dwi_inputs(DTI_ITEMS)
DTI_BATCHES = make_batches(DTI_ITEMS, DTI.get("batch_size", 1), lambda item: f"{item[0]}_ses-{item[1]}")

if DTI["mode"] == "synthetic":

    rule simulate_dti:
        """Generate the SYNTHETIC trial cohort (deterministic from the seed)."""
        input:
            "analysis/simulate/dti.py",
        output:
            DTI["participants"],
            f"{DTI_ROOT}/dataset_description.json",
            DTI["atlas"],
            DTI["atlas_labels"],
            f"{DTI_ROOT}/truth/true_roi_md.tsv",  # the planted values (the chapter's shortcut check)
        params:
            n=DTI["synthetic"]["n_participants"],
            seed=DTI["synthetic"]["seed"],
            # optional (benchmarks): a finer grid, same anatomy in mm; 1 = the default images
            scale=("" if int(DTI["synthetic"].get("resolution_scale", 1)) == 1
                   else f" --resolution-scale {int(DTI['synthetic']['resolution_scale'])}"),
        message:
            "Simulating the synthetic DTI trial ({params.n} participants, seed {params.seed})"
        shell:
            f"python -m analysis simulate-dti {DTI_ROOT} --n {{params.n}} --seed {{params.seed}}{{params.scale}}"


rule discover_dti:
    input:
        participants=DTI["participants"],
        files=ALL_DWI_FILES,
        code="analysis/imaging/discovery.py",
    output:
        f"{WORK}/dti/manifest.tsv",
    message:
        "Finding the diffusion data with pybids"
    shell:
        f"python -m analysis discover-dti --root {DTI_ROOT} --participants {{input.participants}}"
        f" --space {DTI['space']} --out {{output}}"


rule dti_roi:
    """Tensor fit and ROI mean diffusivity for a batch of sessions (config dti.batch_size;
    1 = one job per participant and session)."""
    input:
        manifest=f"{WORK}/dti/manifest.tsv",
        files=lambda wildcards: dwi_inputs(DTI_BATCHES[wildcards.batch]),
        atlas=DTI["atlas"],
        labels=DTI["atlas_labels"],
        code="analysis/imaging/dti.py",
    output:
        table=f"{WORK}/dti/roi/{{batch}}_roi-md.tsv",
        qc=f"{WORK}/dti/roi/{{batch}}_qc.tsv",
    wildcard_constraints:
        batch="(sub-[A-Za-z0-9]+_ses-(pre|post))|(batch-[0-9]+)",
    params:
        pairs=lambda wildcards: " ".join(f"{participant}:{session}"
                                         for participant, session in DTI_BATCHES[wildcards.batch]),
    message:
        "Fitting the diffusion tensor: {wildcards.batch}"
    shell:
        "python -m analysis dti-roi --manifest {input.manifest} --items {params.pairs}"
        " --atlas {input.atlas} --labels {input.labels} --out {output.table} --qc {output.qc}"


rule collect_dti:
    input:
        tables=expand(f"{WORK}/dti/roi/{{batch}}_roi-md.tsv", batch=list(DTI_BATCHES)),
        qc=expand(f"{WORK}/dti/roi/{{batch}}_qc.tsv", batch=list(DTI_BATCHES)),
        code="analysis/imaging/collect.py",
    output:
        table=f"{WORK}/dti/roi_md.tsv",
        qc=f"{WORK}/dti/qc.tsv",
    message:
        "Collecting regional MD of {params.sessions} sessions"
    params:
        sessions=len(DTI_SUBJECTS) * len(DTI_SESSIONS),
    run:
        # in the Snakemake process: a job of its own paid interpreter start-up and pandas again
        # (`python -m analysis collect-dti` does the same from a shell)
        collect_step(collect_dti, list(input.tables), list(input.qc), output.table, output.qc)


# ---------------------------------------------------------------- fMRI prediction (claim fmri-prediction)
FMRI = config["fmri"]
FMRI_ROOT = FMRI["root"]
if FMRI["mode"] == "synthetic":
    FMRI_SUBJECTS = [f"sub-{index:03d}" for index in range(1, int(FMRI["synthetic"]["n_participants"]) + 1)]
else:
    import csv

    with open(FMRI["participants"], newline="", encoding="utf-8") as stream:
        FMRI_SUBJECTS = [row["participant_id"] for row in csv.DictReader(stream, delimiter="\t")]


def fmri_inputs(participants):
    """Input files of `participants` (a synthetic cohort: its participants.tsv, see dwi_inputs)."""
    if FMRI["mode"] == "synthetic":
        return [FMRI["participants"]]
    return [path for participant in participants for path in bold_files(participant).values()]


FMRI_BATCHES = make_batches(FMRI_SUBJECTS, FMRI.get("batch_size", 1), lambda participant: participant)


def bold_files(participant):
    func = f"{FMRI_ROOT}/{participant}/func/{participant}_task-rest"
    return {"bold": f"{func}_space-{FMRI['space']}_desc-preproc_bold.nii.gz",
            "mask": f"{func}_space-{FMRI['space']}_desc-brain_mask.nii.gz",
            "confounds": f"{func}_desc-confounds_timeseries.tsv"}


if FMRI["mode"] == "synthetic":

    rule simulate_fmri:
        """Generate the SYNTHETIC baseline fMRI cohort (deterministic from the seed)."""
        input:
            "analysis/simulate/fmri.py",
        output:
            FMRI["participants"],
            FMRI["rois"],
            f"{FMRI_ROOT}/dataset_description.json",
            f"{FMRI_ROOT}/truth/latent_parameters.tsv",  # the planted parameters (the chapter's shortcut check)
        params:
            n=FMRI["synthetic"]["n_participants"],
            seed=FMRI["synthetic"]["seed"],
        message:
            "Simulating the synthetic fMRI cohort ({params.n} participants, seed {params.seed})"
        shell:
            f"python -m analysis simulate-fmri {FMRI_ROOT} --n {{params.n}} --seed {{params.seed}}"


def batch_paths(batch, kind):
    return " ".join(bold_files(participant)[kind] for participant in FMRI_BATCHES[batch])


rule fmri_timeseries:
    """Confound-cleaned ROI time series (nilearn) of a batch of participants (config
    fmri.batch_size; 1 = one job per participant)."""
    input:
        images=lambda wildcards: fmri_inputs(FMRI_BATCHES[wildcards.batch]),
        rois=FMRI["rois"],
        code="analysis/imaging/fmri.py",
    output:
        series=directory(f"{WORK}/fmri/timeseries/{{batch}}"),
        qc=f"{WORK}/fmri/timeseries/{{batch}}_qc.tsv",
    wildcard_constraints:
        batch="(sub-[A-Za-z0-9]+)|(batch-[0-9]+)",
    message:
        "Extracting ROI time series: {wildcards.batch}"
    params:
        participants=lambda wildcards: " ".join(FMRI_BATCHES[wildcards.batch]),
        bold=lambda wildcards: batch_paths(wildcards.batch, "bold"),
        mask=lambda wildcards: batch_paths(wildcards.batch, "mask"),
    shell:
        "python -m analysis fmri-timeseries --bold {params.bold} --mask {params.mask} --rois {input.rois}"
        " --participant {params.participants} --out-dir {output.series} --qc {output.qc}"


rule collect_fmri:
    input:
        qc=expand(f"{WORK}/fmri/timeseries/{{batch}}_qc.tsv", batch=list(FMRI_BATCHES)),
        code="analysis/imaging/collect.py",
    output:
        f"{WORK}/fmri/qc.tsv",
    run:
        collect_step(collect_fmri, list(input.qc), output[0])  # in the Snakemake process, as collect_dti


# Snakemake leaves a 1-s timer of its job-rate limiter running; the interpreter waited for it
# at exit (0.7-1 s added to every run that executed a job). Cancel it once the run is over.
onsuccess:
    cancel_scheduler_timers()


onerror:
    cancel_scheduler_timers()


rule all:
    default_target: True
    input:
        "_build/html/index.html",
        f"_build/pdf/{PDF_NAME}",


rule claim:
    """Re-execute the claim notebooks only (use --config only=<claim> for one)."""
    input:
        [f"{WORK}/results/{config['only']}.json"] if config.get("only") else RESULTS,


# ------------------------------------------------------------- simulation studies (imaging claims)
SIMULATION_CODE = {
    "dti-neuroplasticity": ["analysis/claims/dti_neuroplasticity.py", "analysis/claims/verdicts.py",
                            "analysis/stats/trial.py", "analysis/simulate/dti.py"],
    "fmri-prediction": ["analysis/simulate/prediction_study.py", "analysis/stats/prediction.py",
                        "analysis/simulate/fmri.py", "analysis/claims/nimh_crossover.py", "analysis/io.py",
                        "data/ds005917/SHA256SUMS"],
}


rule simulation_study:
    """One scenario of a claim's simulation study: what the analysis detects at the design."""
    input:
        code=lambda wildcards: SIMULATION_CODE[wildcards.claim] + ["analysis/claims/studies.py"],
        registry="claims.yaml",
    output:
        f"{WORK}/simulations/{{claim}}/{{scenario}}.json",
    wildcard_constraints:
        claim="|".join(SIMULATION_CODE),
    params:
        settings=lambda wildcards: json.dumps(config["simulations"][wildcards.claim], sort_keys=True),
    message:
        "Simulation study {wildcards.claim}, scenario {wildcards.scenario}"
    shell:
        "python -m analysis simulation-study --claim {wildcards.claim} --scenario {wildcards.scenario}"
        " --settings {params.settings:q} --out {output}"


rule validate_literature:
    input:
        LITERATURE,
        "analysis/io.py",
        "analysis/schemas.py",
    output:
        touch(f"{WORK}/checks/literature.ok"),
    message:
        "Validating the literature table {input[0]}"
    shell:
        "python -m analysis validate-literature {input[0]}"


rule execute_claim:
    input:
        notebook="book/claims/{claim}.ipynb",
        code=ANALYSIS_CODE,
        registry="claims.yaml",
        data=claim_data,
    output:
        notebook=f"{SITE}/book/claims/{{claim}}.ipynb",
        results=f"{WORK}/results/{{claim}}.json",
    wildcard_constraints:
        claim="|".join(CLAIMS),  # results/benchmarks.json is a copy (rule benchmarks_page), not a claim
    params:
        parameters=lambda wildcards: json.dumps(config["claims"][wildcards.claim]["parameters"], sort_keys=True),
        profile=config.get("profile", "default"),
    message:
        "Executing the claim notebook {input.notebook} (papermill)"
    shell:
        "python -m analysis run-notebook --claim {wildcards.claim} --parameters {params.parameters:q}"
        " --profile {params.profile:q}"
        " --source {input.notebook} --output {output.notebook} --results {output.results}"
        f" --figures {WORK}/results/figures/{{wildcards.claim}}"


rule stage_book:
    input:
        BOOK_SOURCES,
    output:
        touch(f"{WORK}/checks/staged.ok"),
    message:
        "Staging the book sources into {SITE}"
    shell:
        f"python -m analysis stage-book {SITE}"


rule scoreboard:
    input:
        "claims.yaml",
        RESULTS,
        "analysis/claims/scoreboard.py",
        "analysis/claims/verdicts.py",
        "analysis/claims/registry.py",
    output:
        scoreboard=f"{SITE}/book/_generated/scoreboard.md",
        key_findings=f"{SITE}/book/_generated/key-findings.md",
    shell:
        f"python -m analysis scoreboard {{output.scoreboard}} --key-findings {{output.key_findings}}"
        f" --results-dir {WORK}/results"


rule data_dictionary:
    input:
        literature=LITERATURE,
        to_verify=TO_VERIFY,
        code=["analysis/schemas.py", "analysis/book_pages.py"],
        check=f"{WORK}/checks/literature.ok",
    output:
        f"{SITE}/book/_generated/data-dictionary.md",
    shell:
        "python -m analysis data-dictionary {output} --literature {input.literature} --to-verify {input.to_verify}"


rule cite_this:
    input:
        "CITATION.cff",
        "analysis/book_pages.py",
    output:
        f"{SITE}/book/_generated/cite-this.md",
    params:
        commit=git_commit(),  # a new commit rewrites the box
    shell:
        "python -m analysis cite-this {output} --citation {input[0]}"


rule reproducibility:
    input:
        notebooks=EXECUTED,
        results=RESULTS,
        data=[LITERATURE, TO_VERIFY, PROVENANCE, *LITERATURE_EXTRAS],
        requirements="requirements.txt",
        code="analysis/book_pages.py",
    output:
        f"{SITE}/book/_generated/reproducibility.md",
    params:
        commit=git_commit(),
    shell:
        "python -m analysis reproducibility {output} --notebooks {input.notebooks}"
        " --data {input.data} --results {input.results}"


rule benchmarks_page:
    input:
        report=[BENCHMARK_REPORT] if BENCHMARK_COPY else [],
        code="analysis/book_pages.py",
    output:
        page=f"{SITE}/book/_generated/benchmarks.md",
        results_copy=BENCHMARK_COPY,
    params:
        report=f"--report {BENCHMARK_REPORT} --copy {BENCHMARK_COPY[0]}" if BENCHMARK_COPY else "",
    shell:
        "python -m analysis benchmarks-page {output.page} {params.report}"


rule html:
    input:
        f"{WORK}/checks/staged.ok",
        EXECUTED,
        GENERATED,
    output:
        f"{SITE}/_build/html/index.html",
    message:
        "Building the HTML book"
    log:
        f"{WORK}/logs/html.log",
    shell:
        f"jupyter-book build {SITE} --builder html --warningiserror --keep-going > {{log}} 2>&1"
        " || {{ tail -n 40 {log}; exit 1; }}"


rule pdf:
    input:
        f"{SITE}/_build/html/index.html",
        "CITATION.cff",
    output:
        f"{SITE}/_build/latex/{PDF_NAME}",
    params:
        commit=git_commit(),  # the title page names the commit
    message:
        "Building the PDF book (XeLaTeX)"
    log:
        f"{WORK}/logs/pdf.log",
    shell:
        f"python -c 'from pathlib import Path; from analysis.workflow import write_pdf_config as write;"
        f" write(Path(\"{SITE}/_config.yml\"), Path(\"{SITE}/_config_pdf.yml\"), Path(\"CITATION.cff\"))'"
        f" && jupyter-book build {SITE} --builder pdflatex --config {SITE}/_config_pdf.yml --warningiserror"
        " --keep-going > {log} 2>&1"
        " || {{ tail -n 60 {log}; exit 1; }}"


rule publish:
    input:
        html=f"{SITE}/_build/html/index.html",
        pdf=f"{SITE}/_build/latex/{PDF_NAME}",
        results=RESULTS + BENCHMARK_COPY,
    output:
        "_build/html/index.html",
        f"_build/pdf/{PDF_NAME}",
    message:
        "Publishing the build into _build/ and results/"
    shell:
        f"python -m analysis publish --site-build {SITE}/_build --pdf {{input.pdf}} --results-dir {WORK}/results"
