"""Interactive figures with no network: plotly.js comes from the installed ``plotly`` package.

A figure glued with ``analysis.report.glue_figure(..., interactive=...)`` is an HTML fragment that
calls ``Plotly.newPlot``. This extension copies ``plotly.min.js`` from the plotly package (pinned in
``requirements.txt``) into the HTML build's ``_static`` folder and loads it only on pages that hold
such a figure. The PDF takes the static image and needs none of this.
"""
import shutil
from pathlib import Path

SCRIPT = "plotly.min.js"
MARKER = 'class="interactive-figure"'


def _source() -> Path:
    import plotly

    return Path(plotly.__file__).parent / "package_data" / SCRIPT


def _load_on_figure_pages(app, pagename, templatename, context, doctree):
    if MARKER in (context.get("body") or ""):
        app.add_js_file(SCRIPT, priority=400)  # called here, the script is added to this page only


def _copy_script(app, exception):
    if exception is None and app.builder.format == "html":
        target = Path(app.outdir, "_static", SCRIPT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_source(), target)


def setup(app):
    app.connect("html-page-context", _load_on_figure_pages)
    app.connect("build-finished", _copy_script)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
