"""Command line of the workflow steps: ``python -m analysis <command> ...``.

Commands
--------
validate-literature CSV      check the literature table; exit 1 with file/row/column errors
run-notebook                 execute one claim notebook with parameters from a config file
stage-book SITE              copy book sources into the staging folder
scoreboard OUT               generate the scoreboard page
data-dictionary OUT          generate the data dictionary and study table page
reproducibility OUT          generate the reproducibility appendix
publish                      publish a finished build into _build/ and results/
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import paths


def _write(path: str | Path, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return  # unchanged: keep the mtime so the book build stays incremental
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


def main(argv: list[str] | None = None) -> int:
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

    dictionary = commands.add_parser("data-dictionary")
    dictionary.add_argument("out")
    dictionary.add_argument("--literature", required=True)
    dictionary.add_argument("--to-verify", default=None)

    repro = commands.add_parser("reproducibility")
    repro.add_argument("out")
    repro.add_argument("--notebooks", nargs="*", default=[])
    repro.add_argument("--data", nargs="*", default=[])
    repro.add_argument("--results", nargs="*", default=[])

    pub = commands.add_parser("publish")
    pub.add_argument("--site-build", required=True)
    pub.add_argument("--pdf", required=True)
    pub.add_argument("--results-dir", required=True)

    args = parser.parse_args(argv)

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

    if args.command == "run-notebook":
        import json

        from .workflow import run_notebook

        parameters = json.loads(args.parameters)
        if not isinstance(parameters, dict):
            print(f"error: --parameters must be a JSON object, got {args.parameters!r}", file=sys.stderr)
            return 1
        parameters.update(results_path=args.results, figures_dir=args.figures, config_profile=args.profile)
        run_notebook(Path(args.source), Path(args.output), parameters, failed_dir=paths.WORK / "failed")
        return 0

    if args.command == "stage-book":
        from .workflow import stage_book

        stage_book(Path(args.site))
        return 0

    if args.command == "scoreboard":
        from .claims import load_registry, scoreboard_markdown

        _write(args.out, scoreboard_markdown(load_registry(), Path(args.results_dir)))
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

    if args.command == "publish":
        from .workflow import publish

        publish(Path(args.site_build), Path(args.pdf), Path(args.results_dir))
        print("published: _build/html/index.html, _build/pdf/, results/")
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
