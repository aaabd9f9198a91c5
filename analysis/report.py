"""Helpers that put numbers, text and figures from a notebook into the book's prose.

Each wraps :func:`myst_nb.glue` (``display=False``) so that notebooks stay thin and values
render cleanly: numpy scalars are converted to Python numbers (their repr would otherwise
reach ``{glue:text}``) and figures are saved under a stable name as well as glued.
"""
from __future__ import annotations

import base64
import html
from pathlib import Path

import numpy as np

from .claims.verdicts import DATA_KIND_KEY, DATA_KINDS
from .plotting import save_figure

__all__ = ["glue_number", "glue_markdown", "glue_data_kind", "glue_figure", "interactive_html", "markdown_table",
           "DATA_KIND_KEY"]


def _glue(name, value):
    from myst_nb import glue

    glue(name, value, display=False)


def glue_number(name: str, value) -> None:
    """Glue a number for ``{glue:text}`name:.1f```."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: glue a number, not a boolean")
    plain = int(value) if isinstance(value, (int, np.integer)) else float(value)
    _glue(name, plain)


def glue_data_kind(kind: str) -> None:
    """Record the notebook's data kind (``synthetic``, ``demonstration`` or ``real``; see
    :func:`analysis.claims.verdicts.data_kind`): markdown cells tagged ``only-<kind>`` of another
    kind are left out of the book."""
    if kind not in DATA_KINDS:
        raise ValueError(f"data kind must be one of {list(DATA_KINDS)}, got {kind!r}")
    _glue(DATA_KIND_KEY, kind)


def glue_markdown(name: str, text: str) -> None:
    """Glue markdown for ``{glue:md}`name```."""
    from IPython.display import Markdown

    _glue(name, Markdown(text))


class _InteractiveFigure:
    """A glued figure with two faces: the Plotly figure (``text/html``) for the HTML book, the static
    PNG for the PDF. myst-nb picks per builder: HTML prefers ``text/html``; LaTeX has no ``text/html``
    and takes the PNG. The page loads ``plotly.min.js`` from the book's own ``_static`` folder (the
    ``book/_ext/interactive_figures.py`` extension copies it from the installed plotly package)."""

    def __init__(self, html: str, png: bytes, alt: str):
        self.html, self.png, self.alt = html, png, alt

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/html": self.html, "image/png": base64.b64encode(self.png).decode("ascii"),
                "text/plain": self.alt}


def interactive_html(figure, *, div_id: str, alt: str) -> str:
    """A Plotly figure as an HTML fragment that needs no network: no plotly.js inlined or fetched (the
    page loads the bundled copy), a fixed element id (so that reruns give identical output) and an
    ``aria-label`` describing the figure."""
    import plotly.io as pio

    fragment = pio.to_html(figure, include_plotlyjs=False, full_html=False, div_id=div_id,
                           config={"displaylogo": False, "responsive": True, "showSendToCloud": False,
                                   "modeBarButtonsToRemove": ["select2d", "lasso2d"]})
    return (f'<div class="interactive-figure" role="img" aria-label="{html.escape(alt, quote=True)}">'
            f"{fragment}</div>")


def glue_figure(name: str, figure, *, stem: str, directory: str | Path, data=None, interactive=None,
                alt: str = "") -> None:
    """Save ``figure`` as ``<directory>/<stem>.png`` (and ``.pdf``), glue it for ``{glue:figure}`` and
    close it. ``data`` (a DataFrame), when given, is saved beside it as ``<stem>.csv``: the numbers the
    figure draws, for readers who want them. ``interactive`` (a Plotly figure drawing the same data),
    when given, is what the HTML book shows; the PDF keeps the static figure; ``alt`` describes it."""
    import matplotlib.pyplot as plt

    path = save_figure(figure, stem, directory)
    if data is not None:
        Path(directory, f"{stem}.csv").write_text(data.to_csv(index=False, lineterminator="\n"), encoding="utf-8")
    if interactive is None:
        _glue(name, figure)
    else:
        _glue(name, _InteractiveFigure(interactive_html(interactive, div_id=f"figure-{stem}", alt=alt),
                                       path.read_bytes(), alt))
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
