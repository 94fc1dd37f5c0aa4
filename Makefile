# Two entry points for a fresh machine (Python 3.11+ and make are all it needs):
#   make run   sets up .venv, installs the package, runs the baseline scenario
#   make test  sets up .venv with the test extras, runs ruff and the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
REPLICATIONS ?= 20
SEED ?= 1

.PHONY: run test setup lint bench clean compare-all

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/withdrawal-sim run scenarios/baseline.yaml -n $(REPLICATIONS) --seed $(SEED)

lint: $(STAMP)
	$(BIN)/ruff check sim tests benchmarks scripts
	$(BIN)/ruff format --check sim tests benchmarks scripts

test: $(STAMP) lint
	$(BIN)/python -m pytest -n 2 -q

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .ruff_cache

compare-all: $(STAMP)
	$(BIN)/python scripts/compare_all.py --replications $(or $(COMPARE_REPLICATIONS),200) --seed $(SEED)
