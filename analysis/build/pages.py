"""Generated book pages: data dictionary, study table and reproducibility appendix."""
from __future__ import annotations

import json
import platform
import subprocess
from importlib import metadata
from pathlib import Path

import pandas as pd

from .. import paths
from ..results import sha256_file
from ..schemas import SCHEMAS

__all__ = ["data_dictionary_markdown", "reproducibility_markdown", "cite_markdown", "title_page_latex", "KEY_PACKAGES"]

KEY_PACKAGES = ("jupyter-book", "sphinx", "myst-nb", "papermill", "snakemake", "numpy", "scipy", "pandas",
                "statsmodels", "scikit-learn", "matplotlib", "nilearn", "dipy", "nibabel", "pingouin", "pybids")


def _escape(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def data_dictionary_markdown(literature_csv: Path, to_verify_csv: Path | None = None) -> str:
    """Data dictionary generated from :mod:`analysis.schemas`, plus the study table itself."""
    lines = ["(data-dictionary)=", "# Data dictionary and study table", "",
             "```{raw} latex", r"\renewcommand{\ktrdtablesize}{\footnotesize}% this chapter's wide reference tables",
             "```", ""]
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
              ":header-rows: 1", ":name: tab-studies", ":widths: 17 10 9 11 12 9 14 18", "",
              "* - Study", "  - Route", "  - Design", "  - Outcome", "  - Timepoint", "  - Events / n",
              "  - Count", "  - Source"]
    for _, row in table.sort_values(["outcome", "route", "year", "study_key"]).iterrows():
        # bare links: the PDF breaks them at any character (xurl), so that the column fits the page
        source = (f"<https://doi.org/{row['doi']}>" if row["doi"]
                  else f"<https://pubmed.ncbi.nlm.nih.gov/{row['pmid']}/>")
        lines += [f"* - {_escape(row['first_author'])} {row['year']} ({_escape(row['arm'])})", f"  - {row['route']}",
                  f"  - {row['design']}", f"  - {row['outcome']} ({_escape(row['scale'])})",
                  f"  - {_escape(row['timepoint'])}", f"  - {row['events']} / {row['n']}",
                  f"  - {_escape(row['count_source'])}", f"  - {source}"]
    lines += [":::", ""]
    lines += ["```{raw} latex", r"\renewcommand{\ktrdtablesize}{\small}", "```", ""]
    if to_verify_csv is not None and Path(to_verify_csv).exists():
        pending = pd.read_csv(to_verify_csv, dtype=str, keep_default_na=False)
        trials = pending.groupby(["first_author", "year"], sort=True)["outcome"].agg(lambda v: ", ".join(sorted(set(v))))
        lines += ["## Leads not yet verified (not analysed)", "",
                  f"`data/literature/{Path(to_verify_csv).name}` lists {len(pending)} rows from {len(trials)} "
                  f"{'study' if len(trials) == 1 else 'studies'} whose numbers could not yet be checked against a "
                  "primary source. They are never pooled; the review chapter gives the reason each one awaits "
                  "verification ({ref}`claim-response-rates`).", ""]
        lines += [f"- {_escape(author)} {year}: {outcomes}" for (author, year), outcomes in trials.items()]
        lines.append("")
    return "\n".join(lines)


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=paths.ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def reproducibility_markdown(executed_notebooks: list[Path], data_files: list[Path], results_files: list[Path]) -> str:
    """Reproducibility appendix: versions, commit, checksums and notebook run times."""
    commit = paths.git_commit() or "unknown (not a git checkout)"
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
    lines += [":::", "", "## Data checksums (SHA-256)", "",
              ":::{list-table} SHA-256 of every input table and results file (in groups of 16 hexadecimal digits).",
              ":header-rows: 1", ":widths: 40 60", ":name: tab-checksums", "", "* - File", "  - SHA-256"]
    for path in data_files + results_files:
        relative = path.relative_to(paths.ROOT) if path.is_absolute() and paths.ROOT in path.parents else path
        shown = str(relative)
        if path in results_files:  # published under results/ (the working folder is not the reader's)
            shown = f"results/{Path(relative).name}"
        digest = sha256_file(path)
        lines += [f"* - `{shown}`", "  - " + " ".join(f"`{digest[i:i + 16]}`" for i in range(0, len(digest), 16))]
    lines += [":::"]
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


