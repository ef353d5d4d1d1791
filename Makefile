# Two commands for a fresh clone (only Python 3.11+ needed):
#   make run    set up .venv, migrate, run web + workers + scheduler (embedded Redis if REDIS_URL is unset)
#   make test   set up .venv and run the test suite (embedded Redis and SQLite unless
#               TEST_REDIS_URL / TEST_DATABASE_URL are set)
#   make e2e    the end-to-end check: the whole stack in sandbox mode, driven through the simulator
#   make browser  the chat sidebar and the console in headless Chromium (Debian's chromium, /usr/bin/chromium) over
#               the sandbox stack; screenshots in $SCRM_ARTIFACTS_DIR (tests/browser/artifacts/)
#   make prod-check  the production roles from the Procfile on the machine's PostgreSQL and Redis
#               servers, in real mode against the WeCom simulator, through the e2e scenario
#               (deploy/prodcheck.py; PRODCHECK_PG_ADMIN_URL, PRODCHECK_REDIS_URL, PRODCHECK_DB)
# The first interpreter that actually runs and is 3.11 or newer (pyenv shims may exist but fail).
PYTHON ?= $(shell for p in python3 python3.13 python3.12 python3.11; do $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test e2e browser prod-check bench
run: $(VENV)/.installed
	$(BIN)/python -m sandbox.devstack

test: $(VENV)/.installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

e2e: $(VENV)/.installed
	$(BIN)/python -m pytest -m e2e tests/e2e -p no:cacheprovider

browser: $(VENV)/.installed
	$(BIN)/python -m pytest -m browser tests/browser -p no:cacheprovider

prod-check: $(VENV)/.installed
	$(BIN)/python -m deploy.prodcheck

bench: $(VENV)/.installed
	$(BIN)/python bench/callbacks.py

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is required: install it or set PYTHON=/path/to/python3.11"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@
