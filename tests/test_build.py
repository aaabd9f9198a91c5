"""The whole book: build, no-op rebuild, failure safety and incremental updates."""
import json
import re
import subprocess

import pytest

from .conftest import ROOT, literature_row, snakemake

pytestmark = pytest.mark.build


def test_book_outputs(built_book):
    assert (built_book / "html" / "index.html").exists()
    scoreboard = (built_book / "html" / "book" / "_generated" / "scoreboard.html").read_text(encoding="utf-8")
    from analysis.claims import load_registry

    text = re.sub(r"<[^>]+>", " ", scoreboard)
    for entry in load_registry():
        result = json.loads((ROOT / "results" / f"{entry['id']}.json").read_text(encoding="utf-8"))
        if entry.get("evidence_for"):
            model = result["mixed_model"]["day2"]
            assert f"{model['estimate']:.1f} points" in text
            continue
        section = text.split(entry["title"].replace("'", "&#8217;"), 1)[-1]
        assert re.search(r"Overall:\s+" + re.escape(result["verdict"]), section), entry["id"]
    assert "synthetic data" in text and "real data" in text  # each claim says what data it ran on
    pdf = built_book / "pdf" / "ketamine-trd.pdf"
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert int(re.search(r"Pages:\s+(\d+)", info).group(1)) >= 10


