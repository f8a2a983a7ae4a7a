# Banso — two commands: `make run` and `make test`. Everything else is set up on the way.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export FLASK_APP := banso:create_app

.PHONY: run test test-slow test-stress test-e2e setup clean bench reset-demo

# DEMO_AT=matching-week or DEMO_AT=third-survey: the demo as it stood at that point of the year (a database of its own).
run: setup
	BANSO_DEMO_AT=$(DEMO_AT) $(BIN)/python -m banso.devserver

# On every core (pytest-xdist): each worker process has its own database, Redis database and temporary files
# (tests/conftest.py); a test file runs whole on one worker, so a module's shared world is built once.
test: setup
	$(BIN)/python -m pytest -n auto --dist loadfile $(PYTEST_ARGS)

# The fault tests (Redis down for 30 s, PostgreSQL restarted, a worker killed): minutes, so apart; CI runs them.
test-slow: setup
	$(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

# The tests marked `timing` 20 times each under a busy loop per core, on SQLite and PostgreSQL, failures counted per
# test (tests/stress.py; STRESS_ARGS="--runs 5 -k mailbox" narrows it). Run it when such a test changes.
test-stress: setup
	$(BIN)/python -m tests.stress $(STRESS_ARGS)

setup: $(VENV)/.installed banso/static/vendor/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Third-party assets are installed from npm and copied here, never committed.
banso/static/vendor/.installed: node_modules/.installed
	mkdir -p banso/static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js banso/static/vendor/htmx.min.js
	cp node_modules/@digital-go-jp/design-tokens/dist/tokens.css banso/static/vendor/tokens.css
	touch $@

clean:
	rm -rf $(VENV) node_modules banso/static/vendor

# Start the demo afresh at the next `make run`: the embedded database and the receipts go (the secret key stays).
reset-demo:
	rm -rf instance/banso.sqlite3 instance/banso-*.sqlite3 instance/receipts

# Performance figures (PostgreSQL and Redis on this machine; not part of `make test`). See bench/__main__.py.
bench: setup
	$(BIN)/python -m bench $(BENCH_ARGS)
