"""The book's "Performance benchmarks" appendix, rendered from the report `make bench` writes
(`benchmarks/results/benchmarks.json`). The workflow runs it as

    python benchmarks/page.py OUT [--report benchmarks/results/benchmarks.json --copy RESULTS_COPY]
"""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

OWN_TIME = ("the stage's own time: a whole `snakemake` run minus a no-op run of the same command, since a build "
            "starts the engine once for all its stages")
WHOLE_RUN = "whole `snakemake` runs, engine start-up included (for information)"


LIKE_FOR_LIKE = ("whole commands on both sides: a whole `snakemake` run of the stage against plain dipy's whole "
                 "command, each with its interpreter start-up")


def _check_labels(targets: dict, largest_n) -> dict:
    """What each target of the report's ``checks`` says, with the thresholds the run used."""
    judged_on, throughput_on = OWN_TIME, LIKE_FOR_LIKE
    return {
        "cold_build_le_600s": f"cold build of the default book <= {targets.get('cold_build_s', 600) / 60:g} min "
                              "(installs excluded)",
        "noop_rebuild_le_15s": f"no-op rebuild <= {targets.get('noop_rebuild_s', 15):g} s",
        "prose_edit_reexecutes_only_that_claim": "editing one claim's prose re-executes only that claim",
        "dti_speedup_2core_ge_1_8": f"DTI stage >= {targets.get('parallel_speedup', 1.8):g}x faster on 2 cores than on 1"
                                    f" ({judged_on})",
        "fmri_speedup_2core_ge_1_8": f"fMRI stage >= {targets.get('parallel_speedup', 1.8):g}x faster on 2 cores "
                                     f"than on 1 ({judged_on})",
        "dti_throughput_ge_plain_dipy": "DTI stage on 2 cores fits at least as many voxels per second as plain "
                                        f"single-process dipy WLS on the same voxels ({throughput_on})",
        "dti_speedup_2core_ge_1_8_whole_run": f"the same DTI speed-up on {WHOLE_RUN}",
        "fmri_speedup_2core_ge_1_8_whole_run": f"the same fMRI speed-up on {WHOLE_RUN}",
        "dti_throughput_ge_plain_dipy_whole_run": f"the same DTI throughput on {WHOLE_RUN}",
        "peak_memory_le_4gb_at_largest_n": "peak memory of each stage of the scaling runs (simulate, discover, DTI, "
                                           "fMRI, prediction with 100 permutations; the claim notebooks are not "
                                           f"among them) <= {targets.get('peak_memory_mb_at_800', 4096):g} "
                                           f"MB at n = {largest_n if largest_n is not None else '?'}"
                                           + ("" if largest_n in (None, 800) else " (the target is set at n = 800)"),
        "simulation_studies_le_300s": "the imaging claims' simulation studies (every scenario) on 2 cores <= "
                                      f"{targets.get('simulation_studies_s', 300) / 60:g} min",
    }


def _verdict(value) -> str:
    """A check's value: None, a bool, or {n: bool} for targets measured at several cohort sizes."""
    if value is None:
        return "not measured"
    if isinstance(value, dict):
        ordered = sorted(value.items(), key=lambda item: (int(str(item[0]).split(",")[0]) if
                                                         str(item[0]).split(",")[0].isdigit() else 0, str(item[0])))
        return "; ".join(f"{'not measured' if met is None else 'met' if met else 'not met'} at n = {n}"
                         for n, met in ordered) or "not measured"
    return "met" if value else "not met"


def _fmt(case: dict, key: str, spec: str) -> str:
    """``case[key]`` formatted, or "-" when the report lacks it (a case not measured)."""
    value = case.get(key)
    return "-" if value is None else format(value, spec)


def _stage_rows(label: str, case: dict, per: str, spec: str) -> list[str]:
    """Table rows: the stage's `per` measure (and seconds) on 1 and 2 cores, and the speed-up, for
    whole ``snakemake`` runs and, when measured, for the stage's own time (run minus no-op)."""
    n = case.get("label") or _fmt(case, "n_participants", "d")
    rows = [f"* - {label}, whole run", f"  - {n}",
            *[f"  - {_fmt(case, f'stage_{k}core_{per}', spec)} ({_fmt(case, f'stage_{k}core_s', '.1f')})" for k in (1, 2)],
            _speedup(case.get("parallel_speedup"), case, "")]
    if "parallel_speedup_own" in case:
        rows += [f"* - {label}, own time", f"  - {n}",
                 *[f"  - {_fmt(case, f'stage_{k}core_own_{per}', spec)} ({_fmt(case, f'stage_{k}core_own_s', '.1f')})"
                   for k in (1, 2)],
                 _speedup(case["parallel_speedup_own"], case, "_own")]
    return rows