def test_pdf_has_glued_numbers_citations_figures_and_tables(built_book):
    text = subprocess.run(["pdftotext", "-layout", str(built_book / "pdf" / "ketamine-trd.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    result = json.loads((ROOT / "results" / "response-rates.json").read_text(encoding="utf-8"))
    stratum = next(row for row in result["strata"]["response"]
                   if (row["drug"], row["route"], row["timepoint_class"]) == ("ketamine", "IV", "single_dose_2_7d"))
    pooled = f"{100 * stratum['proportion']:.1f}%"
    assert pooled in text, f"the glued pooled response {pooled} is not in the PDF"
    # no notebook code in the PDF (the HTML keeps it, collapsed)
    for code in ("glue_number(", "glue_markdown(", "from analysis", "import pandas"):
        assert code not in text, f"notebook code ({code}) printed in the PDF"
    assert re.search(r"Fig(ure|\.) ?\d", text) and re.search(r"Table \d", text)
    assert "Viechtbauer" in text  # a resolved citation / bibliography entry
    assert "{glue" not in text and "??" not in text


def test_noop_rebuild_executes_nothing(built_book):
    result = snakemake("--dry-run")
    assert result.returncode == 0, result.stderr
    assert "Nothing to be done" in result.stdout + result.stderr


BAD_EDITS = {
    "events > n": ("events", lambda row: {**row, "events": str(int(row["n"]) + 5), "reported_percent": ""}),
    "unknown route": ("route", lambda row: {**row, "route": "rectal"}),
}


@pytest.mark.parametrize("case", sorted(BAD_EDITS))
def test_bad_row_stops_run_and_keeps_last_good_book(project_copy, case):
    import csv

    column, edit = BAD_EDITS[case]
    studies = project_copy / "data" / "literature" / "studies.csv"
    with open(studies, newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    rows[1] = edit(rows[1])
    with open(studies, "w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    before_html = (project_copy / "_build" / "html" / "book" / "claims" / "response-rates.html").read_bytes()
    before_results = (project_copy / "results" / "response-rates.json").read_bytes()
    result = snakemake(cwd=project_copy)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "data/literature/studies.csv, row 2 (line 3)" in output and f"column '{column}'" in output
    assert (project_copy / "_build" / "html" / "book" / "claims" / "response-rates.html").read_bytes() == before_html
    assert (project_copy / "results" / "response-rates.json").read_bytes() == before_results
    assert (project_copy / "_build" / "pdf" / "ketamine-trd.pdf").exists()


def test_adding_a_study_updates_numbers_plots_and_prose(project_copy):
    """A verified single-dose IV trial added to the table fills the stratum the popular ~70% is judged on."""
    before = json.loads((project_copy / "results" / "response-rates.json").read_text(encoding="utf-8"))
    forest_before = (project_copy / "results" / "figures" / "response-rates" / "strata_response.png").read_bytes()
    studies = project_copy / "data" / "literature" / "studies.csv"
    import csv

    with open(studies, newline="", encoding="utf-8") as stream:
        fieldnames = next(csv.reader(stream))
    with open(studies, "a", newline="", encoding="utf-8") as stream:
        csv.DictWriter(stream, fieldnames=fieldnames).writerow(
            literature_row(study_key="addedstudy2030", first_author="Added", year=2030, n=200, events=150,
                           reported_percent=75))
    result = snakemake(cwd=project_copy)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    after = json.loads((project_copy / "results" / "response-rates.json").read_text(encoding="utf-8"))
    assert after["review"]["trials_included"] == before["review"]["trials_included"] + 1
    stratum = next(row for row in after["strata"]["response"]
                   if (row["drug"], row["route"], row["timepoint_class"]) == ("ketamine", "IV", "single_dose_24h"))
    assert stratum["k_trials"] == 1 and stratum["proportion"] == pytest.approx(0.75)
    by_key = {item["key"]: item for item in after["subclaims"]}
    assert by_key["response_nimh"]["estimate"] == pytest.approx(0.75)
    assert by_key["response_nimh"]["verdict"] == "partly reproduced"  # 69-80%: crosses 80%
    html = (project_copy / "_build" / "html" / "book" / "claims" / "response-rates.html").read_text(encoding="utf-8")
    assert "75.0%" in html and "Added" in html
    assert "Added 2030" in (project_copy / "_build" / "html" / "book" / "_generated" /
                            "data-dictionary.html").read_text(encoding="utf-8")
    assert (project_copy / "results" / "figures" / "response-rates" / "strata_response.png").read_bytes() != forest_before


def test_every_figure_has_descriptive_alt_text(built_book):
    """Alt text says what a figure shows: never empty, never a file path."""
    pages = sorted((built_book / "html" / "book").rglob("*.html"))
    checked = 0
    for page in pages:
        for alt in re.findall(r'<img[^>]*\balt="([^"]*)"', page.read_text(encoding="utf-8")):
            checked += 1
            assert len(alt.split()) >= 4, f"{page.name}: alt text {alt!r} does not describe the figure"
            assert not re.search(r"\.(png|svg|jpg|pdf)\b|/", alt), f"{page.name}: alt text {alt!r} is a path"
    assert checked >= 8


def test_readers_see_no_working_paths_or_raw_dataframes(built_book):
    for page in sorted((built_book / "html" / "book").rglob("*.html")):
        text = page.read_text(encoding="utf-8")
        assert ".work/" not in text, f"{page.name} shows a working path"
        assert 'class="dataframe' not in text, f"{page.name} shows a raw DataFrame instead of a formatted table"


def test_first_page_offers_citation_and_the_pdf(built_book):
    intro = built_book / "html" / "book" / "intro.html"
    text = intro.read_text(encoding="utf-8")
    visible = re.sub(r"<[^>]+>", "", text)  # the BibTeX block is syntax-highlighted in spans
    assert "Key findings" in visible and "Cite this book" in visible and "ketamine_trd_book" in visible
    import yaml

    version = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))["version"]
    footer = text.split('class="bd-footer', 1)[-1]
    assert f"Version {version}" in re.sub(r"<[^>]+>", "", footer), "the footer does not name the version"
    assert "The imaging chapters run on synthetic cohorts" in footer  # from the run's results files
    assert "window.print()" not in text, "the download button prints the page instead of offering the PDF"
    button = re.search(r'<a[^>]+href="([^"]+\.pdf)"[^>]*btn-download-pdf-button', text)
    assert button and (intro.parent / button.group(1)).resolve().is_file(), "the .pdf download button is broken"
    link = re.search(r'href="([^"]+\.pdf)"', text).group(1)
    assert (intro.parent / link).resolve().is_file(), f"the PDF link {link} from the first page is broken"


def test_pdf_chapter_numbers_match_the_html(built_book):
    """The introduction is front matter in both: the scoreboard is chapter 1 in the HTML and the PDF."""
    text = subprocess.run(["pdftotext", "-layout", str(built_book / "pdf" / "ketamine-trd.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    html = (built_book / "html" / "book" / "claims" / "response-rates.html").read_text(encoding="utf-8")
    html_number = re.search(r'<span class="section-number">(\d+)\. </span>Response and remission rates', html)
    assert html_number, "no numbered title on the response-rates page"
    assert re.search(r"^\s*1\s+Scoreboard", text, flags=re.M), "the scoreboard is not chapter 1 of the PDF"
    assert re.search(rf"^\s*{html_number.group(1)}\s+Response and remission rates across studies", text, flags=re.M)
    reproducibility = (built_book / "html" / "book" / "_generated" / "reproducibility.html").read_text(encoding="utf-8")
    assert not re.search(r'<h1>\s*<span class="section-number">', reproducibility)  # the appendices are unnumbered
    assert re.search(r"^\s*Reproducibility(\s+\d+)?\s*$", text, flags=re.M), "the appendix heading is not unnumbered in the PDF"
    # no numbered appendix line in the contents ("10 Reproducibility ... 55"; running heads have one number)
    assert not re.search(r"^\s*\d+\s+(Reproducibility|Performance benchmarks|References)\s+\d+\s*$", text, flags=re.M)
    assert not re.search(r"^\s*(Bibliography|BIBLIOGRAPHY)\s*$", text, flags=re.M), "a second, empty references chapter"
    assert not re.search(r"^\s*(RESULTS|Results)\s*$", text.split("Scoreboard", 1)[0], flags=re.M), \
        "the contents page is headed by a part caption"


#: Overfull boxes wider than this (pt) fail the PDF test: a table or line visibly past the margin.
OVERFULL_TOLERANCE_PT = 5.0


def test_pdf_has_no_overfull_boxes_past_the_margin(built_book):
    """The LaTeX log of the published PDF lists no box overfull by more than a few points."""
    log = (ROOT / ".work" / "site" / "_build" / "latex" / "ketamine-trd.log").read_text(encoding="utf-8", errors="replace")
    widths = [float(value) for value in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]
    wide = [width for width in widths if width > OVERFULL_TOLERANCE_PT]
    assert not wide, f"{len(wide)} overfull boxes wider than {OVERFULL_TOLERANCE_PT} pt (largest {max(wide):.0f} pt)"


def test_pdf_title_page_names_version_commit_and_doi(built_book):
    """The title page: authors as CITATION.cff names them, the version, the commit and the DOI line."""
    import yaml

    first = subprocess.run(["pdftotext", "-l", "1", str(built_book / "pdf" / "ketamine-trd.pdf"), "-"],
                           capture_output=True, text=True, check=True).stdout
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    for author in cff["authors"]:
        assert (author.get("name") or author["family-names"]) in first
    assert f"Version {cff['version']}" in first
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    assert commit[:12] in first
    assert "DOI" in first
