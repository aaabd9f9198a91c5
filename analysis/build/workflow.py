"""Steps the Snakefile calls: execute a claim notebook, stage the book, publish a build.

Nothing here overwrites the last good output until the new one is complete: notebooks
are executed into a temporary file and moved into place; the book is built in the
staging folder and published to ``_build/`` and ``results/`` by renaming.
"""
from __future__ import annotations

import filecmp
import os
import shutil
import sys
import tempfile
from pathlib import Path

import yaml

from .. import paths
from ..atomic import swap_directory, write_text
from ..runtime import freeze_objects

__all__ = ["load_config", "config_problems", "resolve_config", "scaled_config", "job_environment", "run_notebook", "stage_book", "publish",
           "write_text_if_changed", "freeze_objects"]

_BOOK_ROOT_FILES = ("_config.yml", "_toc.yml", "CITATION.cff")


def write_text_if_changed(path: str | Path, text: str) -> None:
    """Write ``text`` atomically; an unchanged file is left alone (see :func:`analysis.atomic.write_text`)."""
    write_text(path, text, if_changed=True)


def config_problems(config: dict, schema_path: str | Path) -> list[str]:
    """Every way the merged run profile breaks the workflow's JSON schema, one line each, named by
    its key path (e.g. ``dti: 'atlass' is not a known key; known: ...``), in key order.

    >>> schema = {"type": "object", "additionalProperties": False, "properties": {"n": {"type": "integer"}}}
    >>> import json, tempfile
    >>> with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
    ...     _ = file.write(json.dumps(schema))
    >>> config_problems({"n": "x", "m": 1}, file.name)
    ["(top level): 'm' is not a known key; known: n", "n: 'x' is not of type 'integer'"]
    """
    import jsonschema

    schema = yaml.safe_load(Path(schema_path).read_text(encoding="utf-8"))
    problems = []
    for error in jsonschema.Draft7Validator(schema).iter_errors(config):
        where = ": ".join(str(part) for part in error.absolute_path) or "(top level)"
        if error.validator == "additionalProperties":
            known = ", ".join(sorted(error.schema.get("properties", {})))
            unknown = sorted(set(error.instance) - set(error.schema.get("properties", {})))
            problems += [f"{where}: {key!r} is not a known key; known: {known}" for key in unknown]
        else:
            problems.append(f"{where}: {error.message}")
    return sorted(problems)


def resolve_config(config: dict) -> dict:
    """The run's config with its claim parameters resolved: "{workdir}/..." for working files and
    "{dti.participants}"-style references to the data paths (a profile states each path once), and
    no planted-truth path for a modality run on real data. The workflow and the notebook tests read
    claim parameters through this one function."""
    import copy
    import re

    resolved = copy.deepcopy(config)

    def lookup(match):
        section, _, key = match.group(1).partition(".")
        return str(resolved[section][key] if key else resolved[section])

    def derive(value):
        if isinstance(value, str):
            return re.sub(r"\{([a-z_]+(?:\.[a-z_]+)?)\}", lookup, value)
        if isinstance(value, list):
            return [derive(item) for item in value]
        if isinstance(value, dict):
            return {key: derive(item) for key, item in value.items()}
        return value

    resolved["claims"] = derive(resolved.get("claims", {}))
    for modality, claim, key in (("dti", "dti-neuroplasticity", "truth_path"),
                                 ("fmri", "fmri-prediction", "latents_path")):
        if resolved.get(modality, {}).get("mode") == "real" and claim in resolved["claims"]:
            resolved["claims"][claim]["parameters"][key] = ""  # real derivatives have no planted truth
    return resolved