def _permutation_cost(runs: list[dict]) -> str:
    """", about X s per 100 permutations on top of Y s" from a least-squares line through the runs."""
    import numpy as np

    if len({row["n_permutations"] for row in runs}) < 2:
        return ""
    slope, intercept = np.polyfit([row["n_permutations"] for row in runs], [row["seconds"] for row in runs], 1)
    return f": about {100 * slope:.1f} s per 100 permutations on top of {intercept:.1f} s (least-squares line)"


def _growth_exponent(rows: list[dict]) -> str:
    """b in seconds ~ n^b between the two largest cohorts of a stage's scaling rows ("-" if unknown)."""
    import math

    measured = sorted((row["n"], row["seconds"]) for row in rows if row.get("seconds"))
    if len(measured) < 2 or measured[-1][0] == measured[-2][0]:
        return "-"
    (n1, t1), (n2, t2) = measured[-2:]
    return f"{math.log(t2 / t1) / math.log(n2 / n1):.2f}"


def _speedup(value, case: dict | None = None, own: str = "") -> str:
    """The speed-up (ratio of the medians) and, when the samples are in the report, the range of
    the per-repeat ratios (repeat i on 1 core over repeat i on 2 cores: they ran side by side)."""
    if value is None:
        return "  - -"
    one, two = ((case or {}).get(f"stage_{k}core{own}_samples_s") for k in (1, 2))
    ratios = [a / b for a, b in zip(one or [], two or []) if b and b > 0]
    spread = f" ({min(ratios):.2f}-{max(ratios):.2f} over repeats)" if len(ratios) > 1 else ""
    return f"  - {value:.2f}x{spread}"



def _header(report: dict) -> list[str]:
    machine, targets, checks = report.get("machine", {}), report.get("targets", {}), report.get("checks", {})
    commits = report.get("case_commits") or {}
    by_commit: dict[str, list[str]] = {}
    for case, commit in commits.items():
        by_commit.setdefault(commit, []).append(case)
    where = (", ".join(f"`{commit}` ({', '.join(cases)})" for commit, cases in by_commit.items()) if len(by_commit) > 1
             else f"`{report.get('commit', '?')[:12]}`")
    lines = [f"Measured by `make bench` on {machine.get('cpus', '?')} CPUs, Python {machine.get('python', '?')}, "
             f"at commit {where}" + (" (quick mode: small sizes only)" if report.get("quick") else "") + ". "
             "Times are wall-clock seconds; peak memory is the largest resident set size of a stage's "
             "process, read from the kernel. Synthetic cohorts, generated from the default seeds.", "",
             ":::{list-table} Performance targets and whether this run met them.", ":header-rows: 1",
             ":name: tab-bench-targets", "", "* - Target", "  - Result"]
    for key, label in _check_labels(targets, checks.get("largest_n")).items():
        if key.endswith("_whole_run") and key not in checks:
            continue
        lines += [f"* - {label}", f"  - {_verdict(checks.get(key))}"]
    lines += [":::", "",
              "The speed-up targets are judged on each stage's own time, on 1 and on 2 cores alike: a build "
              "starts the engine once for all its stages, and that cost is what the no-op-rebuild target "
              "judges; the rows marked \"for information\" give this run's verdicts on whole `snakemake` runs. "
              "The DTI throughput is judged on whole commands on both sides, each with its start-up: taking "
              "the engine's start-up off the stage's side only would favour it. A speed-up is the ratio of the "
              "median times; the stage table gives the range of the ratios of the single repeats, which shows "
              "how near the threshold a verdict is.", ""]
    for note in report.get("notes", []):
        lines += [f"```{{note}}\n{note}\n```", ""]
    return lines


def _build_section(build: dict) -> list[str]:
    return ["## Build", "",
            f"- Cold build in a fresh clone: {build['cold_build_s']:.0f} s "
            f"(claims executed: {', '.join(build['cold_build_executed'])})"
            + (f"; its largest process (the claim notebooks' kernels and the book build included) peaked at "
               f"{build['cold_build_peak_mb']:.0f} MB." if build.get("cold_build_peak_mb") else "."),
            f"- No-op rebuild: {build['noop_rebuild_s']:.1f} s "
            f"(claims executed: {', '.join(build['noop_rebuild_executed']) or 'none'}).",
            f"- Rebuild after editing the prose of `response-rates`: {build['prose_edit_rebuild_s']:.0f} s "
            f"(claims executed: {', '.join(build['prose_edit_executed']) or 'none'}).", ""]


