# Every target builds its own virtual environment in .venv from the package registries;
# test-lowest builds a second one, .venv-lowest, with the lowest dependency versions.
# `make demo` installs the package and its runtime dependencies only; the targets that lint,
# type-check or test add the `dev` extra (test tooling, a browser driver, the web frameworks).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check
RUNTIME_INSTALLED := $(VENV)/.stamp-runtime
INSTALLED := $(VENV)/.stamp-install
BROWSER := $(VENV)/.stamp-browser
REDIS := $(VENV)/.stamp-redis
LOWEST := .venv-lowest
LOWEST_PINS := constraints/lowest.txt
LOWEST_INSTALLED := $(LOWEST)/.stamp-install

.PHONY: help install browser redis demo test check lint typecheck unit test-lowest unasync bench dev clean

help:
	@echo "make demo       run the demo: local server, a producer in both flavours, a live consumer"
	@echo "                (installs the package alone; about 15 s from a fresh clone)"
	@echo "make test       unasync check, ruff, mypy --strict, the whole test suite, then test-lowest"
	@echo "                (installs the test tooling; 10 to 12 minutes on 2 cores)"
	@echo "make test-lowest  the test suite against the lowest dependency versions pyproject admits"
	@echo "make unasync    regenerate the blocking twin (_sync/) from the async source"
	@echo "make bench      benchmarks against the Node Socket.IO sink; writes BENCHMARKS.md"
	@echo "make dev        run the local Streamstraight-compatible server"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The package and what it needs at run time: all the demo and the local server use.
$(RUNTIME_INSTALLED): pyproject.toml | $(BIN)/python
	@echo "==> installing streamstraight-server and its runtime dependencies into $(VENV)"
	$(PIP) install --progress-bar on -e .
	touch $@

# The test tooling on top (the dev extra): ruff, mypy, pytest, Playwright, the web frameworks.
$(INSTALLED): pyproject.toml | $(BIN)/python
	@echo "==> installing the package with its test tooling (the dev extra) into $(VENV)"
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --progress-bar on -e '.[dev]'
	touch $(RUNTIME_INSTALLED) $@

install: $(INSTALLED)

# Rebuilt from scratch whenever the bounds change, so no newer version lingers from before.
$(LOWEST_INSTALLED): pyproject.toml $(LOWEST_PINS)
	rm -rf $(LOWEST)
	$(PYTHON) -m venv $(LOWEST)
	$(LOWEST)/bin/python -m pip --disable-pip-version-check install --quiet --upgrade pip
	$(LOWEST)/bin/python -m pip --disable-pip-version-check install --quiet \
		--constraint $(LOWEST_PINS) -e '.[dev]'
	touch $@

# Headless Chromium from Debian's packages for the viewer page's browser test (no browser download).
$(BROWSER): $(INSTALLED)
	@if ! command -v chromium >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else \
			echo "chromium is missing: run 'sudo apt-get install chromium' for the browser test"; exit 1; \
		fi; \
	fi
	touch $@

browser: $(BROWSER)

# Debian's redis-server for the tests of cancel() across processes (each test starts its own,
# on a free port of 127.0.0.1, without persistence, and stops it).
$(REDIS): $(INSTALLED)
	@if ! command -v redis-server >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; \
		else \
			echo "redis-server is missing: run 'sudo apt-get install redis-server' for the cancel tests"; exit 1; \
		fi; \
	fi
	touch $@

redis: $(REDIS)

demo: $(RUNTIME_INSTALLED)
	@echo "==> running examples/demo.py"
	$(BIN)/python examples/demo.py

dev: $(RUNTIME_INSTALLED)
	$(BIN)/streamstraight dev

unasync: $(INSTALLED)
	$(BIN)/python scripts/unasync.py

lint: $(INSTALLED)
	$(BIN)/python scripts/unasync.py --check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(INSTALLED)
	$(BIN)/mypy

unit: $(INSTALLED) $(BROWSER) $(REDIS)
	$(BIN)/python -m pytest

# The suite against the lowest versions; the pins are checked against what is installed.
test-lowest: $(LOWEST_INSTALLED) $(BROWSER) $(REDIS)
	STREAMSTRAIGHT_LOWEST_PINS=$(LOWEST_PINS) $(LOWEST)/bin/python -m pytest -p no:cacheprovider

test:
	@echo "==> make test: lint, type check, the whole suite, then the suite again at the lowest"
	@echo "    dependency versions; 10 to 12 minutes on 2 cores (a busy machine takes longer)"
	$(MAKE) lint typecheck unit
	$(MAKE) test-lowest

# The Node benchmark sink and producer: socket.io from the npm registry, pinned by the lockfile.
BENCH_NODE := benchmarks/node_modules/.package-lock.json

$(BENCH_NODE): benchmarks/package.json benchmarks/package-lock.json
	cd benchmarks && npm ci --no-audit --no-fund --loglevel=error

# BENCH_ARGS=--quick for a short run that prints its tables and writes nothing.
bench: $(INSTALLED) $(BENCH_NODE)
	$(BIN)/python benchmarks/run.py $(if $(BENCH_ARGS),$(BENCH_ARGS),--write BENCHMARKS.md)

clean:
	rm -rf $(VENV) $(LOWEST) dist build *.egg-info .mypy_cache .ruff_cache .pytest_cache
