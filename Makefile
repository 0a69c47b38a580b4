# Two commands do all the set-up on a fresh machine:
#   make run    install into .venv, migrate, start api + relay + notifier on local defaults
#   make test   install with test dependencies, make sure services are up, run the whole suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint check services clean messages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

services:
	bash scripts/ensure-services.sh

run: $(STAMP) services
	$(BIN)/edutrack run

test: $(STAMP) services
	$(BIN)/pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy edutrack

check: lint test

# New or changed texts in the code: merge them into the .po files (docs/i18n.md).
messages: $(STAMP)
	$(BIN)/python -m edutrack.i18n.extract update

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
