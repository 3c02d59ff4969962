# The two commands of the README: `make run` and `make test`. Both work from a fresh clone
# with only Python >= 3.11 and make: they create .venv, install, fetch the data, then run.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.lime-tutorial-installed
NOTEBOOKS := $(sort $(wildcard notebooks/*.ipynb))
BUILD := build
NB_TIMEOUT ?= 3600
# learner pages fold the solutions; PAGES=teacher shows them and the hidden tests
PAGES ?= learner
EXPLORE_PORT ?= 8866
# make test: test files run on this many processes (pytest-xdist; 0 = all in one process).
TEST_WORKERS ?= 2

# Notebooks run with their own folder as working directory: make relative paths absolute,
# so that `LIME_TUTORIAL_DATA=../shared/data make run` means the same everywhere.
ifneq ($(strip $(LIME_TUTORIAL_DATA)),)
export LIME_TUTORIAL_DATA := $(abspath $(LIME_TUTORIAL_DATA))
endif
ifneq ($(strip $(LIME_TUTORIAL_CACHE)),)
export LIME_TUTORIAL_CACHE := $(abspath $(LIME_TUTORIAL_CACHE))
endif
ifneq ($(strip $(KERAS_HOME)),)
export KERAS_HOME := $(abspath $(KERAS_HOME))
endif

.PHONY: help setup data run test lint bench explore assignments clean

help:
	@echo "make run    - set up .venv, fetch data, execute the notebooks into $(BUILD)/ (PAGES=teacher: solutions shown)"
	@echo "make test   - set up .venv, fetch data, run tests/ and the notebooks (nbval-lax)"
	@echo "make lint   - ruff over the package, tests, benchmarks and notebooks"
	@echo "make bench  - performance benchmarks (see benchmarks/README.md)"
	@echo "make explore - serve the LIME explorer with Voila on 127.0.0.1 (EXPLORE_PORT=$(EXPLORE_PORT))"
	@echo "make assignments - student versions and answer keys of the notebooks (nbgrader), see TEACHING.md"

# (Re)install whenever pyproject.toml changes.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is needed; set PYTHON=/path/to/python3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@touch $@

setup: $(STAMP)

# Verify every required data file (from $$LIME_TUTORIAL_DATA or downloaded) and fill the
# Keras cache (class index, and the weights when they are in the data directory).
data: setup
	$(BIN)/python -m helpers.data
	$(BIN)/python -m helpers.models

# Every notebook runs (inline figures, TensorFlow's log lines dropped), even after one fails;
# then a summary table, build/html/index.html, and a non-zero exit if any notebook failed.
# The pages (learner pages, MathJax beside them) read offline.
run: data
	rm -rf $(BUILD)/notebooks $(BUILD)/html $(BUILD)/figures $(BUILD)/logs
	$(BIN)/python scripts/run_notebooks.py --build $(BUILD) --timeout $(NB_TIMEOUT) \
		--pages $(PAGES) $(NOTEBOOKS)

# LIME_TUTORIAL_QUICK: notebooks use fewer samples on InceptionV3 (CI time); make run uses all.
test: data
	LIME_TUTORIAL_QUICK=1 MPLBACKEND=Agg $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

lint: setup
	$(BIN)/python -m pip install --quiet ruff
	$(BIN)/ruff check helpers tests benchmarks scripts notebooks apps
	$(BIN)/ruff format --check helpers tests benchmarks scripts

bench: setup
	$(BIN)/python benchmarks/bench_explain.py

# Graded assignments (TEACHING.md): student versions in build/assignments/student, answer keys
# in build/assignments/answer_key, an nbgrader course directory in build/assignments/course.
assignments: setup
	$(BIN)/python scripts/assignments.py --out $(BUILD)/assignments

# The LIME explorer (apps/explorer.ipynb) served alone by Voila on 127.0.0.1; prints the URL
# with this run's access token. A taken port is an error: choose another with
# `make explore EXPLORE_PORT=8877`. Idle kernels with no page open are shut down.
explore: data
	$(BIN)/python apps/explorer_server.py --port $(EXPLORE_PORT)

clean:
	rm -rf $(BUILD) .pytest_cache .ruff_cache .hypothesis
