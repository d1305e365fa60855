# Two commands do all the set-up on a fresh machine (see README):
#   make compare   installs the package in .venv and runs the default comparison
#   make test      installs everything the tests need (incl. Chromium) and runs them
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
CORE = $(VENV)/.core-installed
ALL = $(VENV)/.all-installed

.PHONY: compare test browser bench dashboard notebooks

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(CORE): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(ALL): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[all]'
	touch $@ $(CORE)

compare: $(CORE)
	$(BIN)/collective-impact compare configs/default.toml

# Debian's Chromium drives the browser tests (Playwright's own download cannot be used).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

test: $(ALL) browser
	$(BIN)/python -m ruff check .
	$(BIN)/python -m pytest; status=$$?; \
	  if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing" >&2; exit 1; fi; \
	  exit $$status

dashboard: $(ALL)
	$(BIN)/collective-impact dashboard

notebooks: $(ALL)
	$(BIN)/jupyter lab notebooks/

bench: $(CORE)
	$(BIN)/python benchmarks/bench_model.py
