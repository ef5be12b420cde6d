# logpipes: every target installs what it needs (virtualenvs, packages,
# Terraform CLI config), so `make demo` and `make test` work on a fresh clone.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# checkov pins its own boto3/botocore, so it lives in a virtualenv of its own.
CHECKOV_VENV := .venv-checkov

# Every terraform call (Makefile, tests, demo) uses the project-local CLI config:
# providers from the /opt/tf-plugins mirror when it exists, the registry otherwise.
export TF_CLI_CONFIG_FILE := $(CURDIR)/build/terraform.rc
export TF_IN_AUTOMATION := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help venv tfrc test lint unit pytest demo build bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements-dev.txt functions/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements-dev.txt 2> >(grep -v 'is ignored: it is neither' >&2)
	$(PY) -m pip install --quiet --no-deps -e functions 2> >(grep -v 'is ignored: it is neither' >&2)
	touch $@

$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet -r requirements-checkov.txt 2> >(grep -v 'is ignored: it is neither' >&2)
	touch $@

build/terraform.rc: tools/terraformrc.py
	$(PYTHON) tools/terraformrc.py $@

venv: $(VENV)/.installed $(CHECKOV_VENV)/.installed build/terraform.rc ## create the virtualenvs and the Terraform CLI config

lint: venv ## ruff, terraform fmt, checkov
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	terraform fmt -check -recursive
	@# One run per tree: given both directories at once, checkov scans modules/ twice (directly and
	@# as the examples' module calls) and never the examples' own files.
	for tree in modules examples; do \
	  $(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download --framework terraform \
	    --directory $$tree --skip-path '/tests/'; \
	done

unit: venv ## the fast lane: tests that need no moto, PostgreSQL, Terraform, built context or node
	$(PY) -m pytest -q -m "not (moto or postgres or terraform or built_context or node or slow)"

pytest: venv ## the test suite only
	$(PY) -m pytest

test: lint pytest ## everything CI runs: lint, then all tests

demo: venv ## run every pipeline end to end on a local moto server
	$(PY) -m demo

build: venv ## build the Lambda image contexts (python build.py --help for options)
	$(PY) build.py

bench: venv ## run the handler benchmarks, then their RESULT lines as one table (BENCH_ARGS=--quick: smoke run)
	@mkdir -p build
	@for b in bench/[!_]*.py; do echo "== $$b"; $(PY) $$b $(BENCH_ARGS); done 2>&1 | tee build/bench.log
	@echo; echo "== results (build/bench.log)"; grep '^RESULT' build/bench.log | column -t

clean: ## remove virtualenvs and build output
	rm -rf $(VENV) $(CHECKOV_VENV) build .pytest_cache .ruff_cache .hypothesis

# asl-validator checks the state machine definitions the modules render
# (tests/es_bulk_loader/test_state_machine_asl.py runs it, and installs it this way when it is missing).
tools/asl-validator/node_modules/.package-lock.json: tools/asl-validator/package-lock.json
	npm ci --no-audit --no-fund --prefix tools/asl-validator

asl-validator: tools/asl-validator/node_modules/.package-lock.json ## install the pinned asl-validator (npm)
