"""Staging and publishing never lose the last good build."""
import os
import re
import subprocess
from pathlib import Path

import pytest

from analysis.build import workflow

from ..conftest import BIN, ROOT


def test_stage_book_copies_sources_but_not_claim_notebooks(tmp_path):
    root = tmp_path / "root"
    (root / "book" / "claims").mkdir(parents=True)
    (root / "book" / "_generated").mkdir()
    (root / "_config.yml").write_text("title: t\n")
    (root / "_toc.yml").write_text("root: book/intro\n")
    (root / "CITATION.cff").write_text("version: 1.0.0\n")
    (root / "book" / "intro.md").write_text("# Intro\n")
    (root / "book" / "claims" / "x.ipynb").write_text("{}")
    (root / "book" / "_generated" / "old.md").write_text("stale")
    site = tmp_path / "site"
    workflow.stage_book(site, root=root)
    assert (site / "book" / "intro.md").read_text() == "# Intro\n"
    assert (site / "CITATION.cff").exists()  # the footer's version is read from it
    assert not (site / "book" / "claims" / "x.ipynb").exists()
    assert not (site / "book" / "_generated").exists()
    # unchanged sources keep their staged mtime (Sphinx stays incremental)
    before = os.stat(site / "book" / "intro.md").st_mtime_ns
    os.utime(root / "book" / "intro.md", None)
    workflow.stage_book(site, root=root)
    assert os.stat(site / "book" / "intro.md").st_mtime_ns == before


def test_publish_replaces_whole_trees(tmp_path):
    root = tmp_path / "root"
    build = tmp_path / "site_build"
    (build / "html").mkdir(parents=True)
    (build / "html" / "index.html").write_text("new")
    pdf = tmp_path / "book.pdf"
    pdf.write_bytes(b"%PDF-new")
    results = tmp_path / "results"
    results.mkdir()
    (results / "claim.json").write_text("{}")
    (root / "_build" / "html").mkdir(parents=True)
    (root / "_build" / "html" / "stale.html").write_text("old")
    workflow.publish(build, pdf, results, root=root, pdf_name="book.pdf")
    assert (root / "_build" / "html" / "index.html").read_text() == "new"
    assert not (root / "_build" / "html" / "stale.html").exists()
    assert (root / "_build" / "pdf" / "book.pdf").read_bytes() == b"%PDF-new"
    assert (root / "results" / "claim.json").exists()
    assert [p.name for p in (root / "_build").iterdir() if p.name.startswith(".")] == []


def test_publish_failure_keeps_previous_build(tmp_path):
    root = tmp_path / "root"
    (root / "_build" / "html").mkdir(parents=True)
    (root / "_build" / "html" / "index.html").write_text("last good")
    with pytest.raises(FileNotFoundError):
        workflow.publish(tmp_path / "missing", tmp_path / "missing.pdf", tmp_path / "missing", root=root)
    assert (root / "_build" / "html" / "index.html").read_text() == "last good"


def test_run_notebook_failure_keeps_previous_output(tmp_path):
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    notebook.cells = [nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
                      nbformat.v4.new_code_cell("raise RuntimeError('planted failure')")]
    source = tmp_path / "claim.ipynb"
    nbformat.write(notebook, source)
    output = tmp_path / "out" / "claim.ipynb"
    output.parent.mkdir()
    output.write_text("last good")
    with pytest.raises(Exception, match="planted failure"):
        workflow.run_notebook(source, output, {"x": 2}, failed_dir=tmp_path / "failed")
    assert output.read_text() == "last good"
    assert (tmp_path / "failed" / "claim.ipynb").exists()
    assert [p.name for p in output.parent.iterdir()] == ["claim.ipynb"]


