"""Writing files and folders so that a reader never sees half of one, and a failure leaves the
last complete version in place: the one way this package writes its outputs."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

__all__ = ["write_text", "replace_directory"]


def write_text(path: str | Path, text: str, *, if_changed: bool = False) -> Path:
    """Write ``text`` through a temporary file in the same folder and a rename. ``if_changed``:
    leave an identical file alone, so its mtime and everything built from it stay (keeps Sphinx
    and Snakemake incremental)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if if_changed and path.exists() and path.read_text(encoding="utf-8") == text:
        return path
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        os.chmod(temporary, 0o644)  # mkstemp makes files private; outputs are for everyone to read
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def replace_directory(target: str | Path, fill: Callable[[Path], object]) -> Path:
    """Build a folder with ``fill(folder)`` beside ``target``, then put it in ``target``'s place
    (the old tree is removed last). If ``fill`` fails, ``target`` is untouched."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    staging.chmod(0o755)  # mkdtemp makes folders private; outputs are for everyone to read
    try:
        fill(staging)
        swap_directory(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def swap_directory(new: Path, target: Path) -> None:
    """Replace ``target`` by the complete folder ``new`` with two renames."""
    old = target.with_name(f".{target.name}.old")
    if old.exists():
        shutil.rmtree(old)
    if target.exists():
        os.replace(target, old)
    os.replace(new, target)
    if old.exists():
        shutil.rmtree(old)