def _stages_section(dti: dict | None, dti_cases: list[dict], fmri: dict | None, targets: dict) -> list[str]:
    repeats = max(case.get("repeats", 1) for case in dti_cases + ([fmri] if fmri else []))
    lines = ["## Imaging stages", "",
             ":::{list-table} The imaging stages under Snakemake on 1 and 2 cores. Whole run: a whole `snakemake` "
             "run, start-up and the collect step included; own time: the same minus a no-op run of the same "
             "command (the engine's start-up and job-graph check, paid once per build); "
             + (f"each time is the median of {repeats} interleaved runs." if repeats > 1 else "one run each."),
             ":header-rows: 1", ":name: tab-bench-stages", "",
             "* - Stage", "  - n", "  - 1 core", "  - 2 cores", "  - Speed-up"]
    for case in dti_cases:
        lines += _stage_rows("DTI, fitted voxels/s (s)", case, "voxels_per_s", ".0f")
    if fmri:
        lines += _stage_rows("fMRI ROI time series, s per subject (s)", fmri, "s_per_subject", ".2f")
    for stage, unit, case in (("DTI", "session", dti), ("fMRI", "participant", fmri)):
        if case and "unbatched_2core_s" in case:
            lines += [f"* - {stage}, one job per {unit} instead of batches (s)", f"  - {case['n_participants']}",
                      "  - -", f"  - {case['unbatched_2core_s']:.1f}",
                      f"  - batching: {case['batching_speedup_2core']:.1f}x faster"]
    lines += [":::", ""]
    for case in (case for case in dti_cases if case.get("resolution_scale")):
        grid = " x ".join(str(size) for size in case.get("grid", []))
        lines += [f"The DTI rows labelled \"{case['label']}\" use the same synthetic cohort on a grid "
                  f"{case['resolution_scale']} times finer along each axis ({grid} voxels; the same anatomy in mm, "
                  f"{case['fitted_voxels'] / case['sessions']:.0f} fitted voxels per session instead of "
                  f"{dti['fitted_voxels'] / dti['sessions']:.0f}): more work per session, nearer real diffusion "
                  "images, so the fixed costs weigh less.", ""]
    return lines + _amdahl(dti_cases, fmri, targets)


def _amdahl(dti_cases: list[dict], fmri: dict | None, targets: dict) -> list[str]:
    serial = [(f"{name} at n = {case.get('label') or case['n_participants']}", case)
              for name, case in [("DTI", case) for case in dti_cases] + ([("fMRI", fmri)] if fmri else [])
              if "stage_1core_s" in case and "stage_2core_s" in case]
    if not serial:
        return []
    parts = "; ".join(f"{label}: {2 * case['stage_2core_s'] - case['stage_1core_s']:.1f} s of "
                      f"{case['stage_1core_s']:.1f} s"
                      + (f" (of which a no-op run of the same command: {case['noop_2core_s']:.1f} s)"
                         if "noop_2core_s" in case else "") for label, case in serial)
    speedup = targets.get("parallel_speedup", 1.8)
    return ["What limits the speed-up (Amdahl): if a stage takes T1 on 1 core and is a serial part S "
            "(Snakemake start-up, building the job graph, the collect step) plus a part that halves on "
            f"2 cores, then T2 = S + (T1 - S)/2, so S = 2 T2 - T1, and {speedup:g}x needs "
            f"S <= T1 (2/{speedup:g} - 1). Implied serial parts: {parts}.", ""]