_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(character, character) for character in str(text))


def _cff_names(cff: dict) -> list[str]:
    return [author.get("name") or " ".join(part for part in (author.get("given-names"), author.get("family-names"))
                                           if part) for author in cff["authors"]]


def title_page_latex(citation_file: Path, data_statement: str | None = None) -> str:
    """The PDF's title page (Sphinx's ``maketitle``): title, the authors exactly as ``CITATION.cff``
    names them, version, commit and its date, and the DOI or a line saying none is assigned yet."""
    import yaml

    cff = yaml.safe_load(Path(citation_file).read_text(encoding="utf-8"))
    title, _, subtitle = cff["title"].partition(": ")
    commit = paths.git_commit() or "unknown"
    date = _git("log", "-1", "--format=%cs") or str(cff.get("date-released", ""))
    doi = cff.get("doi")
    facts = [f"Version {latex_escape(cff['version'])}",
             rf"Commit \texttt{{{latex_escape(commit[:12])}}} of {latex_escape(date)}",
             f"DOI: {latex_escape(doi)}" if doi else "DOI: not yet assigned (placeholder until the first archived release)"]
    if cff.get("repository-code"):
        facts.append(rf"\url{{{cff['repository-code']}}}")
    lines = [r"\begin{titlepage}", r"\centering", r"\vspace*{3.5cm}",
             rf"{{\sffamily\bfseries\huge {latex_escape(title)}\par}}"]
    if subtitle:
        lines += [r"\vspace{0.5cm}", rf"{{\sffamily\Large {latex_escape(subtitle)}\par}}"]
    lines += [r"\vspace{1.8cm}", rf"{{\large {latex_escape(', '.join(_cff_names(cff)))}\par}}", r"\vfill",
              "{\\normalsize " + r"\\[2pt] ".join(facts) + r"\par}", r"\vspace{1cm}",
              rf"{{\small Licence: {latex_escape(cff.get('license', ''))}. "
              + latex_escape(data_statement or "The imaging chapters run on synthetic cohorts labelled as such; the "
                                                "literature chapters use published data.") + r"\par}",
              r"\end{titlepage}"]
    return "\n".join(lines) + "\n"


def cite_markdown(citation_file: Path) -> str:
    """The "Cite this book" box for the first page: a formatted reference and BibTeX, both from
    ``CITATION.cff`` (authors exactly as it names them), with the version and the commit that built it."""
    import yaml

    cff = yaml.safe_load(Path(citation_file).read_text(encoding="utf-8"))
    names = _cff_names(cff)
    year = str(cff.get("date-released", ""))[:4]
    commit = paths.git_commit() or "unknown"
    short = commit[:12]
    url = cff.get("repository-code", "")
    doi = cff.get("doi")
    reference = (f"{'; '.join(names)} ({year}). *{cff['title']}*. Version {cff['version']}, commit `{short}`. "
                 + (f"doi:{doi}." if doi else "DOI: not yet assigned.") + (f" <{url}>" if url else ""))
    bibtex_authors = " and ".join("{" + name + "}" for name in names)
    import textwrap

    title = "\n".join(textwrap.wrap(f"  title = {{{cff['title']}}},", 72, subsequent_indent="    "))
    bibtex = ["@software{ketamine_trd_book,", f"  author = {{{bibtex_authors}}},", title,
              f"  version = {{{cff['version']}}},", f"  year = {{{year}}},"]
    if url:
        bibtex.append(f"  url = {{{url}}},")
    if doi:
        bibtex.append(f"  doi = {{{doi}}},")
    bibtex += [f"  note = {{commit {commit}}}", "}"]  # 40 hex digits: fits the PDF's code width
    return "\n".join([":::{admonition} Cite this book", ":class: note", "", reference, "", "```bibtex", *bibtex, "```",
                      "", "The citation metadata are in the repository's `CITATION.cff`; the version and commit name "
                      "the exact sources of this build.", "", "```{raw} html",
                      '<p><a class="reference external" href="../ketamine-trd.pdf">Download this book as a PDF</a></p>',
                      "```", ":::", ""])