@pytest.mark.parametrize("kind", ["synthetic", "demonstration", "real"])
def test_executed_notebook_keeps_the_cells_of_its_data_kind(tmp_path, kind):
    """Cells tagged only-<kind> survive only in a run on that kind of data (the notebook glues
    its kind); parameter cells are always hidden; untagged cells always stay."""
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    notebook.cells = [
        nbformat.v4.new_code_cell("kind = 'real'", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("from analysis.report import glue_data_kind\nglue_data_kind(kind)"),
        nbformat.v4.new_markdown_cell("everyone"),
        nbformat.v4.new_markdown_cell("generator", metadata={"tags": ["only-synthetic"]}),
        nbformat.v4.new_markdown_cell("images", metadata={"tags": ["only-demonstration", "only-real"]}),
    ]
    source = tmp_path / "claim.ipynb"
    nbformat.write(notebook, source)
    output = tmp_path / "out.ipynb"
    workflow.run_notebook(source, output, {"kind": kind}, failed_dir=tmp_path / "failed")
    executed = nbformat.read(str(output), as_version=4)
    shown = [cell.source for cell in executed.cells
             if cell.cell_type == "markdown" and "remove-cell" not in cell.metadata.get("tags", [])]
    expected = {"synthetic": ["everyone", "generator"], "demonstration": ["everyone", "images"],
                "real": ["everyone", "images"]}[kind]
    assert shown == expected
    assert workflow.glued_value(executed, "dataset_kind") == kind
    assert all("remove-cell" in cell.metadata["tags"] for cell in executed.cells
               if {"parameters", "injected-parameters"} & set(cell.metadata.get("tags", [])))


def test_jobs_run_from_snakemakes_environment_without_an_activated_venv(tmp_path):
    """`.venv/bin/snakemake ...` (as the SLURM instructions run it) with the venv not on PATH: the
    jobs' `python -m analysis` must still be the venv's python (the system one lacks pandas)."""
    import subprocess

    from ..conftest import BIN, ROOT

    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", str(tmp_path))}
    target = tmp_path / "work" / "checks" / "literature.ok"
    result = subprocess.run([str(BIN / "snakemake"), str(target), "--cores", "1", "--config",
                             f"workdir={tmp_path / 'work'}"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert target.exists() and "all valid" in result.stdout + result.stderr
    environment = workflow.job_environment({"PATH": "/usr/bin:/bin"}, str(BIN / "python"))
    assert environment["PATH"].split(os.pathsep)[0] == str(BIN) and environment["PYTHONHASHSEED"] == "0"


@pytest.mark.workflow
def test_collect_step_runs_inside_snakemake_and_a_bad_batch_table_stops_the_run(tmp_path):
    """The collect steps are `run:` blocks; the workflow profile (profiles/default,
    force-use-threads) keeps them in a thread of the Snakemake process instead of a new
    Snakemake process per job. A bad per-batch table stops the run with its file, row and column."""
    import yaml

    from ..conftest import ROOT, snakemake

    profile = yaml.safe_load((ROOT / "profiles" / "default" / "config.yaml").read_text(encoding="utf-8"))
    assert profile == {"force-use-threads": True}
    config = workflow.scaled_config(workflow.load_config(ROOT / "config" / "default.yaml"), 3, tmp_path)
    config["dti"]["batch_size"] = 2
    config_file = tmp_path / "config.yaml"
    config_file.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    work = Path(config["workdir"])
    target = work / "dti" / "roi_md.tsv"
    result = snakemake(f"--configfile={config_file}", "--verbose", str(target), timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "spawned job" not in result.stdout + result.stderr  # Snakemake's debug line for a spawned `run:` job
    assert len(target.read_text(encoding="utf-8").splitlines()) == 1 + 3 * 2 * 7  # header, 3 x 2 sessions x 7 ROIs
    batch = work / "dti" / "roi" / "batch-002_roi-md.tsv"
    lines = batch.read_text(encoding="utf-8").splitlines()
    fields = lines[2].split("\t")
    fields[3] = "0.8"  # MD in µm²/ms
    lines[2] = "\t".join(fields)
    batch.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = snakemake(f"--configfile={config_file}", str(target), timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "batch-002_roi-md.tsv, row 2 (line 3)" in output and "column 'md'" in output, output[-3000:]


def test_freeze_objects_moves_what_exists_into_the_permanent_generation():
    import gc

    class Marker:
        pass

    existing = Marker()
    try:
        frozen = workflow.freeze_objects()
        assert frozen == gc.get_freeze_count() > 0
        assert not any(item is existing for item in gc.get_objects())  # a collection no longer walks it
        later = Marker()
        assert any(item is later for item in gc.get_objects())  # allocated afterwards: collected as usual
    finally:
        gc.unfreeze()  # this test process goes on


@pytest.mark.workflow
@pytest.mark.build
def test_make_claim_reexecutes_only_that_claim_and_republishes(built_book):
    """`make claim CLAIM=x` forces x's notebook (and what depends on it) and the book's republication;
    an unknown id is a clear error."""
    snakemake_cmd = f"{BIN / 'snakemake'} --cores 1 --configfile config/default.yaml --dry-run --quiet rules"
    result = subprocess.run(["make", "--no-print-directory", "claim", "CLAIM=dti-neuroplasticity",
                             f"SNAKEMAKE={snakemake_cmd}"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    stats = dict(re.findall(r"^(\w+)\s+(\d+)$", result.stdout[result.stdout.index("Job stats:"):], flags=re.MULTILINE))
    assert stats["execute_claim"] == "1" and stats["publish"] == "1"
    wrong = subprocess.run(["make", "--no-print-directory", "claim", "CLAIM=no-such-claim"], cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
    assert wrong.returncode != 0 and "unknown claim 'no-such-claim'" in wrong.stderr