def load_config(path: str | Path) -> dict:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"config file {path} not found")
    config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(config, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    return config


#: settings every job runs with (the Makefile exports the same): hash seed for bit-identical
#: reruns, and the inline backend so that papermill stores the notebooks' figures as images
JOB_SETTINGS = {"PYTHONHASHSEED": "0", "MPLBACKEND": "module://matplotlib_inline.backend_inline"}


def job_environment(environ, executable: str) -> dict[str, str]:
    """The variables the Snakefile sets for its jobs: the folder of `executable` (the interpreter
    running Snakemake, e.g. ``.venv/bin/python``; not resolved, a venv's python is a link) first
    on ``PATH``, so that ``python`` and ``jupyter-book`` in the rules' shell commands are the
    environment's own even when it is not activated, and :data:`JOB_SETTINGS` where not set.

    Examples
    --------
    >>> env = job_environment({"PATH": "/usr/bin", "MPLBACKEND": "agg"}, "/p/.venv/bin/python")
    >>> env["PATH"], env["PYTHONHASHSEED"], env["MPLBACKEND"]
    ('/p/.venv/bin:/usr/bin', '0', 'agg')
    >>> job_environment(env, "/p/.venv/bin/python")["PATH"]  # already first: unchanged
    '/p/.venv/bin:/usr/bin'
    """
    folder = str(Path(executable).parent)
    path = environ.get("PATH", "")
    entries = path.split(os.pathsep) if path else []
    result = {"PATH": path if entries[:1] == [folder] else os.pathsep.join([folder, *entries])}
    result.update({name: environ.get(name, value) for name, value in JOB_SETTINGS.items()})
    return result


def scaled_config(base: dict, n_participants: int, root: str | Path) -> dict:
    """A run profile like ``base`` with synthetic cohorts of ``n_participants`` each, whose
    generated data and staging folder live under ``root`` (for benchmarks and scale tests).

    Every path under ``data/synthetic/`` or the base ``workdir`` is moved under ``root``;
    real inputs (the literature table) are kept.

    Examples
    --------
    >>> base = {"workdir": ".work", "dti": {"root": "data/synthetic/dti", "synthetic": {"n_participants": 98}}}
    >>> scaled_config(base, 800, "/tmp/s")["dti"]
    {'root': '/tmp/s/data/synthetic/dti', 'synthetic': {'n_participants': 800}}
    """
    root = Path(root)
    workdir = str(base.get("workdir", ".work"))

    def move(value):
        if isinstance(value, dict):
            return {key: move(item) for key, item in value.items()}
        if isinstance(value, list):
            return [move(item) for item in value]
        if isinstance(value, str):
            if value.startswith("data/synthetic/"):
                return str(root / value)
            if value == workdir or value.startswith(workdir + "/"):
                return str(root / value)
        return value

    config = move(base)
    for section in ("dti", "fmri"):
        if section in config and "synthetic" in config[section]:
            config[section]["synthetic"]["n_participants"] = int(n_participants)
    config["profile"] = f"{base.get('profile', 'default')}-n{int(n_participants)}"
    return config


def run_notebook(source: Path, output: Path, parameters: dict, *, failed_dir: Path) -> None:
    """Execute ``source`` with papermill into ``output`` (atomically).

    On failure the partly executed notebook is kept in ``failed_dir`` for inspection, the
    previous ``output`` is left untouched, and the error is re-raised.
    """
    import papermill

    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=output.parent, prefix=f".{output.stem}.", suffix=".ipynb")
    os.close(handle)
    os.chmod(temporary, 0o644)  # mkstemp makes files private
    try:
        papermill.execute_notebook(str(source), temporary, parameters=parameters, cwd=str(paths.ROOT),
                                   kernel_name="python3", progress_bar=False, log_output=False,
                                   request_save_on_cell_execute=False)
    except Exception:
        failed_dir.mkdir(parents=True, exist_ok=True)
        kept = failed_dir / output.name
        shutil.move(temporary, kept)
        print(f"error: executing {source} failed; the partly executed notebook is {kept}", file=sys.stderr)
        raise
    _select_cells(Path(temporary))
    os.replace(temporary, output)


def glued_value(notebook, name: str) -> str | None:
    """The plain-text value glued under ``name`` in an executed notebook (None if not glued)."""
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("metadata", {}).get("scrapbook", {}).get("name") == name:
                text = output["data"].get("application/papermill.record/text/plain", "")
                return text.strip("'\"")
    return None


