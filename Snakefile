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
import subprocess
from pathlib import Path

import yaml

configfile: "config/default.yaml"

WORK = config.get("workdir", ".work")
SITE = f"{WORK}/site"
PDF_NAME = "ketamine-trd.pdf"

REGISTRY = yaml.safe_load(Path("claims.yaml").read_text(encoding="utf-8"))
CLAIMS = [entry["id"] for entry in REGISTRY if entry.get("notebook")]
ANALYSIS_CODE = sorted(str(path) for path in Path("analysis").rglob("*.py"))
BOOK_SOURCES = ["_config.yml", "_toc.yml"] + sorted(
    str(path) for path in Path("book").rglob("*")
    if path.is_file() and "_generated" not in path.parts and ".ipynb_checkpoints" not in path.parts
    and not (path.parent.name == "claims" and path.suffix == ".ipynb"))
GENERATED = [f"{SITE}/book/_generated/{name}.md" for name in ("scoreboard", "data-dictionary", "reproducibility")]
EXECUTED = [f"{SITE}/book/claims/{claim}.ipynb" for claim in CLAIMS]
RESULTS = [f"{WORK}/results/{claim}.json" for claim in CLAIMS]
LITERATURE = config["literature"]["studies"]
TO_VERIFY = str(Path(LITERATURE).with_name("to_verify.csv"))
PROVENANCE = str(Path(LITERATURE).with_name("claim_provenance.yaml"))


def git_commit():
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def claim_data(wildcards):
    """Data files a claim notebook reads: every parameter that names an existing file
    (a change to one re-executes the notebook), plus the validation checks."""
    parameters = config["claims"][wildcards.claim]["parameters"]
    files = sorted(str(value) for value in parameters.values() if isinstance(value, str) and Path(value).is_file())
    if LITERATURE in files:
        files.append(f"{WORK}/checks/literature.ok")
    return files


rule all:
    input:
        "_build/html/index.html",
        f"_build/pdf/{PDF_NAME}",


rule claim:
    """Re-execute the claim notebooks only (use --config only=<claim> for one)."""
    input:
        [f"{WORK}/results/{config['only']}.json"] if config.get("only") else RESULTS,


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
        "analysis/claims.py",
    output:
        f"{SITE}/book/_generated/scoreboard.md",
    shell:
        f"python -m analysis scoreboard {{output}} --results-dir {WORK}/results"


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


rule reproducibility:
    input:
        notebooks=EXECUTED,
        results=RESULTS,
        data=[LITERATURE, PROVENANCE],
        requirements="requirements.txt",
        code="analysis/book_pages.py",
    output:
        f"{SITE}/book/_generated/reproducibility.md",
    params:
        commit=git_commit(),
    shell:
        "python -m analysis reproducibility {output} --notebooks {input.notebooks}"
        " --data {input.data} --results {input.results}"


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
    output:
        f"{SITE}/_build/latex/{PDF_NAME}",
    message:
        "Building the PDF book (XeLaTeX)"
    log:
        f"{WORK}/logs/pdf.log",
    shell:
        f"jupyter-book build {SITE} --builder pdflatex --warningiserror --keep-going > {{log}} 2>&1"
        " || {{ tail -n 60 {log}; exit 1; }}"


rule publish:
    input:
        html=f"{SITE}/_build/html/index.html",
        pdf=f"{SITE}/_build/latex/{PDF_NAME}",
        results=RESULTS,
    output:
        "_build/html/index.html",
        f"_build/pdf/{PDF_NAME}",
    message:
        "Publishing the build into _build/ and results/"
    shell:
        f"python -m analysis publish --site-build {SITE}/_build --pdf {{input.pdf}} --results-dir {WORK}/results"
