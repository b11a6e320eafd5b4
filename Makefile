# Two commands matter: `make run` and `make test`. Everything else is a step they share.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev
# The suite runs on this many pytest-xdist workers (one per core; 1 for a plain run).
TEST_WORKERS ?= $(shell nproc 2>/dev/null || echo 2)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint typecheck pytest install dev clean bench screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(DEVSTAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP) $@

install: $(STAMP)
dev: $(DEVSTAMP)

# FORUM_SERVER_HOST/PORT: the demo's login link and emailed links point where it serves.
run: $(STAMP)
	$(BIN)/forum db upgrade
	FORUM_SERVER_HOST=$(HOST) FORUM_SERVER_PORT=$(PORT) $(BIN)/forum demo --if-empty
	FORUM_SERVER_HOST=$(HOST) FORUM_SERVER_PORT=$(PORT) $(BIN)/forum serve

lint: $(DEVSTAMP)
	$(BIN)/ruff check forum tests bench tools
	$(BIN)/ruff format --check forum tests bench tools

typecheck: $(DEVSTAMP)
	$(BIN)/mypy

# --dist loadgroup: the browser tests share one server, so they go to one worker together.
# tools/test_database.py gives the PostgreSQL half a throwaway database when a server answers
# where .ci/run looks (PGHOST/PGPORT/PGUSER, default postgres@127.0.0.1:5432), dropped after.
pytest: $(DEVSTAMP)
	$(BIN)/python tools/test_database.py $(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

test: lint typecheck pytest

# Refresh the README's pictures (docs/screenshots/) from a real browser.
screenshots: $(DEVSTAMP)
	FORUM_SCREENSHOTS=docs/screenshots $(BIN)/pytest tests/browser/test_screenshots.py

bench: $(STAMP)
	$(BIN)/python bench/import_posts.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
