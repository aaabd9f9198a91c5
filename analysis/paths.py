"""Where things live. One module, one override.

``KTRD_ROOT`` overrides the project root (default: the folder holding ``analysis/``);
``KTRD_WORKDIR`` overrides the staging folder (default ``<root>/.work``). Everything else is
relative to those two.
"""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(os.environ.get("KTRD_ROOT", Path(__file__).resolve().parents[1])).resolve()
WORK = Path(os.environ.get("KTRD_WORKDIR", ROOT / ".work"))
if not WORK.is_absolute():
    WORK = ROOT / WORK

REGISTRY = ROOT / "claims.yaml"
BOOK_SOURCE = ROOT / "book"
CONFIG_DIR = ROOT / "config"
DATA = ROOT / "data"
LITERATURE = DATA / "literature"


def site_dir(work: Path = WORK) -> Path:
    """Staged book sources (executed notebooks + pages) that Jupyter Book builds."""
    return work / "site"


def figures_dir(claim: str, work: Path = WORK) -> Path:
    return work / "results" / "figures" / claim


def results_path(claim: str, work: Path = WORK) -> Path:
    return work / "results" / f"{claim}.json"


def git_commit(root: Path = ROOT, *, short: int | None = None) -> str:
    """The commit checked out in ``root`` (``short``: its first characters), or "" outside a git
    checkout. The one place the build asks git which commit it is building."""
    import subprocess

    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""
    return commit[:short] if short else commit
