# Two commands do all the set-up on a fresh machine (see README):
#   make compare   installs the package in .venv and runs the default comparison
#   make test      installs everything the tests need (incl. Chromium) and runs them on the
#                  oldest supported Python with its Mesa (3.11, Mesa 3.3) and on the newest
#                  (3.13, the newest Mesa 3.x), then the main job from a core-only install
PYTHON ?= python3
# The newest Python: pyenv's 3.13 on these machines, else python3.13 on the PATH.
NEWEST_PYTHON ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3) \
                             $(shell command -v python3.13 2>/dev/null))
VENV ?= .venv
NEWEST_VENV ?= .venv-newest
CORE_VENV ?= .venv-core
BIN = $(VENV)/bin

.PHONY: compare test test-oldest test-newest test-core browser bench dashboard notebooks

# $(call venv,FOLDER,PYTHON): a virtual environment with an up-to-date pip
define venv
	test -x $(1)/bin/python || $(2) -m venv $(1)
	$(1)/bin/python -m pip install -q --upgrade pip
endef

$(VENV)/.core-installed: pyproject.toml
	$(call venv,$(VENV),$(PYTHON))
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.all-installed: pyproject.toml
	$(call venv,$(VENV),$(PYTHON))
	$(BIN)/python -m pip install -q -e '.[all]'
	touch $@ $(VENV)/.core-installed

$(NEWEST_VENV)/.all-installed: pyproject.toml
	@test -n "$(NEWEST_PYTHON)" || { echo "no Python 3.13 found: install it (pyenv install \
	3.13) or give NEWEST_PYTHON=/path/to/python3.13" >&2; exit 1; }
	$(call venv,$(NEWEST_VENV),$(NEWEST_PYTHON))
	$(NEWEST_VENV)/bin/python -m pip install -q -e '.[all]'
	touch $@

compare: $(VENV)/.core-installed
	$(BIN)/collective-impact compare default

# Debian's Chromium drives the browser tests (Playwright's own download cannot be used).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# pytest's exit code 5 (no tests collected) is a failure, not a pass.
define pytest
	$(1)/bin/python -m pytest; status=$$?; \
	  if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing" >&2; exit 1; fi; \
	  exit $$status
endef

test-oldest: $(VENV)/.all-installed browser
	$(BIN)/python -m ruff check .
	$(call pytest,$(VENV))

test-newest: $(NEWEST_VENV)/.all-installed browser
	$(NEWEST_VENV)/bin/python -c "import mesa, sys; print('Python', sys.version.split()[0], \
	'with Mesa', mesa.__version__)"
	$(call pytest,$(NEWEST_VENV))

# A plain install with no extras on the oldest and the newest Python, then the main job
# from a folder outside the checkout.
test-core:
	@test -n "$(NEWEST_PYTHON)" || { echo "no Python 3.13 found" >&2; exit 1; }
	for python in $(PYTHON) $(NEWEST_PYTHON); do \
	  rm -rf $(CORE_VENV) && $$python -m venv $(CORE_VENV) \
	  && $(CORE_VENV)/bin/python -m pip install -q --upgrade pip \
	  && $(CORE_VENV)/bin/python -m pip install -q . && rm -rf build \
	  && (cd "$$(mktemp -d)" && $(CURDIR)/$(CORE_VENV)/bin/collective-impact compare default \
	      --seeds 2 --quiet >/dev/null && test -s results/default/manifest.json \
	      && echo "core-only install on $$($(CURDIR)/$(CORE_VENV)/bin/python -V): compare \
	default wrote $$PWD/results/default") || exit 1; \
	done

test: test-oldest test-newest test-core

dashboard: $(VENV)/.all-installed
	$(BIN)/collective-impact dashboard

notebooks: $(VENV)/.all-installed
	$(BIN)/jupyter lab notebooks/

bench: $(VENV)/.core-installed
	$(BIN)/python benchmarks/bench_model.py --substeps --floor --memory
