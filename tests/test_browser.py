"""Open every built page in headless Chromium: no broken internal link, no external request,
no JavaScript error, rendered figures and maths. Screenshots go to test-artifacts/."""
import functools
import http.server
import json
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

import pytest

from .conftest import ROOT

pytestmark = [pytest.mark.build, pytest.mark.browser]
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server(built_book):
    html = built_book / "html"
    handler = functools.partial(_QuietHandler, directory=str(html))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", html
    httpd.shutdown()


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    chromedriver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic",
                 "--disable-dev-shm-usage", "--window-size=1280,1600",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    browser = webdriver.Chrome(service=Service(chromedriver), options=options)
    browser.set_page_load_timeout(60)
    yield browser
    browser.quit()


def _full_page_screenshot(driver, path: Path, *, max_height: int = 30000) -> None:
    """The whole page, not only the window: the viewport is stretched to the page's height for the
    capture (Chromium's DevTools), so sticky headers and sidebars are drawn once, in place."""
    import base64

    width, height = driver.execute_script(
        "return [window.innerWidth, document.documentElement.scrollHeight]")
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": min(height, max_height), "deviceScaleFactor": 1, "mobile": width < 600})
    try:
        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    path.write_bytes(base64.b64decode(shot["data"]))


def _pages(html: Path) -> list[Path]:
    return sorted(path for path in html.rglob("*.html") if "_static" not in path.parts and "_sources" not in path.parts)


def _ids(path: Path) -> set[str]:
    return set(re.findall(r'\sid="([^"]+)"', path.read_text(encoding="utf-8")))


def test_every_page(server, driver):
    from selenium.webdriver.support.ui import WebDriverWait

    base, html = server
    shutil.rmtree(ARTIFACTS, ignore_errors=True)  # screenshots of this build only
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    problems = []
    pages = _pages(html)
    assert len(pages) >= 7
    for page in pages:
        relative = page.relative_to(html).as_posix()
        url = f"{base}/{relative}"
        driver.get_log("performance")  # drop earlier entries
        driver.get(url)
        WebDriverWait(driver, 30).until(lambda d: d.execute_script("return document.readyState") == "complete")
        if relative != "search.html":
            WebDriverWait(driver, 30).until(lambda d: d.execute_script(
                "return !window.MathJax || !MathJax.startup || !MathJax.startup.promise ? true : "
                "(MathJax.startup.promise.then(() => window.__mj = true), window.__mj === true)"))
        # Chromium asks for /favicon.ico by itself, at times, for a page that links no icon (the
        # root redirect page); a 404 for that request is the browser's, not the page's
        automatic_icon = f"{base}/favicon.ico" if "favicon" not in page.read_text(encoding="utf-8") else None
        for entry in driver.get_log("browser"):
            if entry["level"] == "SEVERE" and not (automatic_icon and entry["message"].startswith(automatic_icon + " ")):
                problems.append(f"{relative}: console error: {entry['message']}")
        for entry in driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.requestWillBeSent":
                requested = message["params"]["request"]["url"]
                scheme = urlparse(requested).scheme
                if scheme in ("http", "https", "ws", "wss", "ftp") and not requested.startswith(base):
                    problems.append(f"{relative}: external request to {requested}")
        images = driver.execute_script(
            "return Array.from(document.images).map(i => [i.getAttribute('src'), i.complete && i.naturalWidth > 0])")
        problems += [f"{relative}: image not rendered: {src}" for src, ok in images if not ok]
        for href in driver.execute_script("return Array.from(document.querySelectorAll('a[href]')).map(a => a.href)"):
            if not href.startswith(base):
                continue
            target_url, fragment = urldefrag(href)
            target = html / unquote(urlparse(target_url).path).lstrip("/")
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                problems.append(f"{relative}: broken link {href}")
            elif fragment and target.suffix == ".html" and unquote(fragment) not in _ids(target):
                problems.append(f"{relative}: link to a missing anchor {href}")
        text = driver.execute_script("return document.body.innerText")
        problems += [f"{relative}: raw markdown table text: {line.strip()[:80]!r}"
                     for line in text.splitlines() if RAW_TABLE.search(line)]
        problems += [f"{relative}: internal word or working path visible: {match.group(0)!r}"
                     for match in INTERNAL.finditer(text)]
        for src, alt in driver.execute_script(
                "return Array.from(document.querySelectorAll('main img')).map(i => [i.getAttribute('src'),"
                " i.getAttribute('alt') || ''])"):
            if not descriptive_alt(alt):
                problems.append(f"{relative}: image {src} has no descriptive alt text ({alt!r})")
        _full_page_screenshot(driver, ARTIFACTS / ("desktop__" + relative.replace("/", "__") + ".png"))
    assert not problems, "\n".join(problems)


#: A markdown table that was not rendered: a separator row (|---|---|) or a row of cells
#: between pipes as visible text.
RAW_TABLE = re.compile(r"\|\s*:?-{3,}:?\s*\||^\s*\|[^|\n]+\|[^|\n]+\|")


#: Words and paths of the build's working life that a reader must never see: working folders, the
#: research notes, seed documents, issue numbers, log lines.
INTERNAL = re.compile(r"\.work/|\.\./shared|literature-leads|seed documents?\b|\bseed 0\d\d\b|"
                      r"\bissue #?\d+|\bwrote \S+\.(?:json|csv|png)|\bTODO\b|\bFIXME\b")


def descriptive_alt(alt: str) -> bool:
    """Alt text that describes: some words, not a file name or path."""
    alt = alt.strip()
    return len(alt.split()) >= 3 and not re.search(r"\.(?:png|jpe?g|svg|pdf)$|^[\w./-]+$", alt)


