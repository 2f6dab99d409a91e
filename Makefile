# One way to run everything: README, .ci/run and developers use these targets.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install run test lint typecheck unit bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml tests/browser/package-lock.json
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	npm ci --prefix tests/browser --no-audit --no-fund --silent  # axe-core for the browser tests
	touch $@

run: install  ## serve on the embedded default (SQLite, bundled templates, outbox channels)
	$(BIN)/groundcontrol serve

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install
	$(BIN)/mypy

test: lint typecheck  ## everything CI runs
	$(BIN)/groundcontrol check
	$(BIN)/python -m pytest

unit: install
	$(BIN)/python -m pytest tests/unit -q

bench: install  ## benchmarks, by hand on an idle machine (never in CI): rewrites docs/benchmarks.md
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) tests/browser/node_modules var .pytest_cache .mypy_cache .ruff_cache
