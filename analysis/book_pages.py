"""Generated book pages: data dictionary, study table and reproducibility appendix."""
from __future__ import annotations

import json
import platform
import subprocess
from importlib import metadata
from pathlib import Path

import pandas as pd

from . import paths
from .results import sha256_file
from .schemas import SCHEMAS

__all__ = ["data_dictionary_markdown", "reproducibility_markdown", "KEY_PACKAGES"]

KEY_PACKAGES = ("jupyter-book", "sphinx", "myst-nb", "papermill", "snakemake", "numpy", "scipy", "pandas",
                "statsmodels", "scikit-learn", "matplotlib", "nilearn", "dipy", "nibabel", "pingouin", "pybids")


def _escape(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def data_dictionary_markdown(literature_csv: Path, to_verify_csv: Path | None = None) -> str:
    """Data dictionary generated from :mod:`analysis.schemas`, plus the study table itself."""
    lines = ["(data-dictionary)=", "# Data dictionary and study table", ""]
    for schema in SCHEMAS.values():
        lines += [f"## Table `{schema.name}`", "", schema.description, "",
                  f":::{{list-table}} Columns of the `{schema.name}` table.",
                  ":header-rows: 1", f":name: tab-schema-{schema.name}", "",
                  "* - Column", "  - Type", "  - Required", "  - Allowed values / format", "  - Description"]
        for column in schema.columns:
            allowed = ", ".join(f"`{value}`" for value in column.allowed) if column.allowed else (
                f"`{column.pattern}`" if column.pattern else (
                    f"{column.minimum:g} to {column.maximum:g}" if column.minimum is not None and column.maximum is not None
                    else (f">= {column.minimum:g}" if column.minimum is not None else "free text")))
            lines += [f"* - `{column.name}`", f"  - {column.kind}", f"  - {'yes' if column.required else 'no'}",
                      f"  - {allowed}", f"  - {column.description}"]
        lines += [":::", ""]
        for note in schema.notes:
            lines += [note, ""]
    table = pd.read_csv(literature_csv, dtype=str, keep_default_na=False)
    lines += ["## The verified study table", "",
              f"`{literature_csv.relative_to(paths.ROOT) if literature_csv.is_absolute() else literature_csv}` "
              f"(sha256 `{sha256_file(literature_csv)[:16]}...`) holds {len(table)} rows from "
              f"{table['study_key'].nunique()} study arms. Each row was read from the page in its source "
              "column; the quote is stored in the CSV.", "",
              ":::{list-table} Verified study arms and outcomes (events / n) with their sources.",
              ":header-rows: 1", ":name: tab-studies", ":widths: 18 8 10 10 12 10 12 20", "",
              "* - Study", "  - Route", "  - Design", "  - Outcome", "  - Timepoint", "  - Events / n",
              "  - Count", "  - Source"]
    for _, row in table.sort_values(["outcome", "route", "year", "study_key"]).iterrows():
        source = (f"[doi:{row['doi']}](https://doi.org/{row['doi']})" if row["doi"]
                  else f"[PMID {row['pmid']}](https://pubmed.ncbi.nlm.nih.gov/{row['pmid']}/)")
        lines += [f"* - {_escape(row['first_author'])} {row['year']} ({_escape(row['arm'])})", f"  - {row['route']}",
                  f"  - {row['design']}", f"  - {row['outcome']} ({_escape(row['scale'])})",
                  f"  - {_escape(row['timepoint'])}", f"  - {row['events']} / {row['n']}",
                  f"  - {_escape(row['count_source'])}", f"  - {source}"]
    lines += [":::", ""]
    if to_verify_csv is not None and Path(to_verify_csv).exists():
        pending = pd.read_csv(to_verify_csv, dtype=str, keep_default_na=False)
        lines += ["## Leads not yet verified (not analysed)", "",
                  f"`data/literature/{Path(to_verify_csv).name}` lists {len(pending)} rows whose numbers could "
                  "not be checked against a primary source. They are shown for transparency and are "
                  "never pooled.", ""]
        for _, row in pending.iterrows():
            lines.append(f"- {_escape(row.get('first_author', ''))} {row.get('year', '')}, {row.get('outcome', '')}: "
                         f"{_escape(row.get('notes', '') or row.get('status', ''))}")
        lines.append("")
    return "\n".join(lines)


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=paths.ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def reproducibility_markdown(executed_notebooks: list[Path], data_files: list[Path], results_files: list[Path]) -> str:
    """Reproducibility appendix: versions, commit, checksums and notebook run times."""
    commit = _git("rev-parse", "HEAD") or "unknown (not a git checkout)"
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    lines = ["(reproducibility)=", "# Reproducibility", "",
             "This page is generated at build time from the environment that built the book.", "",
             "## Source", "",
             f"- Git commit: `{commit}`" + (" (with uncommitted changes)" if dirty else ""),
             f"- Python {platform.python_version()} on {platform.system()} {platform.machine()}", "",
             "## Package versions", "",
             ":::{list-table} Versions of the key packages (the full pin list is `requirements.txt`).",
             ":header-rows: 1", ":name: tab-versions", "", "* - Package", "  - Version"]
    for package in KEY_PACKAGES:
        try:
            version = metadata.version(package)
        except metadata.PackageNotFoundError:
            version = "not installed"
        lines += [f"* - {package}", f"  - {version}"]
    lines += [":::", "", "## Data checksums (SHA-256)", ""]
    for path in data_files + results_files:
        relative = path.relative_to(paths.ROOT) if path.is_absolute() and paths.ROOT in path.parents else path
        lines.append(f"- `{relative}`: `{sha256_file(path)}`")
    lines += ["", "## Notebook execution", "",
              ":::{list-table} Run time of each claim notebook (papermill metadata).",
              ":header-rows: 1", ":name: tab-runtimes", "", "* - Notebook", "  - Run time (s)", "  - Kernel"]
    for notebook in executed_notebooks:
        meta = json.loads(Path(notebook).read_text(encoding="utf-8")).get("metadata", {})
        duration = meta.get("papermill", {}).get("duration")
        kernel = meta.get("kernelspec", {}).get("name", "?")
        lines += [f"* - `{Path(notebook).name}`", f"  - {duration:.1f}" if duration is not None else "  - n/a",
                  f"  - {kernel}"]
    lines += [":::", ""]
    return "\n".join(lines)
