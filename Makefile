# Two commands do all the set-up on a fresh machine:
#   make run    install into .venv, migrate, start api + relay + notifier on local defaults
#   make test   install with test dependencies, make sure services are up and Chromium is installed (the web
#               client's end-to-end tests drive it), run the whole suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint check services chromium clean messages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python setup.cfg pyproject.toml
	@# libpass replaces passlib in the same `passlib` directory: the old distribution goes first, or removing it
	@# later would delete the fork's files.
	$(BIN)/pip uninstall --quiet --yes passlib 2>/dev/null || true
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

services:
	bash scripts/ensure-services.sh

# Debian's chromium, which Playwright drives (it downloads no browser of its own). Installing it needs root;
# elsewhere install the package yourself, or point CHROMIUM at a Chromium binary.
chromium:
	@test -x "$${CHROMIUM:-/usr/bin/chromium}" || { \
	  echo "make: installing Debian's chromium for the end-to-end tests"; \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }

run: $(STAMP) services
	$(BIN)/edutrack run

# Two workers, a test file's tests kept together on one (they share module fixtures and some run in order);
# TEST_WORKERS=0 runs everything in this one process.
TEST_WORKERS ?= 2
test: $(STAMP) services chromium
	$(BIN)/pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy edutrack

check: lint test

# New or changed texts in the code: merge them into the .po files (docs/i18n.md).
messages: $(STAMP)
	$(BIN)/python -m edutrack.i18n.extract update

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
