# marrowtox: two commands do all set-up on a fresh machine.
#   make demo   build .venv, generate the demo cohort, run the workflow, print where reports are
#   make test   build .venv (and optional system tools), run the full test suite
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
CORES ?= 2
SEED ?= 7
UV_VERSION := 0.13.9
# The demo's inputs, laid over config/config.yaml (which holds the user's placeholders).
DEMO_CONFIG := config/demo.yaml
# The stamp changes when the pins change, so `make` reinstalls exactly then.
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | sha256sum | cut -c1-16)
# Debian tools used by tests and benchmarks only (the workflow itself needs none).
SYSDEPS := samtools bcftools tabix freebayes chromium time

.PHONY: help venv demo demo-data test lint format sysdeps clean bench-venv

# make test-slurm: the workflow on a real single-node SLURM cluster (docs/hpc.md)
include mk/slurm.mk

help:
	@echo "make demo   - set up .venv, generate the demo cohort, run the whole workflow"
	@echo "make test   - set up .venv and run the full test suite"
	@echo "make lint   - ruff, snakefmt and snakemake --lint"
	@echo "make bench-venv - umierrorcorrect2 in .bench-venv (the peer of bench/ch.py --umi)"

venv: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 needed, found {sys.version}"'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv==$(UV_VERSION)
	@# Byte-compiled at install: with PYTHONDONTWRITEBYTECODE set (as on our CI image) every
	@# job would otherwise recompile pandas/scanpy from source (scanpy import 7.5 s -> 3.5 s).
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@rm -f $(VENV)/.installed-*
	@touch $@

demo/samples.tsv: | $(STAMP)
	$(BIN)/marrowtox demo --out demo --seed $(SEED)

demo-data: $(STAMP) demo/samples.tsv

demo: demo-data
	$(BIN)/snakemake --cores $(CORES) --rerun-incomplete --configfile $(DEMO_CONFIG)
	@echo ""
	@echo "marrowtox demo finished. Reports:"
	@echo "  cohort:   $(CURDIR)/results/reports/cohort.html"
	@echo "  patients: $(CURDIR)/results/reports/<patient>.html"
	@echo "  tables:   $(CURDIR)/results/cohort/patients.tsv"

# Installs the optional Debian tools when possible (root with apt-get); tests that
# need a missing tool skip with a reason.
sysdeps:
	@missing=""; for t in samtools bcftools tabix freebayes chromium /usr/bin/time; do command -v $$t >/dev/null || missing="$$missing $$t"; done; \
	if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian packages:$$missing"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSDEPS) >/dev/null) \
	    || echo "warning: could not install$$missing; dependent tests will skip"; \
	fi

test: $(STAMP) sysdeps
	$(BIN)/pytest -q

lint: $(STAMP) demo/samples.tsv
	$(BIN)/ruff check src scripts tests bench
	$(BIN)/ruff format --check src scripts tests bench
	$(BIN)/snakefmt --check Snakefile workflow/Snakefile workflow/rules
	@# The linter parses the workflow, which reads the sample sheet: the demo's is used.
	$(BIN)/snakemake --lint --configfile $(DEMO_CONFIG)

format: $(STAMP)
	$(BIN)/ruff format src scripts tests bench
	$(BIN)/snakefmt Snakefile workflow/Snakefile workflow/rules

# umierrorcorrect2, the peer of `bench/ch.py --umi` / `--umi-real`, in its own venv: its
# pins (six, multiqc, cutadapt ...) cannot share .venv. bench/peers/uec2.py makes it too.
BENCH_VENV := .bench-venv

bench-venv: $(BENCH_VENV)/.lock

$(BENCH_VENV)/.lock: bench/peers/umierrorcorrect2.lock | $(STAMP)
	$(BIN)/uv venv -q --clear -p $(BIN)/python $(BENCH_VENV)
	$(BIN)/uv pip install -q --python $(BENCH_VENV)/bin/python -r bench/peers/umierrorcorrect2.lock
	cp bench/peers/umierrorcorrect2.lock $@

clean:
	rm -rf results logs benchmarks .snakemake
