# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv test test-fast demo lint format bench faults clean system-deps cron-test

venv: $(STAMP)

# Stock Debian and Ubuntu leave ensurepip out of python3 (it is in python3-venv):
# without it `python -m venv` fails with a long message that does not say so.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { \
	  echo "make: $(PYTHON) cannot make a virtualenv (no ensurepip): install python3-venv (Debian, Ubuntu: sudo apt install python3-venv)" >&2; \
	  exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# nginx and Chromium are real parts of the test suite (Debian packages).
system-deps:
	sh scripts/install-system-deps

# axe-core, the accessibility checker tests/sitegen/test_sitegen_a11y.py runs in Chromium: an
# npm package (PyPI's copies of it are years old), kept in the venv, at this exact version.
AXE_CORE := 4.14.1
AXE_STAMP := $(VENV)/npm/.axe-core-$(AXE_CORE)

$(AXE_STAMP): $(STAMP) | system-deps
	npm install --prefix $(VENV)/npm --no-audit --no-fund --loglevel=error axe-core@$(AXE_CORE)
	touch $(AXE_STAMP)

test: $(STAMP) system-deps $(AXE_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest

# The fast tier alone (in-process tests: folds, queries, rules; well under a minute).
test-fast: $(STAMP)
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -m unit -q

demo: $(STAMP)
	$(PY) scripts/demo.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# The fault-injection suite, the fleet (hosts as namespaces) and the consistency oracle at
# length (minutes; `make test` runs them small).
# A failure prints its seed: replay it with FAULTS_SEED=<seed>.
faults: $(STAMP)
	FAULTS_SCALE=20 $(PY) -m pytest tests/faults tests/fleet tests/oracle -q --timeout 3600

# Only the test under a real cron daemon (up to about a minute: cron fires on the minute).
cron-test: $(STAMP) system-deps
	$(PY) -m pytest tests/cron -q

bench: $(STAMP)
	$(PY) benchmarks/bench_runwrap.py
	$(PY) benchmarks/bench_sitegen.py
	$(PY) benchmarks/bench_update.py

clean:
	rm -rf $(VENV) build dist .pytest_cache demo-root demo-site test-artifacts
