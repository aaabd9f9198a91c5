"""Machine-readable results of a claim notebook, written deterministically."""
from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np

from .atomic import write_text

__all__ = ["write_results", "read_results", "sha256_file"]


def _plain(value):
    """Convert numpy scalars and containers to JSON types; NaN and inf become None."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return None if not math.isfinite(value) else value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if value is None or isinstance(value, (str, int, bool)):
        return value
    if hasattr(value, "item"):
        return _plain(value.item())
    raise TypeError(f"cannot write {type(value).__name__} to a results file: {value!r}")


def write_results(path: str | Path, payload: dict) -> Path:
    """Write ``payload`` as sorted, indented JSON, atomically (temp file + rename).

    Same payload, same bytes: keys are sorted, floats keep full precision, no timestamps.
    """
    path = Path(path)
    text = json.dumps(_plain(payload), sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    write_text(path, text)
    return path


def read_results(path: str | Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
