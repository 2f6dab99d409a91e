# One way to run everything: README, .ci/run and developers use these targets.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install run test test-night lint typecheck unit screenshots bench clean

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
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

test: lint typecheck  ## everything CI runs
	$(BIN)/groundcontrol check
	$(BIN)/python -m pytest
	$(MAKE) test-night

# 02:30 UTC is 03:30 in Amsterdam, inside the default quiet hours: a test that reads the
# wall clock's hour, date or zone instead of the injected clock fails here at any hour.
NIGHT := 2026-11-30 02:30:00
test-night: install  ## the clock-driven tiers again, under a pinned night clock (libfaketime)
	@command -v faketime >/dev/null || { echo "test-night needs Debian's faketime: apt-get install faketime"; exit 1; }
	faketime -f '@$(NIGHT)' $(BIN)/python -m pytest -q tests/unit tests/service tests/integration

screenshots: install  ## the browser tests, writing their pictures into docs/ (a plain test run does not)
	GC_SCREENSHOTS=1 $(BIN)/python -m pytest -q tests/browser

unit: install
	$(BIN)/python -m pytest tests/unit -q

bench: install  ## benchmarks, by hand on an idle machine (never in CI): rewrites docs/benchmarks.md
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) tests/browser/node_modules var .pytest_cache .mypy_cache .ruff_cache