def _plain_dipy_section(plain_cases: list[dict]) -> list[str]:
    lines = ["### The DTI stage against plain dipy", "",
             "Plain dipy is a single-process loop as dipy's tutorials write it: nibabel loads each image "
             "(float64), `TensorModel(fit_method=\"WLS\").fit(data, mask=...)`, then the mean MD of each "
             "region, timed as a whole command (interpreter start-up and imports included; the loop alone is "
             "in the JSON as `loop_seconds`), once in every repeat of the stage's runs (the median run is "
             "shown). The stage is timed as whole `snakemake` runs, so both sides pay their start-up. The "
             "stage fits only the voxels of the atlas regions inside each brain mask, so the like-for-like "
             "comparison gives plain dipy the same mask; the whole-brain row is the textbook route to the same "
             "regional table, which fits other voxels and is therefore compared in sessions per second.", "",
             ":::{list-table} Voxels fitted per second and sessions per second, whole commands; the last two "
             "columns are the stage (whole `snakemake` runs on 1 and on 2 cores) divided by each plain-dipy "
             "row, in voxels per second for the same voxels and in sessions per second for the whole brain.",
             ":header-rows: 1", ":name: tab-bench-plain-dipy", "",
             "* - Case", "  - n", "  - Voxels fitted", "  - Voxels/s", "  - Sessions/s",
             "  - Stage on 1 core / row", "  - Stage on 2 cores / row"]
    for case in plain_cases:
        same, whole = case["plain_dipy_wls"], case.get("plain_dipy_wls_whole_brain")
        n = case.get("label") or case["n_participants"]
        for cores in (1, 2):
            lines += [f"* - DTI stage, {cores} core{'s' if cores > 1 else ''}", f"  - {n}",
                      f"  - {case['fitted_voxels']}", f"  - {_fmt(case, f'stage_{cores}core_voxels_per_s', '.0f')}",
                      f"  - {_fmt(case, f'stage_{cores}core_sessions_per_s', '.1f')}", "  - -", "  - -"]
        lines += ["* - plain dipy, same voxels (atlas regions in the brain mask)", f"  - {n}",
                  f"  - {same['voxels']}", f"  - {same['voxels_per_s']:.0f}", f"  - {same['sessions_per_s']:.1f}",
                  *[f"  - {_fmt(case, f'ratio_vs_plain_dipy_{cores}core', '.2f')}" for cores in (1, 2)]]
        if whole:  # other voxels: sessions per second
            lines += ["* - plain dipy, whole brain mask (other voxels: sessions/s compared)", f"  - {n}",
                      f"  - {whole['voxels']}", f"  - {whole['voxels_per_s']:.0f}", f"  - {whole['sessions_per_s']:.1f}",
                      *[f"  - {case[f'stage_{cores}core_sessions_per_s'] / whole['sessions_per_s']:.2f}"
                        if case.get(f"stage_{cores}core_sessions_per_s") else "  - -" for cores in (1, 2)]]
    return lines + [":::", ""]


def _scaling_figure(scaling: dict, targets: dict, figure_dir: Path) -> None:
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
    for name, rows in sorted(scaling["stages"].items()):
        ns = [row["n"] for row in rows]
        left.plot(ns, [row["seconds"] for row in rows], marker="o", label=name)
        right.plot(ns, [row["peak_mb"] for row in rows], marker="o", label=name)
    left.set(xlabel="synthetic participants (n)", ylabel="wall time (s), one process", xscale="log", yscale="log")
    right.set(xlabel="synthetic participants (n)", ylabel="peak memory (MB)", xscale="log")
    peak = max(row["peak_mb"] for rows in scaling["stages"].values() for row in rows)
    right.set_ylim(0, max(peak * 1.5, 1))
    right.text(0.02, 0.95, f"target: {targets.get('peak_memory_mb_at_800', 4096):g} MB at n = 800",
               transform=right.transAxes, fontsize=8, va="top", color="grey")
    for axis in (left, right):  # plain tick labels at the measured sizes
        axis.set_xticks(scaling["sizes"], [str(size) for size in scaling["sizes"]])
        axis.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    # plain seconds at 1-2-5 steps on the log axis (not "2x10^0")
    left.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    left.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda value, _: f"{value:g}"))
    left.yaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    left.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(figure_dir / "benchmarks-scaling.png", dpi=120)
    plt.close(figure)


def _scaling_section(scaling: dict, targets: dict, figure_dir: Path) -> list[str]:
    _scaling_figure(scaling, targets, figure_dir)
    lines = ["## Scaling with cohort size", "",
             "```{figure} benchmarks-scaling.png", ":name: fig-bench-scaling", ":width: 100%",
             ":alt: Wall time and peak memory of each workflow stage against the size of the synthetic cohort", "",
             "Wall time (left) and peak memory (right) of each stage run as one process, against the size of "
             f"the synthetic cohorts (peak {scaling['peak_mb_max']:.0f} MB; memory target "
             f"{targets.get('peak_memory_mb_at_800', 4096):g} MB).", "```", "",
             ":::{list-table} Least-squares slope of stage time against n, and how time grows between the "
             "two largest cohorts: the exponent b of time ~ n^b between them (1: linear; above 1: faster than "
             "linear, which a straight-line fit over all sizes hides).", ":header-rows: 1",
             ":name: tab-bench-slopes", "", "* - Stage", "  - Seconds per participant", "  - Intercept (s)",
             f"  - Exponent, n = {' to '.join(str(size) for size in sorted(scaling['sizes'])[-2:])}"]
    for name, fit in sorted(scaling["fit"].items()):
        lines += [f"* - {name}", f"  - {fit['seconds_per_participant']:.4f}", f"  - {fit['intercept_s']:.2f}",
                  f"  - {_growth_exponent(scaling['stages'].get(name, []))}"]
    return lines + [":::", ""]


