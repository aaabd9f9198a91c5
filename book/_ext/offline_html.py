"""Keep the HTML offline and free of console errors.

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


def setup(app):
    app.connect("html-page-context", _drop_thebe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
