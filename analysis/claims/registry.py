"""The claims registry: ``claims.yaml``, one entry per published claim the book re-derives."""
from __future__ import annotations

from pathlib import Path

import yaml

from .. import paths

__all__ = ["load_registry", "registry_entry"]
_REQUIRED = ("id", "title", "claim", "source", "published", "reproduced_means", "notebook", "chapter",
             "rules_stated")
_REQUIRED_ITEM = ("key", "label", "text", "rule")


def load_registry(path: str | Path = paths.REGISTRY) -> list[dict]:
    """Read ``claims.yaml``.

    Every entry needs the fields in ``_REQUIRED`` and a unique id; every published item a
    ``key, label, text`` and the ``rule`` that judges it; ``rules_stated`` says when the rules
    were written and whether that was after the numbers had been seen.
    """
    path = Path(path)
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(entries, list):
        raise ValueError(f"{path}: expected a list of claims, got {type(entries).__name__}")
    seen = set()
    for index, entry in enumerate(entries, start=1):
        missing = [field for field in _REQUIRED if field not in entry]
        if missing:
            raise ValueError(f"{path}: claim {index} ({entry.get('id', '?')}): missing field(s) {missing}")
        for position, item in enumerate(entry["published"], start=1):
            absent = [field for field in _REQUIRED_ITEM if not item.get(field)]
            if absent:
                raise ValueError(f"{path}: claim {entry['id']!r}, published item {position} "
                                 f"({item.get('key', '?')}): missing field(s) {absent}; every published number "
                                 "needs the rule that judges it")
        stated = entry["rules_stated"]
        if not isinstance(stated, dict) or "date" not in stated or "after_results" not in stated:
            raise ValueError(f"{path}: claim {entry['id']!r}: rules_stated needs 'date' and 'after_results'")
        if entry["id"] in seen:
            raise ValueError(f"{path}: claim {index}: duplicate id {entry['id']!r}")
        seen.add(entry["id"])
    return entries


def registry_entry(claim_id: str, path: str | Path = paths.REGISTRY) -> dict:
    """The registry entry of one claim; a ValueError names the known ids when it is absent."""
    entries = load_registry(path)
    for entry in entries:
        if entry["id"] == claim_id:
            return entry
    raise ValueError(f"{path}: no claim {claim_id!r}; known: {[entry['id'] for entry in entries]}")
