"""Profiles of the imaging jobs, written as pyinstrument text reports (the record behind the
hot spots named in benchmarks/README.md).

    python benchmarks/profile.py                # or: make profile
    python benchmarks/profile.py --out /tmp/p   # somewhere else

Writes into ``benchmarks/results/profiles/``:

- ``dti_roi.txt``: one DTI batch job (100 sessions, the default ``dti.batch_size``);
- ``fmri_timeseries.txt``: one fMRI batch job (25 participants, the default ``fmri.batch_size``);
- ``snakemake_dti_stage.txt``: the Snakemake process that runs the DTI stage of a 98-participant
  cohort on 2 cores (its own start-up, job graph and bookkeeping; the jobs are other processes).

Synthetic cohorts are generated in a temporary folder from the default seeds. Profiles are
sampled, so the figures differ a little from run to run; they show where the time goes, the
benchmarks (benchmarks/run.py) say how much.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# the analysis package is installed (pip install -e ., as make does)

from analysis.build.workflow import load_config, scaled_config  # noqa: E402
from benchmarks.run import BIN, ENV, _clear_dti_stage  # noqa: E402  (the benchmarks' job settings)


def run(command: list[str], cwd: Path = ROOT) -> None:
    subprocess.run(command, cwd=cwd, env=ENV, check=True, stdout=subprocess.DEVNULL)


def pyinstrument(out: Path, *command: str, cwd: Path = ROOT) -> Path:
    """Profile `command` (a module run with -m, or a script path) into a text report at `out`."""
    run([sys.executable, "-m", "pyinstrument", "--renderer", "text", "--outfile", str(out), *command], cwd=cwd)
    print(f"wrote {out}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "profiles"))
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="ktrd-profile-"))
    try:
        python = [sys.executable, "-m", "analysis"]
        dti, fmri, work = scratch / "dti", scratch / "fmri", scratch / "work"
        run(python + ["simulate-dti", str(dti), "--n", "50", "--seed", "20231"])
        run(python + ["discover-dti", "--root", str(dti), "--participants", str(dti / "participants.tsv"),
                      "--out", str(work / "manifest.tsv")])
        pyinstrument(out / "dti_roi.txt", "-m", "analysis", "dti-roi", "--manifest", str(work / "manifest.tsv"),
                     "--items", *[f"sub-{i:03d}:{session}" for i in range(1, 51) for session in ("pre", "post")],
                     "--atlas", str(dti / "atlas" / "atlas-KetamineROIs_dseg.nii.gz"),
                     "--labels", str(dti / "atlas" / "atlas-KetamineROIs_dseg.tsv"),
                     "--out", str(work / "roi_md.tsv"), "--qc", str(work / "dti_qc.tsv"))
        run(python + ["simulate-fmri", str(fmri), "--n", "25", "--seed", "7501"])
        participants = [f"sub-{i:03d}" for i in range(1, 26)]
        func = [fmri / p / "func" / f"{p}_task-rest_space-MNI152NLin2009cAsym" for p in participants]
        pyinstrument(out / "fmri_timeseries.txt", "-m", "analysis", "fmri-timeseries",
                     "--bold", *[f"{f}_desc-preproc_bold.nii.gz" for f in func],
                     "--mask", *[f"{f}_desc-brain_mask.nii.gz" for f in func],
                     "--rois", str(fmri / "rois.tsv"), "--participant", *participants,
                     "--out-dir", str(work / "timeseries"), "--qc", str(work / "fmri_qc.tsv"))
        # the Snakemake process of the DTI stage, on a clone (nothing written into this checkout)
        checkout = scratch / "checkout"
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(checkout)], check=True)
        config = scaled_config(load_config(ROOT / "config" / "default.yaml"), 98, scratch / "n98")
        config_file = scratch / "n98.yaml"
        config_file.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        target = f"{config['workdir']}/dti/roi_md.tsv"
        run([str(BIN / "snakemake"), "--cores", "2", f"--configfile={config_file}", target], cwd=checkout)
        _clear_dti_stage(scratch / "n98")  # the batch tables and the collected ones: the stage runs again
        pyinstrument(out / "snakemake_dti_stage.txt", str(BIN / "snakemake"), "--cores", "2",
                     f"--configfile={config_file}", target, cwd=checkout)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
