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
benchmarks-page OUT          generate the performance appendix from make bench's JSON
publish                      publish a finished build into _build/ and results/
simulate-dti ROOT            write the synthetic DTI trial (BIDS derivatives) under ROOT
discover-dti                 find every participant's DWI with pybids; write a manifest
dti-roi                      fit the tensor for a batch of participant:session pairs; write ROI MD and QC
collect-dti                  combine the per-session tables into roi_md.tsv and qc.tsv (validated)
simulate-fmri ROOT           write the synthetic baseline fMRI cohort (fMRIPrep-style) under ROOT
fmri-timeseries              confound-cleaned ROI time series of one participant or a batch
collect-fmri                 combine the per-participant QC rows into one table
simulation-study             one scenario of an imaging claim's simulation study (operating characteristics)
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import paths


def _write(path: str | Path, text: str) -> None:
    """Write atomically; an unchanged file keeps its mtime so the book build stays incremental."""
    from .workflow import write_text_if_changed

    write_text_if_changed(path, text)


def _tsv(rows) -> str:
    """Rows as tab-separated text (quoted only where a field holds a tab, quote or newline, as
    pandas' ``to_csv`` does)."""
    import csv
    import io

    buffer = io.StringIO()
    csv.writer(buffer, delimiter="\t", lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def main(argv: list[str] | None = None, *, freeze: bool = False) -> int:
    """The command line. ``freeze``: gc-freeze the imported libraries where a command's loop gains
    from it (``python -m analysis`` passes True; an in-process caller such as a test keeps False)."""
    parser = argparse.ArgumentParser(prog="python -m analysis", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

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

    bench = commands.add_parser("benchmarks-page")
    bench.add_argument("out")
    bench.add_argument("--report", default=None, help="benchmarks JSON written by make bench")
    bench.add_argument("--copy", default=None, help="also copy the report here (into the results)")

    pub = commands.add_parser("publish")
    pub.add_argument("--site-build", required=True)
    pub.add_argument("--pdf", required=True)
    pub.add_argument("--results-dir", required=True)

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
    discover.add_argument("--out", required=True)

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

    study = commands.add_parser("simulation-study")
    study.add_argument("--claim", required=True)
    study.add_argument("--scenario", required=True)
    study.add_argument("--settings", required=True, help="JSON object of the study's settings")
    study.add_argument("--out", required=True)

    args = parser.parse_args(argv)

    if args.command == "simulation-study":
        import json

        from .claims.studies import run_study
        from .results import write_results

        write_results(args.out, run_study(args.claim, args.scenario, json.loads(args.settings)))
        return 0

    if args.command == "validate-literature":
        from .io import DataValidationError, read_literature

        try:
            for csv in args.csv:
                table = read_literature(csv)
                print(f"{csv}: {len(table)} rows, {table['study_key'].nunique()} study arms, all valid")
        except DataValidationError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        return 0

    if args.command == "benchmarks-page":
        import shutil

        from .book_pages import benchmarks_markdown

        _write(args.out, benchmarks_markdown(Path(args.report) if args.report else None, Path(args.out).parent))
        if args.copy:
            Path(args.copy).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(args.report, args.copy)
        return 0

    if args.command == "run-notebook":
        import json

        from .workflow import run_notebook

        parameters = json.loads(args.parameters)
        if not isinstance(parameters, dict):
            print(f"error: --parameters must be a JSON object, got {args.parameters!r}", file=sys.stderr)
            return 1
        parameters.update(results_path=args.results, figures_dir=args.figures, config_profile=args.profile)
        import shutil

        shutil.rmtree(args.figures, ignore_errors=True)  # no figure from an earlier version lingers
        run_notebook(Path(args.source), Path(args.output), parameters, failed_dir=paths.WORK / "failed")
        return 0

    if args.command == "stage-book":
        from .workflow import stage_book

        stage_book(Path(args.site))
        return 0

    if args.command == "scoreboard":
        from .claims import load_registry, scoreboard_markdown
        from .claims.scoreboard import key_findings_markdown

        registry = load_registry()
        _write(args.out, scoreboard_markdown(registry, Path(args.results_dir)))
        if args.key_findings:
            _write(args.key_findings, key_findings_markdown(registry, Path(args.results_dir)))
        return 0

    if args.command == "data-dictionary":
        from .book_pages import data_dictionary_markdown

        _write(args.out, data_dictionary_markdown(Path(args.literature), Path(args.to_verify) if args.to_verify else None))
        return 0

    if args.command == "reproducibility":
        from .book_pages import reproducibility_markdown

        _write(args.out, reproducibility_markdown([Path(p) for p in args.notebooks], [Path(p) for p in args.data],
                                                  [Path(p) for p in args.results]))
        return 0

    if args.command == "cite-this":
        from .book_pages import cite_markdown

        _write(args.out, cite_markdown(Path(args.citation)))
        return 0

    if args.command == "publish":
        from .workflow import publish

        publish(Path(args.site_build), Path(args.pdf), Path(args.results_dir))
        print("published: _build/html/index.html, _build/pdf/, results/")
        return 0
    if args.command == "simulate-dti":
        import shutil
        import tempfile

        from .simulate.dti import TrialDesign, write_dataset

        root = Path(args.root)
        root.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=root.parent, prefix=f".{root.name}."))
        staging.chmod(0o755)  # mkdtemp makes folders private; the dataset is for everyone to read
        try:
            write_dataset(staging, TrialDesign(n_participants=args.n, seed=args.seed).at_resolution(args.resolution_scale))
            if root.exists():
                shutil.rmtree(root)
            staging.rename(root)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        print(f"wrote a SYNTHETIC DTI cohort of {args.n} participants (seed {args.seed}) to {root}")
        return 0

    if args.command == "discover-dti":
        from .imaging import ImagingInputError, discover_dwi
        from .io import DataValidationError, read_participants

        try:
            participants = read_participants(args.participants)
            manifest = discover_dwi(args.root, participants["participant_id"].tolist(), space=args.space)
        except (ImagingInputError, DataValidationError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        _write(args.out, manifest.to_csv(sep="\t", index=False))
        return 0

    if args.command == "dti-roi":
        # plain rows and csv: no DataFrame per session (see benchmarks/README.md)
        import csv

        from .imaging.dti import QC_COLUMNS, TABLE_COLUMNS, ImagingInputError, fit_regions, prepare_regions

        if args.items:
            items = [tuple(item.split(":", 1)) for item in args.items]
            if any(len(item) != 2 for item in items):
                parser.error("--items expects PARTICIPANT:SESSION pairs")
        elif args.participant and args.session:
            items = [(args.participant, args.session)]
        else:
            parser.error("dti-roi needs --items or both --participant and --session")
        manifest_columns = ("participant_id", "session", "dwi", "bval", "bvec", "mask")
        with open(args.manifest, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle, delimiter="\t")
            missing = [column for column in manifest_columns if column not in (reader.fieldnames or ())]
            if missing:
                print(f"error: {args.manifest}: missing column(s) {missing}; expected {list(manifest_columns)} "
                      "(written by `python -m analysis discover-dti`)", file=sys.stderr)
                return 1
            manifest: dict[tuple[str, str], list[dict]] = {}
            for row in reader:
                manifest.setdefault((row["participant_id"], row["session"]), []).append(row)
        try:
            regions = prepare_regions(args.atlas, args.labels)
        except ImagingInputError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        if freeze:  # dipy's import chain, then freeze it: the collections in the loop skip it
            import dipy.reconst.dti  # noqa: F401

            from .workflow import freeze_objects

            freeze_objects()
        table = [("participant_id", "session", *TABLE_COLUMNS)]
        qc = [("participant_id", "session", *QC_COLUMNS)]
        for participant, session in items:  # one process per batch: imports and the atlas are paid once
            entries = manifest.get((participant, session), [])
            if len(entries) != 1:
                print(f"error: {args.manifest}: {len(entries) or 'no'} entries for {participant}, session {session}; "
                      "expected exactly one", file=sys.stderr)
                return 1
            row = entries[0]
            try:  # an empty `mask` cell: no brain mask, the regions' voxels are fitted as they are
                rows, qc_rows = fit_regions(regions, row["dwi"], row["bval"], row["bvec"], mask=row["mask"] or None)
            except ImagingInputError as error:
                print(f"error: {participant}, session {session}: {error}", file=sys.stderr)
                return 1
            table += [(participant, session, roi, f"{md:.10g}", n_voxels) for roi, md, n_voxels in rows]
            qc += [(participant, session, roi, n_voxels, f"{fraction:.6g}", f"{residual:.6g}")
                   for roi, n_voxels, fraction, residual in qc_rows]
        # written only after every item of the batch succeeded: no half-written derivatives
        _write(args.out, _tsv(table))
        _write(args.qc, _tsv(qc))
        return 0

    if args.command == "collect-dti":
        from .imaging.collect import collect_dti
        from .io import DataValidationError

        try:
            collect_dti(args.inputs, args.qc_inputs, args.out, args.qc_out)
        except DataValidationError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        return 0

    if args.command == "simulate-fmri":
        import shutil
        import tempfile

        from .simulate.fmri import FmriDesign, write_dataset

        root = Path(args.root)
        root.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=root.parent, prefix=f".{root.name}."))
        staging.chmod(0o755)  # mkdtemp makes folders private; the dataset is for everyone to read
        try:
            write_dataset(staging, FmriDesign(n_participants=args.n, seed=args.seed))
            if root.exists():
                shutil.rmtree(root)
            staging.rename(root)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        print(f"wrote a SYNTHETIC fMRI cohort of {args.n} participants (seed {args.seed}) to {root}")
        return 0

    if args.command == "fmri-timeseries":
        import warnings

        import pandas as pd

        from .imaging import ImagingInputError
        from .imaging.fmri import extract_roi_timeseries, freeze_imported_objects

        if not len(args.bold) == len(args.mask) == len(args.participant):
            parser.error("--bold, --mask and --participant need one entry per participant each")
        if (args.out is None) == (args.out_dir is None):
            parser.error("give --out (one participant) or --out-dir (a batch)")
        if args.out is not None and len(args.participant) != 1:
            parser.error("--out takes one participant; use --out-dir for a batch")
        rois = pd.read_csv(args.rois, sep="\t")
        if freeze:
            freeze_imported_objects()  # nilearn's per-image gc.collect() then skips the imported libraries
        series, rows = {}, []
        for participant, bold, mask in zip(args.participant, args.bold, args.mask):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", FutureWarning)
                    timeseries, qc = extract_roi_timeseries(bold, rois, mask=mask)
            except (ImagingInputError, ValueError) as error:
                print(f"error: {participant}: {error}", file=sys.stderr)
                return 1
            out = args.out or str(Path(args.out_dir) / f"{participant}_timeseries.tsv")
            series[out] = pd.DataFrame(timeseries, columns=rois["name"]).to_csv(sep="\t", index=False,
                                                                               float_format="%.7g")
            rows.append({"participant_id": participant, **qc, "timeseries": out})
        # written only after every participant of the batch succeeded
        for out, text in series.items():
            _write(out, text)
        _write(args.qc, pd.DataFrame(rows).to_csv(sep="\t", index=False, float_format="%.6g"))
        return 0

    if args.command == "collect-fmri":
        from .imaging.collect import collect_fmri

        collect_fmri(args.qc_inputs, args.out)
        return 0
    return 2


if __name__ == "__main__":
    status = main(freeze=True)
    # the interpreter's collections at exit walked every imported object (about 0.4 s with
    # dipy or pandas loaded); frozen objects are skipped (see analysis.workflow.freeze_objects)
    from .workflow import freeze_objects

    freeze_objects()
    sys.exit(status)
