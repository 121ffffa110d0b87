# One entry point for everything a developer or CI does. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
BIN := $(VENV)/bin
CHECKOV_VENV := $(VENV)-checkov
export SAM_CLI_TELEMETRY := 0

# Python 3.13: `python3.13` if it runs (a pyenv shim may not), else pyenv's newest 3.13.x.
PYTHON313 ?= $(shell for p in python3.13 $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.13*/bin/python3.13; do \
	"$$p" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null && { command -v "$$p"; break; }; done)

.PHONY: help run test reliability bench lint typecheck validate pytest build lock clean

help:
	@echo "make run      create .venv if needed, then serve the API locally at http://127.0.0.1:3000 (PORT=...)"
	@echo "make test     create .venv (Python 3.13, pinned deps) if needed, then ruff, mypy, sam validate --lint, checkov, pytest"
	@echo "make reliability  the slow versions of the reliability suites (docs/reliability.md), figures at the end"
	@echo "make bench    make build, then every performance figure with its budget, written to docs/benchmarks.md"
	@echo "make build    sam build without Docker (python3.13 from .venv on PATH); installs only the SAM CLI"
	@echo "make lock     re-resolve requirements-dev.in into requirements-dev.txt"
	@echo "make clean    remove .venv and .aws-sam"

# $(error) makes the missing-Python message the one line make prints.
$(BIN)/python:
	$(if $(PYTHON313),,$(error Python 3.13 was not found. Install it (pyenv install 3.13, or your OS package) or run: make PYTHON313=/path/to/python3.13 $(MAKECMDGOALS)))
	$(PYTHON313) -m venv $(VENV)

# What `make run` needs (requirements-run.in), at the versions locked in requirements-dev.txt.
# Bytecode is compiled afterwards by compileall on all cores, which takes a third of the time
# pip's one-at-a-time compile does; without it every start would compile from source wherever
# PYTHONDONTWRITEBYTECODE is set.
$(BIN)/.run-installed: $(BIN)/python requirements-run.in requirements-dev.txt layers/core/requirements.txt pyproject.toml \
  verifier/pyproject.toml
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-compile \
	  -c requirements-dev.txt -r layers/core/requirements.txt -r requirements-run.in
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-compile --no-deps --editable .
	# The package platform services verify with (verifier/), as a service team installs it.
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-compile --no-deps --editable ./verifier
	$(BIN)/python -m compileall -q -j 0 $(VENV)/lib > /dev/null
	@touch $@

# What `make build` needs (requirements-build.in), at the versions locked in requirements-dev.txt:
# the SAM CLI alone, not the run and test tools. pip installs what a -r inside a constraints file
# names, so requirements-dev.txt's `-r layers/core/requirements.txt` line is left out of it: the
# layer's packages are pinned as constraints, not installed (sam build fetches them for arm64).
$(BIN)/.build-installed: $(BIN)/python requirements-build.in requirements-dev.txt layers/core/requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-compile \
	  -c layers/core/requirements.txt -c <(sed '/^-r /d' requirements-dev.txt) -r requirements-build.in
	$(BIN)/python -m compileall -q -j 0 $(VENV)/lib > /dev/null
	@touch $@

# Everything the tests and tools need.
$(BIN)/.installed: $(BIN)/.run-installed
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-compile -r requirements-dev.txt
	$(BIN)/python -m compileall -q -j 0 $(VENV)/lib > /dev/null
	@touch $@

# checkov in a venv of its own: its pins clash with the service's.
$(CHECKOV_VENV)/bin/.installed: requirements-checkov.txt
	$(if $(PYTHON313),,$(error Python 3.13 was not found. Install it (pyenv install 3.13, or your OS package) or run: make PYTHON313=/path/to/python3.13 $(MAKECMDGOALS)))
	$(PYTHON313) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-compile -r requirements-checkov.txt
	$(CHECKOV_VENV)/bin/python -m compileall -q -j 0 $(CHECKOV_VENV)/lib > /dev/null
	@touch $@

run: $(BIN)/.run-installed
	@$(BIN)/python -m access_keys_tools.local

test: lint typecheck validate pytest

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy --strict on the layer; its settings are pyproject.toml's [tool.mypy].
typecheck: $(BIN)/.installed
	$(BIN)/mypy

validate: $(BIN)/.installed $(CHECKOV_VENV)/bin/.installed
	$(BIN)/sam validate --lint --region us-east-1
	$(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml

pytest: $(BIN)/.installed
	$(BIN)/pytest

# The published figures of docs/reliability.md: the same tests as in `make test`, at full size.
RELIABILITY_FIGURES := $(abspath .reliability-figures.txt)
reliability: $(BIN)/.installed
	rm -f $(RELIABILITY_FIGURES)
	FIGURES_FILE=$(RELIABILITY_FIGURES) QUOTA_ROUNDS=20 TOGGLES=200 LOAD_REQUESTS=2000 SCHEMA_EXAMPLES=100 \
	HOSTILE_EXAMPLES=2000 FLOOD_REQUESTS=500 $(BIN)/pytest -q -p no:cacheprovider \
	  tests/integration/test_faults.py tests/integration/test_hostile_input.py \
	  tests/integration/test_signature_copies_inside.py tests/local/test_copied_signatures.py \
	  tests/integration/test_least_privilege.py tests/integration/test_secret_handling.py \
	  tests/local/test_concurrency.py tests/local/test_api_schema.py
	@echo; echo "Figures:"; cat $(RELIABILITY_FIGURES)

build: $(BIN)/.build-installed
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/sam build

# docs/benchmarks.md: the figures of what `sam build` ships, each with its budget.
bench: $(BIN)/.installed build
	$(BIN)/python -m access_keys_tools.bench

lock: $(BIN)/.installed
	rm -rf $(VENV)-lock && $(PYTHON313) -m venv $(VENV)-lock
	$(VENV)-lock/bin/pip install --quiet -r layers/core/requirements.txt -r requirements-dev.in
	{ sed -n '1,/^-r /p' requirements-dev.txt; $(VENV)-lock/bin/pip freeze --exclude-editable \
	  | grep -viE "^($$(sed -n 's/==.*//p' layers/core/requirements.txt | sed 's/[-_]/[-_]/g' | paste -sd'|'))==" ; } > requirements-dev.txt.new
	mv requirements-dev.txt.new requirements-dev.txt && rm -rf $(VENV)-lock

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .aws-sam
