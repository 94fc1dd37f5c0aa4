# Two entry points for a fresh machine (Python 3.11+ and make are all it needs):
#   make run   sets up .venv with what running needs, runs the baseline scenario
#   make test  adds the test extras (Dask, Jupyter client, hypothesis, ruff), runs them all
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
REPLICATIONS ?= 20
SEED ?= 1
COMPARE_SEED ?= 20250901

.PHONY: run test setup lint bench clean compare-all

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	touch $(RUN_STAMP)

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
	touch $(TEST_STAMP) $(RUN_STAMP)

setup: $(RUN_STAMP)

run: $(RUN_STAMP)
	$(BIN)/withdrawal-sim run scenarios/baseline.yaml -n $(REPLICATIONS) --seed $(SEED)

lint: $(TEST_STAMP)
	$(BIN)/ruff check sim tests benchmarks scripts
	$(BIN)/ruff format --check sim tests benchmarks scripts

test: $(TEST_STAMP) lint
	$(BIN)/python -m pytest -n 2 -q

bench: $(TEST_STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .ruff_cache

# every scenario against the baseline, into results/compare_all/<time>/, and docs/results.md
# with its figures rewritten from that run (tracked files: commit them with the change)
compare-all: $(RUN_STAMP)
	$(BIN)/python scripts/compare_all.py --replications $(or $(COMPARE_REPLICATIONS),200) --seed $(COMPARE_SEED)
