"""Shared fixtures. Tests that build the whole book are marked ``build``; the browser test
``browser``; both run in ``make test`` (CI), and can be skipped with ``-m "not build"``."""
from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.build.workflow import job_environment

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# the tests, the notebooks they execute and the workflows they start run with the jobs' settings
os.environ.update(job_environment(os.environ, sys.executable))
LITERATURE_COLUMNS = ("study_key,trial_id,first_author,year,title_short,journal,design,population,route,drug,dose,arm,"
                      "arm_role,outcome,timepoint,timepoint_class,scale,definition,n,events,reported_percent,"
                      "count_source,doi,pmid,pmcid,registry_id,source_url,source_type,quote,status,notes").split(",")


def literature_row(**overrides) -> dict:
    """A valid literature row (a made-up test study, never analysed in the book)."""
    row = dict(study_key="teststudy2020", trial_id="teststudy2020", first_author="Test", year="2020", title_short="",
               journal="", design="RCT", population="TRD", route="IV", drug="ketamine", dose="0.5 mg/kg",
               arm="ketamine", arm_role="experimental", outcome="response", timepoint="24 h",
               timepoint_class="single_dose_24h", scale="MADRS", definition=">=50% reduction", n="20",
               events="10", reported_percent="50", count_source="reported", doi="10.1000/test.2020",
               pmid="", pmcid="", source_url="https://example.org/test", source_type="publisher",
               quote="10 of 20 responded", status="verified", notes="")
    row.update({key: str(value) for key, value in overrides.items()})
    if "trial_id" not in overrides:
        row["trial_id"] = row["study_key"]
    return row


def write_literature(path: Path, rows: list[dict]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=LITERATURE_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def valid_rows() -> list[dict]:
    return [
        literature_row(study_key="alpha2019", first_author="Alpha", year="2019", n="18", events="8",
                       reported_percent="44", route="intranasal"),
        literature_row(study_key="beta2020", first_author="Beta", year="2020", n="42", events="15",
                       reported_percent="35.7"),
        literature_row(study_key="beta2020", first_author="Beta", year="2020", n="42", events="9",
                       reported_percent="", outcome="remission", definition="MADRS <= 10"),
        literature_row(study_key="gamma2021", first_author="Gamma", year="2021", n="99", events="52",
                       reported_percent="52.5", design="open-label", timepoint_class="end_of_course"),
    ]


def snakemake(*args: str, cwd: Path = ROOT, check: bool = False, timeout: int = 1800) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("KTRD_ROOT", None)
    env.pop("KTRD_WORKDIR", None)
    return subprocess.run([str(BIN / "snakemake"), "--cores", "2", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, check=check, timeout=timeout)


@pytest.fixture(scope="session")
def built_book() -> Path:
    """Build the book on the default config (a no-op when `make book` already ran)."""
    result = snakemake()
    if result.returncode != 0:
        pytest.fail(f"the book build failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return ROOT / "_build"


_COPY_IGNORE = shutil.ignore_patterns(".venv", ".git", "__pycache__", ".pytest_cache", "test-artifacts")


@pytest.fixture
def project_copy(tmp_path, built_book) -> Path:
    """A copy of the project, including the last good build, to break things in."""
    target = tmp_path / "project"
    shutil.copytree(ROOT, target, ignore=_COPY_IGNORE, symlinks=True)
    return target
