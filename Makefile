# Two commands for readers and CI:  make book   and   make test
# Variables: CONFIG (run profile), CORES (parallel jobs), PYTHON (interpreter for the venv).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
CONFIG ?= config/default.yaml
CORES ?= 2
BENCH_ARGS ?=
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.requirements-installed
export PATH := $(BIN):$(PATH)
SNAKEMAKE := snakemake --cores $(CORES) --configfile $(CONFIG) --printshellcmds --rerun-incomplete

.PHONY: book test test-fast bench profile claim dry-run worked-example data-ds005917 clean freeze sysdeps venv help

help:
	@echo "make book    build data, notebooks, HTML and PDF into _build/ (CONFIG=$(CONFIG))"
	@echo "make test    run the test suite"
	@echo "make test-fast  unit and API tests only (no workflow runs, no book build)"
	@echo "make claim CLAIM=response-rates   re-execute one claim notebook"
	@echo "make dry-run show what the workflow would run and why"
	@echo "make data-ds005917  (network) NIMH crossover images + real labels for config/ds005917.yaml; then fMRIPrep"
	@echo "make worked-example  real DWI (dipy's small_64D) in QSIPrep's layout, invented scores: its own book in _build/worked-example/"
	@echo "make profile pyinstrument reports of the imaging jobs into benchmarks/results/profiles/"
	@echo "make venv    create .venv with the pinned Python packages only (e.g. on a cluster login node)"
	@echo "make bench   measure build and stage performance (about 40 min); BENCH_ARGS=--quick for a short run"

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	$(BIN)/python -m pip check
	@touch $@

sysdeps:
	@scripts/ensure-system-packages.sh

venv: $(STAMP)

book: $(STAMP) sysdeps
	$(SNAKEMAKE)
	@echo "HTML: _build/html/index.html   PDF: _build/pdf/ketamine-trd.pdf   results: results/  (another profile: _build/<profile>/)"

claim: $(STAMP)
	@test -n "$(CLAIM)" || { echo "usage: make claim CLAIM=<claim id>   (the ids are in claims.yaml)" >&2; exit 2; }
	@target=$$($(BIN)/python -m analysis claim-output --config $(CONFIG) --claim $(CLAIM)) || exit 2; \
	echo "re-executing $(CLAIM) and republishing the book"; \
	$(SNAKEMAKE) --forcerun $$target

worked-example: $(STAMP) sysdeps
	$(BIN)/python scripts/worked_example.py
	$(MAKE) book CONFIG=config/worked-example.yaml

# openneuro-py lives in its own environment: the book's pinned environment does not carry it
OPENNEURO_PY := openneuro-py==2026.9.1
data-ds005917: $(STAMP)
	$(BIN)/python scripts/ds005917.py labels data/ds005917-derivatives
	@test -x .venv-data/bin/python || $(PYTHON) -m venv .venv-data
	.venv-data/bin/python -m pip install --quiet --disable-pip-version-check $(OPENNEURO_PY)
	.venv-data/bin/python scripts/ds005917_download.py data/ds005917-derivatives/fmri_participants.tsv data/ds005917-images
	@echo "next: fMRIPrep on data/ds005917-images into data/ds005917-derivatives/fmriprep (see 'Run it on your data'),"
	@echo "      then make book CONFIG=config/ds005917.yaml"

dry-run: $(STAMP)
	$(SNAKEMAKE) --dry-run

bench: $(STAMP) sysdeps
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)
	@mkdir -p results && cp benchmarks/results/benchmarks.json results/benchmarks.json
	@echo "benchmarks: benchmarks/results/benchmarks.json (shown in the book's appendix after the next make book)"

profile: $(STAMP)
	$(BIN)/python benchmarks/profile.py

test: $(STAMP) sysdeps
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not build and not browser and not workflow"

freeze: $(STAMP)
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^pip==' > requirements.txt.new

clean:
	rm -rf .work .work-* _build results .snakemake examples
