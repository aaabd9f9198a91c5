"""Generated pages: the title page, the citation box and the data dictionary."""
import re

import yaml

from analysis import __version__
from analysis.build import pages as book_pages
from analysis.paths import git_commit

from ..conftest import ROOT


def test_one_version_for_package_and_citation():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["version"] == __version__


def test_title_page_names_cff_authors_version_commit_and_doi_line(tmp_path):
    cff = {"title": "A & B: 50% of it_all", "authors": [{"given-names": "Ada", "family-names": "Lovelace"},
                                                        {"name": "The group"}],
           "version": "9.9.9", "date-released": "2030-01-01", "license": "MIT"}
    path = tmp_path / "CITATION.cff"
    path.write_text(yaml.safe_dump(cff), encoding="utf-8")
    latex = book_pages.title_page_latex(path)
    assert r"A \& B" in latex and r"50\% of it\_all" in latex  # title and subtitle escaped for LaTeX
    assert "Ada Lovelace, The group" in latex and "Version 9.9.9" in latex
    assert git_commit(short=12) in latex
    assert "DOI: not yet assigned" in latex
    cff["doi"] = "10.5281/zenodo.1"
    path.write_text(yaml.safe_dump(cff), encoding="utf-8")
    assert "DOI: 10.5281/zenodo.1" in book_pages.title_page_latex(path)
    statement = "The DTI chapter runs on a demonstration (real images, invented scores); 100% published."
    assert r"demonstration (real images, invented scores); 100\% published." in book_pages.title_page_latex(path, statement)


def test_cite_box_has_bibtex_with_version_and_commit():
    text = book_pages.cite_markdown(ROOT / "CITATION.cff")
    assert "@software{ketamine_trd_book," in text and f"version = {{{__version__}}}" in text
    assert f"commit {git_commit()}" in text
    assert 'href="../ketamine-trd.pdf"' in text


def test_data_dictionary_links_sources_and_lists_leads_without_working_notes():
    literature = ROOT / "data" / "literature" / "studies.csv"
    to_verify = ROOT / "data" / "literature" / "to_verify.csv"
    text = book_pages.data_dictionary_markdown(literature, to_verify)
    assert "<https://doi.org/10." in text  # bare links: the PDF breaks them at the margin
    leads = text.split("## Leads not yet verified", 1)[1]
    assert "{ref}`claim-response-rates`" in leads
    assert not re.search(r"corpus|brute-force|Brief's|NOT verified", leads)  # working notes stay in the CSV
