"""Keep the HTML offline and free of console errors; put the version in the footer.

Jupyter Book 1.x always loads sphinx-thebe, which adds its inline ``THEBE_JS_URL`` script
twice (a JavaScript error on every page) and points at a CDN copy of thebe. This book has
no live kernels, so the thebe scripts are dropped from every page.
"""


def _drop_thebe(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return

    def is_thebe(script) -> bool:
        body = getattr(script, "attributes", {}).get("body", "") or ""
        return "THEBE_JS_URL" in body or "sphinx-thebe" in str(script)

    context["script_files"] = [script for script in scripts if not is_thebe(script)]


def _version_in_footer(app, config):
    """Every page's footer: what the run's chapters ran on (``book/_generated/data-statement.txt``),
    then "Version X, commit Y" (from the staged ``CITATION.cff`` and git)."""
    import html
    from pathlib import Path

    import yaml

    from analysis.paths import git_commit

    citation = Path(app.confdir) / "CITATION.cff"
    if not citation.exists():
        return
    version = yaml.safe_load(citation.read_text(encoding="utf-8")).get("version")
    commit = git_commit(Path(app.confdir), short=12)
    options = dict(config.html_theme_options or {})
    footer = options.get("extra_footer", "")
    statement = Path(app.confdir) / "book" / "_generated" / "data-statement.txt"
    if statement.exists():  # what this run's chapters ran on (written from their results files)
        footer = f"{html.escape(statement.read_text(encoding='utf-8').strip())} Built offline with Jupyter Book 1.x."
    options["extra_footer"] = (f"{footer} <p>Version {version}" + (f", commit <code>{commit}</code>" if commit else "")
                               + ".</p>")
    config.html_theme_options = options


#: The built book's PDF, published beside the HTML's index page (see ``analysis.build.workflow.publish``).
BOOK_PDF = "ketamine-trd.pdf"


def _download_the_book_pdf(app, pagename, templatename, context, doctree):
    """The theme's ".pdf" download button prints the page; make it download the book's PDF."""
    for button in context.get("header_buttons", []):
        for item in button.get("buttons", []):
            if item.get("label") == "download-pdf-button":
                item.update(type="link", url=context["pathto"](BOOK_PDF, 1), tooltip="Download this book as a PDF")
                item.pop("javascript", None)


def setup(app):
    app.connect("config-inited", _version_in_footer)
    app.connect("html-page-context", _download_the_book_pdf, priority=600)  # after the theme adds its buttons
    app.connect("html-page-context", _drop_thebe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
