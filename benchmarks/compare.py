"""Stage timings of several commits side by side: does a change make a stage a user waits for faster?

    python benchmarks/compare.py --before main --after no-isal no-gc-freeze --repeats 5
    python benchmarks/compare.py ... --merge-into benchmarks/results/benchmarks.json

Each revision is cloned and run with its own code (``PYTHONPATH`` points at its clone, so this
checkout's editable install is not what runs) on its own synthetic cohort of ``--n``
participants (the default profile's design, the same seed: identical inputs). For every repeat,
the revisions take turns (in a rotated order, so a slow spell of the machine does not fall on
one of them), and each runs, on 2 cores:

- ``dti_stage_s``: the DTI stage (tensor fits and regional MD, collect step included), the whole
  ``snakemake`` command as a user waits for it;
- ``noop_s``: the same command again with nothing to do (the engine's start-up and job-graph check,
  which every build and ``make claim`` pays);
- ``fmri_stage_s``: the fMRI stage (ROI time series), whole command.

The medians are reported with every sample and, per ``--after`` revision, the change against
``--before`` in per cent (positive: slower without the change). The rule the book applies, stated
here before any number: a speed workaround stays only if removing it makes one of these medians at
least 10% slower. ``--label REV=TEXT`` names what a revision changes, for the benchmarks page.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run.py beside this script (benchmarks/ is not a package)

from run import (ENV, ROOT, _clear_dti_stage, _clear_fmri_stage, _scaled, log, snakemake,  # noqa: E402
                 time_noop, time_stage)

from analysis.paths import git_commit  # noqa: E402

#: a workaround stays if removing it makes a measured stage at least this much slower
THRESHOLD = 0.10
MEASURES = ("dti_stage_s", "noop_s", "fmri_stage_s")


def prepare(revision: str, scratch: Path, n: int) -> dict:
    """A clone of `revision`, its environment and its cohort, with both stages built once (warm-up)."""
    name = revision.replace("/", "_")
    clone = scratch / name / "checkout"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    subprocess.run(["git", "checkout", "--quiet", revision], cwd=clone, check=True)
    env = dict(ENV, PYTHONPATH=str(clone))
    config = _scaled(scratch / name, n)
    directory = config.parent
    targets = {"dti": f"{directory}/.work/dti/roi_md.tsv", "fmri": f"{directory}/.work/fmri/qc.tsv"}
    snakemake(clone, f"--configfile={config}", *targets.values(), env=env)
    return {"revision": revision, "commit": git_commit(clone), "clone": clone, "env": env, "config": config,
            "targets": targets, "samples": {measure: [] for measure in MEASURES}}


def one_repeat(run: dict) -> None:
    clone, config, env, targets, samples = run["clone"], run["config"], run["env"], run["targets"], run["samples"]
    samples["dti_stage_s"].append(time_stage(clone, config, targets["dti"], _clear_dti_stage, 2, env=env))
    samples["noop_s"].append(time_noop(clone, config, targets["dti"], 2, env=env))
    samples["fmri_stage_s"].append(time_stage(clone, config, targets["fmri"], _clear_fmri_stage, 2, env=env))


def summary(runs: list[dict], labels: dict[str, str], n: int, repeats: int) -> dict:
    """Medians, samples and per-cent changes against the first run (the --before revision)."""
    rows = []
    for run in runs:
        medians = {measure: round(statistics.median(values), 3) for measure, values in run["samples"].items()}
        rows.append({"revision": run["revision"], "commit": run["commit"][:12],
                     "label": labels.get(run["revision"], run["revision"]), "median_s": medians,
                     "samples_s": run["samples"]})
    before = rows[0]["median_s"]
    for row in rows[1:]:
        change = {measure: round((row["median_s"][measure] - before[measure]) / before[measure], 4) for measure in MEASURES}
        row["change_vs_before"] = change
        row["keeps_workaround"] = any(value >= THRESHOLD for value in change.values())
    return {"n_participants": n, "repeats": repeats, "cores": 2, "threshold": THRESHOLD, "before": rows[0],
            "after": rows[1:]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", required=True, help="the reference revision (branch, tag or commit)")
    parser.add_argument("--after", nargs="+", required=True, help="revisions to compare with it")
    parser.add_argument("--label", nargs="*", default=[], metavar="REV=TEXT", help="what each revision changes")
    parser.add_argument("--n", type=int, default=98, help="participants per synthetic cohort")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "compare.json"))
    parser.add_argument("--merge-into", help="also store the comparison under 'workarounds' in this report")
    parser.add_argument("--scratch", help="folder for the clones and cohorts (default: a temporary one)")
    args = parser.parse_args(argv)
    labels = dict(item.split("=", 1) for item in args.label)
    scratch = Path(args.scratch or tempfile.mkdtemp(prefix="ktrd-compare-"))
    try:
        runs = []
        for revision in (args.before, *args.after):
            log(f"preparing {revision}")
            runs.append(prepare(revision, scratch, args.n))
        for repeat in range(args.repeats):
            order = runs[repeat % len(runs):] + runs[:repeat % len(runs)]
            for run in order:
                one_repeat(run)
            log(f"repeat {repeat + 1}/{args.repeats}: " + "; ".join(
                f"{run['revision']} " + ", ".join(f"{values[-1]:.2f}" for values in run["samples"].values())
                for run in runs))
    finally:
        if not args.scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    result = summary(runs, labels, args.n, args.repeats)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    if args.merge_into:
        report_path = Path(args.merge_into)
        report = json.loads(report_path.read_text(encoding="utf-8"))
        report["workarounds"] = result
        report_path.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    for row in result["after"]:
        log(f"{row['label']}: " + ", ".join(f"{measure} {value:+.1%}" for measure, value in row["change_vs_before"].items())
            + ("  -> keep" if row["keeps_workaround"] else "  -> remove"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
