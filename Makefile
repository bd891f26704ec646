# Two targets do all the set-up on a fresh machine with Python 3.11:
#   make demo   - creates .venv, installs datm, runs the demo on the in-memory store
#   make test   - creates .venv with the test extras, runs lint, types and the suite
# Two more test datm as users get it (CI runs them after make test; neither uses .venv):
#   make wheel-check - builds the wheel, installs it in a fresh venv outside the tree and
#                      runs datm --version, datm db upgrade, datm demo and the README's code
#   make test-lowest - the suite in a fresh venv at the lowest versions setup.cfg allows
#   make soak        - bench/soak.py for SOAK_SECONDS (60): api traffic and closes under
#                      faults, on a Postgres, Redis and fake last.fm of its own
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint pytest wheel-check test-lowest soak clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-base: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip install --quiet -e '.[test,postgres]'
	touch $@ $(VENV)/.installed-base

demo: $(VENV)/.installed-base
	$(BIN)/datm demo

lint: $(VENV)/.installed-test
	$(BIN)/ruff check datm tests tools bench
	$(BIN)/ruff format --check datm tests tools bench
	$(BIN)/mypy

pytest: $(VENV)/.installed-test
	$(BIN)/pytest

test: lint pytest

SOAK_SECONDS ?= 60
soak: $(VENV)/.installed-test
	$(BIN)/python -u bench/soak.py --seconds $(SOAK_SECONDS)

wheel-check:
	PYTHON=$(PYTHON) tools/check_wheel.sh

test-lowest:
	PYTHON=$(PYTHON) tools/test_lowest.sh

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
