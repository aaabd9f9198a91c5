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


def _pages(html: Path) -> list[Path]:
    return sorted(path for path in html.rglob("*.html") if "_static" not in path.parts and "_sources" not in path.parts)


def _ids(path: Path) -> set[str]:
    return set(re.findall(r'\sid="([^"]+)"', path.read_text(encoding="utf-8")))


def test_every_page(server, driver):
    from selenium.webdriver.support.ui import WebDriverWait

    base, html = server
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
        driver.save_screenshot(str(ARTIFACTS / (relative.replace("/", "__") + ".png")))
    assert not problems, "\n".join(problems)


#: A markdown table that was not rendered: a separator row (|---|---|) or a row of cells
#: between pipes as visible text.
RAW_TABLE = re.compile(r"\|\s*:?-{3,}:?\s*\||^\s*\|[^|\n]+\|[^|\n]+\|")


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
    assert rendered >= 3  # the PRISMA flow and the two forest plots by stratum
    driver.get(f"{base}/book/methods.html")
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 30).until(lambda d: d.execute_script("return document.querySelectorAll('mjx-container').length") > 0)
