# mysfits-lab: `make run` runs the whole workbook on the local cloud, `make test` runs every test,
# `make check` the fast gate (lint, unit and integration tests: no notebooks, no browser).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=
# pytest-xdist workers for `make test` and `make check` (each test module runs whole on one).
TEST_WORKERS ?= 2
# Extra JupyterLab options for `make lab`, e.g. JUPYTER_ARGS="--no-browser --port 8899".
JUPYTER_ARGS ?=
# JupyterLab refuses to run as root unless told to; a normal user must not need the flag.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: setup run lab test check lint notebooks-clean bench browser-deps cloud-down clean

# Inside a git checkout, setup also installs the nbstripout git filter (.gitattributes names it):
# notebooks executed in JupyterLab keep their outputs on disk, but git only ever sees them stripped.
setup: $(STAMP)
	@if [ "$$(git rev-parse --show-toplevel 2>/dev/null)" = "$(CURDIR)" ]; then \
	  $(BIN)/nbstripout --install --attributes .gitattributes; fi

$(STAMP): pyproject.toml
	@echo "==> creating $(VENV)"
	$(PYTHON) -m venv $(VENV)
	@echo "==> upgrading pip"
	$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "==> installing mysfits-lab and its dependencies (a few minutes the first time)"
	$(BIN)/python -m pip install -e '.[dev]'
	touch $(STAMP)

run: setup
	$(BIN)/mysfits-lab run

lab: setup
	$(BIN)/mysfits-lab cloud up
	$(BIN)/jupyter lab $(ALLOW_ROOT) $(JUPYTER_ARGS) notebooks/

# Headless Chromium for the browser tests, from Debian's packages (needs root and apt).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 \
	  || echo "!!! Could not install Chromium (apt-get install chromium): browser tests will be SKIPPED (FAIL with MYSFITS_LAB_REQUIRE_BROWSER=1) !!!"; }

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@$(MAKE) --no-print-directory notebooks-clean
	$(BIN)/cfn-lint assets/templates/*.yml

# Notebooks are committed without outputs. In a git checkout this checks the notebooks as git
# holds them (the index: what is committed or about to be), copied aside in one go, so a notebook
# just run in JupyterLab does not fail it; elsewhere (an unpacked archive) it checks the files.
notebooks-clean:
	@if [ "$$(git rev-parse --show-toplevel 2>/dev/null)" = "$(CURDIR)" ]; then \
	  index=$$(mktemp -d) && trap 'rm -rf "$$index"' EXIT && \
	  git ls-files -z -- 'notebooks/*.ipynb' | git checkout-index -z --stdin --prefix="$$index/" && \
	  cd "$$index" && $(abspath $(BIN))/nbstripout --verify notebooks/*.ipynb || { \
	    echo "These notebooks are committed with outputs: run \`make setup\` (installs the nbstripout git filter), then \`git add\` them again."; \
	    exit 1; }; \
	else \
	  $(BIN)/nbstripout --verify notebooks/*.ipynb; \
	fi

test: setup browser-deps lint
	$(BIN)/pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

check: setup lint
	$(BIN)/pytest -n $(TEST_WORKERS) -m "not notebook and not browser" $(PYTEST_ARGS)

bench: setup
	$(BIN)/python -m benchmarks

cloud-down:
	-$(BIN)/mysfits-lab cloud down

clean: cloud-down
	rm -rf .lab runs