def test_internal_and_alt_patterns():
    assert INTERNAL.search("wrote .work/results/dti.json")
    assert INTERNAL.search("see seed documents 001 and 004")
    assert not INTERNAL.search("the work of the trial; 98 participants")
    assert not descriptive_alt("_build/figures/strata_response.png")
    assert not descriptive_alt("figure")
    assert descriptive_alt("Forest plot of response per arm")


def test_raw_table_pattern():
    assert RAW_TABLE.search("| Published | Reproduced |")
    assert RAW_TABLE.search("|---|---|")
    assert not RAW_TABLE.search("p = 0.01 | not a table")


def test_scoreboard_badges_read_on_a_phone(server, driver):
    """At 390 px the verdict badges are visible and inside the viewport (tables may scroll)."""
    base, _ = server
    driver.set_window_size(390, 844)
    try:
        driver.get(f"{base}/book/_generated/scoreboard.html")
        badges = driver.execute_script(
            "return Array.from(document.querySelectorAll('.sd-badge')).map(b => {"
            "const r = b.getBoundingClientRect(); return [b.innerText, r.width, r.height,"
            " getComputedStyle(b).backgroundColor, getComputedStyle(b).color]})")
        assert len(badges) >= 10
        verdicts = {text for text, *_ in badges}
        assert "not testable with public data" in verdicts
        for text, width, height, background, colour in badges:
            assert 0 < width <= 390 and height > 0, f"badge {text!r} is {width} px wide"
        coloured = [background for *_, background, _ in badges if background not in ("rgba(0, 0, 0, 0)", "transparent")]
        assert coloured, "no badge has a background colour"
        driver.save_screenshot(str(ARTIFACTS / "scoreboard-390px.png"))
    finally:
        driver.set_window_size(1280, 1600)


def test_claim_page_shows_figures_and_maths(server, driver):
    base, _ = server
    driver.get(f"{base}/book/claims/response-rates.html")
    rendered = driver.execute_script(
        "return Array.from(document.querySelectorAll('figure img')).filter(i => i.naturalWidth > 100).length")
    assert rendered >= 1  # the PRISMA flow
    driver.get(f"{base}/book/methods.html")
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 30).until(lambda d: d.execute_script("return document.querySelectorAll('mjx-container').length") > 0)


def test_interactive_forest_plot_offline(server, driver):
    """The two forest plots by stratum are interactive in the HTML: plotly.js comes from the book's
    own _static folder, both plots draw, and hovering an arm shows its count, source sentence and DOI."""
    from selenium.webdriver.support.ui import WebDriverWait

    base, html = server
    assert (html / "_static" / "plotly.min.js").stat().st_size > 1_000_000
    driver.get(f"{base}/book/claims/response-rates.html")
    scripts = driver.execute_script("return Array.from(document.scripts).map(s => s.src).filter(Boolean)")
    assert any(src.startswith(base) and urlparse(src).path.endswith("_static/plotly.min.js") for src in scripts)
    WebDriverWait(driver, 30).until(lambda d: d.execute_script(
        "return document.querySelectorAll('.interactive-figure .plotly-graph-div .main-svg').length") >= 2)
    labels = driver.execute_script(
        "return Array.from(document.querySelectorAll('.interactive-figure')).map(f => f.getAttribute('aria-label'))")
    assert len(labels) == 2 and all(descriptive_alt(label) for label in labels)
    driver.execute_script("const figure = document.getElementById('figure-strata_response');"
                          "figure.scrollIntoView({block: 'start'});"
                          "Plotly.Fx.hover(figure, [{curveNumber: 0, pointNumber: 0}]);")
    WebDriverWait(driver, 10).until(lambda d: d.execute_script(
        "return document.querySelector('#figure-strata_response .hoverlayer .hovertext') !== null"))
    hover = driver.execute_script(
        "return document.querySelector('#figure-strata_response .hoverlayer').textContent")
    driver.save_screenshot(str(ARTIFACTS / "response-rates-forest-hover.png"))
    assert "DOI: 10." in hover and "Risk of bias" in hover and "95% CI" in hover
    assert not (html / "_static" / "plotly.min.js").read_text(encoding="utf-8").count("cdn.plot.ly/plotly")


def test_every_page_on_a_phone(server, driver):
    """At 390 px no page scrolls sideways (wide tables and figures scroll inside their own box);
    a screenshot of each page at phone width is kept with the desktop ones."""
    from selenium.webdriver.support.ui import WebDriverWait

    base, html = server
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    problems = []
    driver.set_window_size(390, 844)
    try:
        for page in _pages(html):
            relative = page.relative_to(html).as_posix()
            driver.get(f"{base}/{relative}")
            WebDriverWait(driver, 30).until(lambda d: d.execute_script("return document.readyState") == "complete")
            width, viewport = driver.execute_script(
                "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
            if width > viewport + 1:
                wide = driver.execute_script(
                    "const v = document.documentElement.clientWidth; return Array.from(document.querySelectorAll("
                    "'main *')).filter(e => e.getBoundingClientRect().right > v + 1 && !e.closest("
                    "'.table-wrapper, .pst-scrollable-table-container, .highlight, .MathJax, mjx-container, "
                    ".interactive-figure, .cell_output')).slice(0, 3).map(e => e.tagName + '.' + e.className + ': ' "
                    "+ (e.innerText || '').slice(0, 60))")
                problems.append(f"{relative}: {width} px wide at a {viewport} px viewport; {wide}")
            _full_page_screenshot(driver, ARTIFACTS / ("phone__" + relative.replace("/", "__") + ".png"))
    finally:
        driver.set_window_size(1280, 1600)
    assert not problems, "\n".join(problems)
