# Two commands for a fresh clone (only Python 3.11+ needed):
#   make run    set up .venv, migrate, run web + workers + scheduler (embedded Redis if REDIS_URL is unset)
#   make test   set up .venv and run the test suite (embedded Redis and SQLite unless
#               TEST_REDIS_URL / TEST_DATABASE_URL are set)
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do command -v $$p >/dev/null && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test bench
run: $(VENV)/.installed
	$(BIN)/python -m scrm.devstack

test: $(VENV)/.installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(VENV)/.installed
	$(BIN)/python bench/callbacks.py

$(VENV)/.installed: requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required (found " + sys.version.split()[0] + "); set PYTHON=/path/to/python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@
