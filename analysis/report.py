"""Helpers that put numbers, text and figures from a notebook into the book's prose.

Each wraps :func:`myst_nb.glue` (``display=False``) so that notebooks stay thin and values
render cleanly: numpy scalars are converted to Python numbers (their repr would otherwise
reach ``{glue:text}``) and figures are saved under a stable name as well as glued.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .plotting import save_figure

__all__ = ["glue_number", "glue_markdown", "glue_figure", "markdown_table"]


def _glue(name, value):
    from myst_nb import glue

    glue(name, value, display=False)


def glue_number(name: str, value) -> None:
    """Glue a number for ``{glue:text}`name:.1f```."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: glue a number, not a boolean")
    plain = int(value) if isinstance(value, (int, np.integer)) else float(value)
    _glue(name, plain)


def glue_markdown(name: str, text: str) -> None:
    """Glue markdown for ``{glue:md}`name```."""
    from IPython.display import Markdown

    _glue(name, Markdown(text))


def glue_figure(name: str, figure, *, stem: str, directory: str | Path, data=None) -> None:
    """Save ``figure`` as ``<directory>/<stem>.png`` (and ``.pdf``), glue it for ``{glue:figure}`` and
    close it. ``data`` (a DataFrame), when given, is saved beside it as ``<stem>.csv``: the numbers the
    figure draws, for readers who want them."""
    import matplotlib.pyplot as plt

    save_figure(figure, stem, directory)
    if data is not None:
        Path(directory, f"{stem}.csv").write_text(data.to_csv(index=False, lineterminator="\n"), encoding="utf-8")
    _glue(name, figure)
    plt.close(figure)  # glued already; do not display it a second time


def markdown_table(frame, *, align: dict | None = None) -> str:
    """A DataFrame of display strings as a MyST pipe table (header row from the column names; no
    index). ``align`` maps a column to ``"right"`` for numbers."""
    align = align or {}
    columns = list(frame.columns)
    rules = ["---:" if align.get(column) == "right" else "---" for column in columns]

    def cell(value) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join(rules) + "|"]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)
