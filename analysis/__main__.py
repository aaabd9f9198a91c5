"""Command line of the workflow steps: ``python -m analysis <command> ...``.

Commands
--------
validate-literature CSV      check the literature table; exit 1 with file/row/column errors
run-notebook                 execute one claim notebook with parameters from a config file
stage-book SITE              copy book sources into the staging folder
scoreboard OUT               generate the scoreboard page (and the key-findings box)
cite-this OUT                generate the "Cite this book" box (CITATION.cff, version, commit)
data-dictionary OUT          generate the data dictionary and study table page
reproducibility OUT          generate the reproducibility appendix
publish                      publish a finished build into _build/ and results/
simulate-dti ROOT            write the synthetic DTI trial (BIDS derivatives) under ROOT
discover-dti                 find every participant's DWI with pybids; write a manifest
dti-roi                      fit the tensor for a batch of participant:session pairs; write ROI MD and QC
collect-dti                  combine the per-session tables into roi_md.tsv and qc.tsv (validated)
simulate-fmri ROOT           write the synthetic baseline fMRI cohort (fMRIPrep-style) under ROOT
fmri-timeseries              confound-cleaned ROI time series of one participant or a batch
collect-fmri                 combine the per-participant QC rows into one table
claim-output                 the results file of one claim under a run profile (for make claim)
simulation-study             one scenario of an imaging claim's simulation study (operating characteristics)
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import paths


def _write(path: str | Path, text: str) -> None:
    """Write atomically; an unchanged file keeps its mtime so the book build stays incremental."""
    from .atomic import write_text

    write_text(path, text, if_changed=True)


def _tsv(rows) -> str:
    """Rows as tab-separated text (quoted only where a field holds a tab, quote or newline, as
    pandas' ``to_csv`` does)."""
    import csv
    import io

    buffer = io.StringIO()
    csv.writer(buffer, delimiter="\t", lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def _error(message) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


# ------------------------------------------------------------------------------- the parser
def _add_book_commands(commands) -> None:
    validate = commands.add_parser("validate-literature")
    validate.add_argument("csv", nargs="+")

    run = commands.add_parser("run-notebook")
    run.add_argument("--claim", required=True)
    run.add_argument("--parameters", required=True, help="JSON object of notebook parameters")
    run.add_argument("--profile", default="default")
    run.add_argument("--source", required=True)
    run.add_argument("--output", required=True)
    run.add_argument("--results", required=True)
    run.add_argument("--figures", required=True)

    stage = commands.add_parser("stage-book")
    stage.add_argument("site")

    scoreboard = commands.add_parser("scoreboard")
    scoreboard.add_argument("out")
    scoreboard.add_argument("--results-dir", required=True)
    scoreboard.add_argument("--key-findings", help="also write the introduction's key-findings box here")
    scoreboard.add_argument("--data-statement", help="also write the one-line statement of what the imaging "
                                                     "chapters run on (footer and title page)")

    dictionary = commands.add_parser("data-dictionary")
    dictionary.add_argument("out")
    dictionary.add_argument("--literature", required=True)
    dictionary.add_argument("--to-verify", default=None)

    repro = commands.add_parser("reproducibility")
    repro.add_argument("out")
    repro.add_argument("--notebooks", nargs="*", default=[])
    repro.add_argument("--data", nargs="*", default=[])
    repro.add_argument("--results", nargs="*", default=[])

    cite = commands.add_parser("cite-this")
    cite.add_argument("out")
    cite.add_argument("--citation", default="CITATION.cff")

    pub = commands.add_parser("publish")
    pub.add_argument("--site-build", required=True)
    pub.add_argument("--pdf", required=True)
    pub.add_argument("--results-dir", required=True)
    pub.add_argument("--build-dir", default="_build", help="where the HTML and PDF go (relative to the project)")
    pub.add_argument("--results-out", default="results", help="where the results files go")

    output = commands.add_parser("claim-output")
    output.add_argument("--config", required=True, help="the run profile (config/*.yaml)")
    output.add_argument("--claim", required=True)

    study = commands.add_parser("simulation-study")
    study.add_argument("--claim", required=True)
    study.add_argument("--scenario", required=True)
    study.add_argument("--settings", required=True, help="JSON object of the study's settings")
    study.add_argument("--out", required=True)


def _add_imaging_commands(commands) -> None:
    simulate = commands.add_parser("simulate-dti")
    simulate.add_argument("root")
    simulate.add_argument("--n", type=int, default=98)
    simulate.add_argument("--seed", type=int, default=20231)
    simulate.add_argument("--resolution-scale", type=int, default=1,
                          help="a grid this many times finer along each axis (same anatomy in mm; benchmarks)")

    discover = commands.add_parser("discover-dti")
    discover.add_argument("--root", required=True)
    discover.add_argument("--participants", required=True)
    discover.add_argument("--space", default="T1w")
    discover.add_argument("--entities", default="{}", help="JSON object of BIDS entities to choose (acq, dir, run)")
    discover.add_argument("--out", required=True)
    discover.add_argument("--inventory", help="also write every DWI on disk: used or not, orientation, voxel size")

    roi = commands.add_parser("dti-roi")
    roi.add_argument("--manifest", required=True)
    roi.add_argument("--participant", help="one participant (with --session)")
    roi.add_argument("--session", help="one session (with --participant)")
    roi.add_argument("--items", nargs="+", metavar="PARTICIPANT:SESSION",
                     help="a batch of participant:session pairs fitted in one process")
    roi.add_argument("--atlas", required=True)
    roi.add_argument("--labels", required=True)
    roi.add_argument("--out", required=True)
    roi.add_argument("--qc", required=True)

    collect = commands.add_parser("collect-dti")
    collect.add_argument("--inputs", nargs="+", required=True)
    collect.add_argument("--qc-inputs", nargs="+", required=True)
    collect.add_argument("--out", required=True)
    collect.add_argument("--qc-out", required=True)

    simulate_fmri = commands.add_parser("simulate-fmri")
    simulate_fmri.add_argument("root")
    simulate_fmri.add_argument("--n", type=int, default=100)
    simulate_fmri.add_argument("--seed", type=int, default=7501)

    series = commands.add_parser("fmri-timeseries")
    series.add_argument("--bold", nargs="+", required=True)
    series.add_argument("--mask", nargs="+", required=True)
    series.add_argument("--rois", required=True)
    series.add_argument("--participant", nargs="+", required=True)
    series.add_argument("--out", help="time-series TSV of one participant")
    series.add_argument("--out-dir", help="folder for the time series of a batch of participants")
    series.add_argument("--qc", required=True)

    collect_fmri = commands.add_parser("collect-fmri")
    collect_fmri.add_argument("--qc-inputs", nargs="+", required=True)
    collect_fmri.add_argument("--out", required=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analysis", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    _add_book_commands(commands)
    _add_imaging_commands(commands)
    return parser


# ------------------------------------------------------------------------- book and claims
def simulation_study(args, parser, freeze) -> int:
    import json

    from .claims.studies import run_study
    from .results import write_results

    write_results(args.out, run_study(args.claim, args.scenario, json.loads(args.settings)))
    return 0


def claim_output(args, parser, freeze) -> int:
    """Print ``<workdir>/results/<claim>.json``: what ``make claim`` forces to re-run (then the book is
    republished with it)."""
    from .claims import load_registry
    from .build.workflow import load_config

    claims = [entry["id"] for entry in load_registry() if entry.get("notebook")]
    if args.claim not in claims:
        return _error(f"unknown claim {args.claim!r}; the claims with a notebook are {', '.join(claims)}")
    workdir = load_config(args.config).get("workdir") or load_config(paths.CONFIG_DIR / "default.yaml")["workdir"]
    print(f"{workdir}/results/{args.claim}.json")
    return 0


def validate_literature(args, parser, freeze) -> int:
    from .io import DataValidationError, read_literature

    try:
        for csv in args.csv:
            table = read_literature(csv)
            print(f"{csv}: {len(table)} rows, {table['study_key'].nunique()} study arms, all valid")
    except DataValidationError as error:
        return _error(error)
    return 0


def run_notebook(args, parser, freeze) -> int:
    import json
    import shutil

    from .build.workflow import run_notebook as execute

    parameters = json.loads(args.parameters)
    if not isinstance(parameters, dict):
        return _error(f"--parameters must be a JSON object, got {args.parameters!r}")
    parameters.update(results_path=args.results, figures_dir=args.figures, config_profile=args.profile)
    shutil.rmtree(args.figures, ignore_errors=True)  # no figure from an earlier version lingers
    # kept beside the run's results: <workdir>/failed/ (results are <workdir>/results/<claim>.json)
    execute(Path(args.source), Path(args.output), parameters, failed_dir=Path(args.results).parent.parent / "failed")
    return 0


def stage_book(args, parser, freeze) -> int:
    from .build.workflow import stage_book as stage

    stage(Path(args.site))
    return 0


def scoreboard(args, parser, freeze) -> int:
    from .claims import load_registry, scoreboard_markdown
    from .claims.scoreboard import key_findings_markdown

    registry = load_registry()
    _write(args.out, scoreboard_markdown(registry, Path(args.results_dir)))
    if args.key_findings:
        _write(args.key_findings, key_findings_markdown(registry, Path(args.results_dir)))
    if args.data_statement:
        from .claims.scoreboard import data_statement

        _write(args.data_statement, data_statement(registry, Path(args.results_dir)) + "\n")
    return 0


def data_dictionary(args, parser, freeze) -> int:
    from .build.pages import data_dictionary_markdown

    _write(args.out, data_dictionary_markdown(Path(args.literature), Path(args.to_verify) if args.to_verify else None))
    return 0


def reproducibility(args, parser, freeze) -> int:
    from .build.pages import reproducibility_markdown

    _write(args.out, reproducibility_markdown([Path(p) for p in args.notebooks], [Path(p) for p in args.data],
                                              [Path(p) for p in args.results]))
    return 0


def cite_this(args, parser, freeze) -> int:
    from .build.pages import cite_markdown

    _write(args.out, cite_markdown(Path(args.citation)))
    return 0


def publish(args, parser, freeze) -> int:
    from .build.workflow import publish as publish_build

    publish_build(Path(args.site_build), Path(args.pdf), Path(args.results_dir), build_dir=args.build_dir,
                  results_out=args.results_out)
    print(f"published: {args.build_dir}/html/index.html, {args.build_dir}/pdf/, {args.results_out}/")
    return 0


# --------------------------------------------------------------------------------- imaging
def simulate_dti(args, parser, freeze) -> int:
    from .atomic import replace_directory
    from .simulate.dti import TrialDesign, write_dataset

    design = TrialDesign(n_participants=args.n, seed=args.seed).at_resolution(args.resolution_scale)
    replace_directory(args.root, lambda folder: write_dataset(folder, design))
    print(f"wrote a SYNTHETIC DTI cohort of {args.n} participants (seed {args.seed}) to {args.root}")
    return 0


def simulate_fmri(args, parser, freeze) -> int:
    from .atomic import replace_directory
    from .simulate.fmri import FmriDesign, write_dataset

    replace_directory(args.root, lambda folder: write_dataset(folder, FmriDesign(n_participants=args.n, seed=args.seed)))
    print(f"wrote a SYNTHETIC fMRI cohort of {args.n} participants (seed {args.seed}) to {args.root}")
    return 0


def discover_dti(args, parser, freeze) -> int:
    import json

    from .imaging import ImagingInputError, discover_dwi
    from .io import DataValidationError, read_participants

    try:
        participants = read_participants(args.participants)
        manifest, inventory = discover_dwi(args.root, participants["participant_id"].tolist(), space=args.space,
                                           entities=json.loads(args.entities), inventory=True)
    except (ImagingInputError, DataValidationError) as error:
        return _error(error)
    _write(args.out, manifest.to_csv(sep="\t", index=False))
    if args.inventory:
        _write(args.inventory, inventory.to_csv(sep="\t", index=False))
    return 0


def dti_roi(args, parser, freeze) -> int:
    from .imaging.batch import dti_batch
    from .imaging.dti import ImagingInputError

    if args.items:
        items = [tuple(item.split(":", 1)) for item in args.items]
        if any(len(item) != 2 for item in items):
            parser.error("--items expects PARTICIPANT:SESSION pairs")
    elif args.participant and args.session:
        items = [(args.participant, args.session)]
    else:
        parser.error("dti-roi needs --items or both --participant and --session")
    try:
        table, qc = dti_batch(args.manifest, items, args.atlas, args.labels, freeze=freeze)
    except ImagingInputError as error:
        return _error(error)
    # written only after every item of the batch succeeded: no half-written derivatives
    _write(args.out, _tsv(table))
    _write(args.qc, _tsv(qc))
    return 0


def collect_dti(args, parser, freeze) -> int:
    from .imaging.collect import collect_dti as collect
    from .io import DataValidationError

    try:
        collect(args.inputs, args.qc_inputs, args.out, args.qc_out)
    except DataValidationError as error:
        return _error(error)
    return 0


def fmri_timeseries(args, parser, freeze) -> int:
    from .imaging.batch import fmri_batch
    from .imaging.dti import ImagingInputError

    if not len(args.bold) == len(args.mask) == len(args.participant):
        parser.error("--bold, --mask and --participant need one entry per participant each")
    if (args.out is None) == (args.out_dir is None):
        parser.error("give --out (one participant) or --out-dir (a batch)")
    if args.out is not None and len(args.participant) != 1:
        parser.error("--out takes one participant; use --out-dir for a batch")
    outputs = [args.out or str(Path(args.out_dir) / f"{participant}_timeseries.tsv") for participant in args.participant]
    try:
        series, qc = fmri_batch(args.participant, args.bold, args.mask, args.rois, outputs, freeze=freeze)
    except ImagingInputError as error:
        return _error(error)
    for out, text in series.items():  # written only after every participant of the batch succeeded
        _write(out, text)
    _write(args.qc, qc)
    return 0


def collect_fmri(args, parser, freeze) -> int:
    from .imaging.collect import collect_fmri as collect

    collect(args.qc_inputs, args.out)
    return 0


COMMANDS = {
    "validate-literature": validate_literature, "run-notebook": run_notebook, "stage-book": stage_book,
    "scoreboard": scoreboard, "cite-this": cite_this, "data-dictionary": data_dictionary,
    "reproducibility": reproducibility, "publish": publish,
    "simulate-dti": simulate_dti, "discover-dti": discover_dti, "dti-roi": dti_roi, "collect-dti": collect_dti,
    "simulate-fmri": simulate_fmri, "fmri-timeseries": fmri_timeseries, "collect-fmri": collect_fmri,
    "simulation-study": simulation_study, "claim-output": claim_output,
}


def main(argv: list[str] | None = None, *, freeze: bool = False) -> int:
    """The command line. ``freeze``: gc-freeze the imported libraries where a command's loop gains
    from it (``python -m analysis`` passes True; an in-process caller such as a test keeps False)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    return COMMANDS[args.command](args, parser, freeze)


if __name__ == "__main__":
    status = main(freeze=True)
    # the interpreter's collections at exit walk every imported object; frozen objects are
    # skipped (see analysis.runtime.freeze_objects)
    from .runtime import freeze_objects

    freeze_objects()
    sys.exit(status)