def _prediction_section(prediction: dict, figure_dir: Path) -> list[str]:
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(4.5, 3.2))
    runs = prediction["runs"]
    axis.plot([row["n_permutations"] for row in runs], [row["seconds"] for row in runs], marker="o")
    axis.set(xlabel="label permutations", ylabel="predict_response time (s)")
    figure.tight_layout()
    figure.savefig(figure_dir / "benchmarks-prediction.png", dpi=120)
    plt.close(figure)
    return ["## Prediction", "",
            "```{figure} benchmarks-prediction.png", ":name: fig-bench-prediction", ":width: 60%",
            ":alt: Time of the prediction analysis against the number of label permutations", "",
            f"Time of `predict_response` (n = {prediction['n_participants']}) against the number of label "
            "permutations for the p-value" + _permutation_cost(runs) + ".", "```", ""]


def _workarounds_section(comparison: dict) -> list[str]:
    """Each speed workaround against the same code without it (benchmarks/compare.py), and the
    decision its rule gives."""
    before = comparison["before"]
    names = {"dti_stage_s": "DTI stage", "noop_s": "no-op run", "fmri_stage_s": "fMRI stage"}
    lines = ["## Speed workarounds, with and without", "",
             f"The rule, stated before the measurements: a workaround stays only if removing it makes one of these "
             f"measures at least {100 * comparison['threshold']:.0f}% slower: the DTI stage, a no-op run of the same "
             f"command (the engine's start-up, which every build pays) and the fMRI stage, each a whole `snakemake` "
             f"run on {comparison['cores']} cores at n = {comparison['n_participants']}, the median of "
             f"{comparison['repeats']} runs taken in turn with the other versions.", "",
             ":::{list-table} Median seconds with every workaround, and without each one (change against with).",
             ":header-rows: 1", ":name: tab-bench-workarounds", "",
             "* - Version", *[f"  - {name} (s)" for name in names.values()], "  - Decision",
             "* - With every workaround", *[f"  - {before['median_s'][key]:.2f}" for key in names],
             "  - (reference)"]
    for row in comparison["after"]:
        lines += [f"* - Without: {row['label']}",
                  *[f"  - {row['median_s'][key]:.2f} ({100 * row['change_vs_before'][key]:+.0f}%)" for key in names],
                  "  - " + ("kept" if row["keeps_workaround"] else "removed")]
    return lines + [":::", ""]


def benchmarks_markdown(report_json: Path | None, figure_dir: Path) -> str:
    """The appendix page: targets met or not, build times, stage throughput, scaling figures."""
    lines = ["(benchmarks)=", "# Performance benchmarks", ""]
    if report_json is None or not Path(report_json).exists():
        lines += ["No benchmark has been recorded yet. Run `make bench` (about 40 minutes on 2 cores); it writes",
                  "`benchmarks/results/benchmarks.json`, and the next `make book` shows it here.", ""]
        return "\n".join(lines)
    import matplotlib

    matplotlib.use("Agg")
    report = json.loads(Path(report_json).read_text(encoding="utf-8"))
    targets = report.get("targets", {})
    figure_dir = Path(figure_dir)
    figure_dir.mkdir(parents=True, exist_ok=True)
    lines += _header(report)
    if report.get("build"):
        lines += _build_section(report["build"])
    dti, fmri = report.get("dti_throughput"), report.get("fmri_stage")
    dti_cases = ([dti] + [dti[extra] for extra in ("larger_cohort", "finer_images") if extra in dti]) if dti else []
    if dti_cases or fmri:
        lines += _stages_section(dti, dti_cases, fmri, targets)
    plain_cases = [case for case in dti_cases if "plain_dipy_wls" in case and "fitted_voxels" in case]
    if plain_cases:
        lines += _plain_dipy_section(plain_cases)
    if report.get("scaling"):
        lines += _scaling_section(report["scaling"], targets, figure_dir)
    if report.get("prediction"):
        lines += _prediction_section(report["prediction"], figure_dir)
    if report.get("workarounds"):
        lines += _workarounds_section(report["workarounds"])
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from analysis.atomic import write_text

    parser = argparse.ArgumentParser(description="Write the book's performance appendix.")
    parser.add_argument("out")
    parser.add_argument("--report", default=None, help="benchmarks JSON written by make bench")
    parser.add_argument("--copy", default=None, help="also copy the report here (into the results)")
    args = parser.parse_args(argv)
    write_text(args.out, benchmarks_markdown(Path(args.report) if args.report else None, Path(args.out).parent),
               if_changed=True)
    if args.copy:
        Path(args.copy).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(args.report, args.copy)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
