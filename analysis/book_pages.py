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

__all__ = ["data_dictionary_markdown", "reproducibility_markdown", "benchmarks_markdown", "KEY_PACKAGES"]

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


_CHECK_LABELS = {
    "cold_build_le_600s": "cold build of the default book <= 10 min (installs excluded)",
    "noop_rebuild_le_15s": "no-op rebuild <= 15 s",
    "prose_edit_reexecutes_only_that_claim": "editing one claim's prose re-executes only that claim",
    "dti_speedup_2core_ge_1_8": "DTI stage >= 1.8x faster on 2 cores than on 1",
    "fmri_speedup_2core_ge_1_8": "fMRI stage >= 1.8x faster on 2 cores than on 1",
    "dti_throughput_ge_plain_dipy": "DTI stage throughput >= plain single-process dipy WLS",
    "peak_memory_le_4gb_at_largest_n": "peak memory of any stage <= 4 GB at the largest cohort",
}


def benchmarks_markdown(report_json: Path | None, figure_dir: Path) -> str:
    """Appendix page from ``benchmarks/results/benchmarks.json`` (written by ``make bench``):
    targets met or missed, build times, stage throughput, scaling figures."""
    lines = ["(benchmarks)=", "# Performance benchmarks", ""]
    if report_json is None or not Path(report_json).exists():
        lines += ["No benchmark has been recorded yet. Run `make bench` (about 50 minutes on 2 cores); it writes",
                  "`benchmarks/results/benchmarks.json`, and the next `make book` shows it here.", ""]
        return "\n".join(lines)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    report = json.loads(Path(report_json).read_text(encoding="utf-8"))
    machine = report.get("machine", {})
    lines += [f"Measured by `make bench` on {machine.get('cpus', '?')} CPUs, Python {machine.get('python', '?')}, "
              f"at commit `{report.get('commit', '?')[:12]}`"
              + (" (quick mode: small sizes only)" if report.get("quick") else "") + ". "
              "Times are wall-clock seconds; peak memory is the largest resident set size of a stage's "
              "process, read from the kernel. Synthetic cohorts, generated from the default seeds.", "",
              ":::{list-table} Performance targets and whether this run met them.", ":header-rows: 1",
              ":name: tab-bench-targets", "", "* - Target", "  - Result"]
    for key, label in _CHECK_LABELS.items():
        value = report.get("checks", {}).get(key)
        lines += [f"* - {label}", f"  - {'not measured' if value is None else ('met' if value else 'MISSED')}"]
    lines += [":::", ""]
    for note in report.get("notes", []):
        lines += [f"```{{note}}\n{note}\n```", ""]
    build = report.get("build")
    if build:
        lines += ["## Build", "",
                  f"- Cold build in a fresh clone: {build['cold_build_s']:.0f} s "
                  f"(claims executed: {', '.join(build['cold_build_executed'])}).",
                  f"- No-op rebuild: {build['noop_rebuild_s']:.1f} s "
                  f"(claims executed: {', '.join(build['noop_rebuild_executed']) or 'none'}).",
                  f"- Rebuild after editing the prose of `response-rates`: {build['prose_edit_rebuild_s']:.0f} s "
                  f"(claims executed: {', '.join(build['prose_edit_executed']) or 'none'}).", ""]
    dti = report.get("dti_throughput")
    if dti:
        plain = dti["plain_dipy_wls"]
        lines += ["## Imaging stages", "",
                  ":::{list-table} Throughput of the imaging stages (n = "
                  f"{dti['n_participants']} synthetic participants; each 1- and 2-core time is "
                  + (f"the median of {dti['repeats']} interleaved runs" if dti.get("repeats", 1) > 1 else "one run")
                  + ", Snakemake start-up included).", ":header-rows: 1", ":name: tab-bench-stages", "",
                  "* - Stage", "  - 1 core", "  - 2 cores", "  - Speed-up",
                  "* - DTI (voxels/s, whole stage under Snakemake)",
                  f"  - {dti['stage_1core_voxels_per_s']:.0f}", f"  - {dti['stage_2core_voxels_per_s']:.0f}",
                  f"  - {dti['parallel_speedup']:.2f}x",
                  "* - plain dipy `TensorModel(fit_method=\"WLS\")`, one process (voxels/s)",
                  f"  - {plain['voxels_per_s']:.0f}", "  - -", "  - -"]
        fmri = report.get("fmri_stage")
        if fmri:
            lines += ["* - fMRI ROI time series (s per subject)",
                      f"  - {fmri['stage_1core_s_per_subject']:.2f}", f"  - {fmri['stage_2core_s_per_subject']:.2f}",
                      f"  - {fmri['parallel_speedup']:.2f}x"]
        larger = dti.get("larger_cohort")
        if larger:
            lines += [f"* - DTI stage at n = {larger['n_participants']} (s)",
                      f"  - {larger['stage_1core_s']:.1f}", f"  - {larger['stage_2core_s']:.1f}",
                      f"  - {larger['parallel_speedup']:.2f}x"]
        for stage, unit, case in (("DTI", "session", dti), ("fMRI", "participant", fmri)):
            if case and "unbatched_2core_s" in case:
                lines += [f"* - {stage} stage, one job per {unit} (before batching), 2 cores (s)",
                          "  - -", f"  - {case['unbatched_2core_s']:.1f}",
                          f"  - batching: {case['batching_speedup_2core']:.1f}x faster"]
        lines += [":::", "",
                  f"The DTI stage fits {dti['ratio_vs_plain_dipy_2core']:.2f} times as many voxels per second on 2 "
                  f"cores as a plain single-process dipy loop over the same images "
                  f"({dti['ratio_vs_plain_dipy_1core']:.2f} times on 1 core, where the difference is the cost of "
                  "Snakemake, process start-up and the ROI/QC work).", ""]
    figure_dir = Path(figure_dir)
    figure_dir.mkdir(parents=True, exist_ok=True)
    scaling = report.get("scaling")
    if scaling:
        figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
        for name, rows in sorted(scaling["stages"].items()):
            ns = [row["n"] for row in rows]
            left.plot(ns, [row["seconds"] for row in rows], marker="o", label=name)
            right.plot(ns, [row["peak_mb"] for row in rows], marker="o", label=name)
        left.set(xlabel="synthetic participants (n)", ylabel="wall time (s), one process", xscale="log", yscale="log")
        right.set(xlabel="synthetic participants (n)", ylabel="peak memory (MB)", xscale="log")
        peak = max(row["peak_mb"] for rows in scaling["stages"].values() for row in rows)
        right.set_ylim(0, max(peak * 1.5, 1))
        right.text(0.02, 0.95, "target: 4096 MB", transform=right.transAxes, fontsize=8, va="top", color="grey")
        for axis in (left, right):  # plain tick labels at the measured sizes
            axis.set_xticks(scaling["sizes"], [str(size) for size in scaling["sizes"]])
            axis.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        left.legend(fontsize=7)
        figure.tight_layout()
        figure.savefig(figure_dir / "benchmarks-scaling.png", dpi=120)
        plt.close(figure)
        lines += ["## Scaling with cohort size", "",
                  "```{figure} benchmarks-scaling.png", ":name: fig-bench-scaling", ":width: 100%", "",
                  "Wall time (left) and peak memory (right) of each stage run as one process, against the size of "
                  "the synthetic cohorts (the 4 GB memory target is far above the plotted range).", "```", "",
                  ":::{list-table} Least-squares slope of stage time against n.", ":header-rows: 1",
                  ":name: tab-bench-slopes", "", "* - Stage", "  - Seconds per participant", "  - Intercept (s)"]
        for name, fit in sorted(scaling["fit"].items()):
            lines += [f"* - {name}", f"  - {fit['seconds_per_participant']:.4f}", f"  - {fit['intercept_s']:.2f}"]
        lines += [":::", ""]
    prediction = report.get("prediction")
    if prediction:
        figure, axis = plt.subplots(figsize=(4.5, 3.2))
        runs = prediction["runs"]
        axis.plot([row["n_permutations"] for row in runs], [row["seconds"] for row in runs], marker="o")
        axis.set(xlabel="label permutations", ylabel="predict_response time (s)")
        figure.tight_layout()
        figure.savefig(figure_dir / "benchmarks-prediction.png", dpi=120)
        plt.close(figure)
        lines += ["## Prediction", "",
                  "```{figure} benchmarks-prediction.png", ":name: fig-bench-prediction", ":width: 60%", "",
                  f"Time of `predict_response` (n = {prediction['n_participants']}) against the number of label "
                  "permutations for the p-value.", "```", ""]
    return "\n".join(lines)
