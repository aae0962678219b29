# mysfits-lab: `make run` runs the whole workbook on the local cloud, `make test` runs every test,
# `make check` the fast gate (lint, unit and integration tests: no notebooks, no browser).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: setup run lab test check lint bench browser-deps cloud-down clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: setup
	$(BIN)/mysfits-lab run

lab: setup
	$(BIN)/mysfits-lab cloud up
	$(BIN)/jupyter lab notebooks/

# Headless Chromium for the browser tests, from Debian's packages (needs root and apt).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 \
	  || echo "!!! Could not install Chromium (apt-get install chromium): browser tests will be SKIPPED (FAIL with MYSFITS_LAB_REQUIRE_BROWSER=1) !!!"; }

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/nbstripout --verify notebooks/*.ipynb
	$(BIN)/cfn-lint assets/templates/*.yml

test: setup browser-deps lint
	$(BIN)/pytest $(PYTEST_ARGS)

check: setup lint
	$(BIN)/pytest -m "not notebook and not browser" $(PYTEST_ARGS)

bench: setup
	$(BIN)/python -m benchmarks

cloud-down:
	-$(BIN)/mysfits-lab cloud down

clean: cloud-down
	rm -rf .lab runs
