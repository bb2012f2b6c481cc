# Two commands from a fresh clone:
#   make run   – set everything up and serve the site on http://127.0.0.1:5000 (PORT overrides)
#   make test  – set everything up and run every test, browser tests included
#
# Prerequisites: Python 3.11+, Node.js with npm, and (for browser tests) Chromium at
# /usr/bin/chromium (Debian package `chromium`; .ci/run installs it when run as root).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
FLASK  := $(BIN)/flask --app kb

.PHONY: run test setup setup-test db content index clean

# Links in emails use KB_BASE_URL; unless it is set, they point at this server's own port.
run: setup db content index
	KB_BASE_URL="$${KB_BASE_URL:-http://127.0.0.1:$(PORT)}" $(FLASK) run --host 127.0.0.1 --port $(PORT)

test: setup-test
	$(BIN)/python -m pytest

setup: $(VENV)/.installed node_modules/.installed

setup-test: setup $(VENV)/.installed-test

db: setup
	$(FLASK) db upgrade

# Imports KB_CONTENT_DIR (default content/) under the rule in docs/content-format.md: a file is
# applied only where nobody changed its entry, site or theme on the web since it was imported.
# Files with errors or conflicts are listed and skipped; the site is served with the rest.
content: db
	$(FLASK) kb import --exit-zero

# Builds the search index if it is missing, and repairs it if it disagrees with the database.
index: content
	$(FLASK) kb index check --repair

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements-dev.txt $(VENV)/.installed
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

clean:
	rm -rf $(VENV) node_modules instance
