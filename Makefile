# The two commands of the quick start: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint types pytest install install-dev clean

$(VENV)/.run-installed: requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

$(VENV)/.dev-installed: requirements-dev.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.lock
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -e .
	touch $@ $(VENV)/.run-installed

install: $(VENV)/.run-installed
install-dev: $(VENV)/.dev-installed

run: $(VENV)/.run-installed
	$(VENV)/bin/orchestratex serve --host $(HOST) --port $(PORT)

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/ruff format --check src tests

types: $(VENV)/.dev-installed
	$(VENV)/bin/mypy

pytest: $(VENV)/.dev-installed
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test: lint types pytest

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