def _select_cells(notebook_path: Path) -> None:
    """Readers see what their run's data make true, and never the run's parameters:

    - the ``parameters`` cell and the one papermill injects get the ``remove-cell`` tag (they stay
      in the notebook file for re-execution);
    - a cell tagged ``only-<kind>`` (``only-synthetic``, ``only-demonstration``, ``only-real``; a
      cell may have several) is removed unless the notebook glued that kind under
      :data:`analysis.claims.verdicts.DATA_KIND_KEY`: a synthetic run keeps the generator's calibration and the shortcut
      check, a real run keeps its own wording."""
    import nbformat

    notebook = nbformat.read(str(notebook_path), as_version=4)
    from ..claims.verdicts import DATA_KIND_KEY

    kind = glued_value(notebook, DATA_KIND_KEY)
    for cell in notebook.cells:
        tags = cell.metadata.setdefault("tags", [])
        only = [tag.removeprefix("only-") for tag in tags if tag.startswith("only-")]
        hide = "parameters" in tags or "injected-parameters" in tags or (only and kind not in only)
        if hide and "remove-cell" not in tags:
            tags.append("remove-cell")
    nbformat.write(notebook, str(notebook_path))


def _copy_if_changed(source: Path, target: Path) -> None:
    """Copy keeping the source's mtime, and only when the content differs (keeps Sphinx incremental)."""
    if target.exists() and filecmp.cmp(source, target, shallow=False):
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)


def stage_book(site: Path, root: Path = paths.ROOT) -> None:
    """Copy the book sources (config, toc, pages, bibliography, static files) into ``site``.

    Claim notebooks are not copied: their executed versions are written there by
    :func:`run_notebook`; generated pages are written there by their own steps.
    """
    site.mkdir(parents=True, exist_ok=True)
    for name in _BOOK_ROOT_FILES:
        _copy_if_changed(root / name, site / name)
    for source in sorted((root / "book").rglob("*")):
        if source.is_dir() or "_generated" in source.parts or ".ipynb_checkpoints" in source.parts:
            continue
        relative = source.relative_to(root)
        if relative.parts[:2] == ("book", "claims") and source.suffix == ".ipynb":
            continue
        _copy_if_changed(source, site / relative)


#: The PDF build's configuration, written beside the staged ``_config.yml``: the same book, with the
#: notebooks' code cells left out (the HTML keeps them, collapsed).
PDF_CONFIG = "_config_pdf.yml"


def write_pdf_config(config: Path, target: Path, citation: Path | None = None, statement: Path | None = None) -> None:
    """Write ``target``: ``config`` with ``nb_remove_code_source`` set, so that no notebook code
    reaches the PDF, and, given ``citation`` (``CITATION.cff``), the article's title page, whose
    last line says what the chapters run on (the text of ``statement``, when it exists); only when
    the content changes, to keep Sphinx incremental."""
    import yaml

    settings = yaml.safe_load(Path(config).read_text(encoding="utf-8"))
    sphinx = settings.setdefault("sphinx", {}).setdefault("config", {})
    sphinx["nb_remove_code_source"] = True
    if citation is not None:
        from .pages import title_page_latex

        data = Path(statement).read_text(encoding="utf-8").strip() if statement and Path(statement).exists() else None
        sphinx.setdefault("latex_elements", {})["maketitle"] = title_page_latex(citation, data)
    text = "# Generated from _config.yml for the PDF build (no notebook code in the PDF).\n" + yaml.safe_dump(
        settings, sort_keys=False, allow_unicode=True)
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")


def publish(site_build: Path, pdf: Path, results_dir: Path, root: Path = paths.ROOT, pdf_name: str = "ketamine-trd.pdf",
            *, build_dir: str | Path = "_build", results_out: str | Path = "results") -> None:
    """Publish a complete build: ``<build_dir>/html``, ``<build_dir>/pdf/<pdf_name>`` and ``<results_out>``
    (relative to ``root``; the default profile's are ``_build`` and ``results``)."""
    build = root / build_dir
    build.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=build, prefix=".publish-"))
    try:
        shutil.copytree(site_build / "html", staging / "html")
        shutil.copy2(pdf, staging / "html" / pdf_name)  # the HTML's "Download the PDF" link points here
        (staging / "pdf").mkdir()
        shutil.copy2(pdf, staging / "pdf" / pdf_name)
        shutil.copytree(results_dir, staging / "results")
        swap_directory(staging / "html", build / "html")
        swap_directory(staging / "pdf", build / "pdf")
        (root / results_out).parent.mkdir(parents=True, exist_ok=True)
        swap_directory(staging / "results", root / results_out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
