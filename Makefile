# Two commands from a fresh clone:
#   make run   – set everything up and serve the site on http://127.0.0.1:5000 (PORT overrides)
#   make test  – set everything up and run every test, browser tests included; the app tests run
#                twice, on SQLite and on a PostgreSQL server that the tests start themselves
#
# Prerequisites: CPython 3.12 or 3.13 (scripts/find-python finds one, or PYTHON=… names it; 3.11 is
# refused: it crashes under the server's threads, docs/python-versions.md), Node.js with npm; for `make test` also Debian's `chromium` (browser
# tests, at /usr/bin/chromium) and `postgresql` (server binaries in /usr/lib/postgresql/*/bin).
# `make test` installs those two with apt-get when run as root, and otherwise stops at once,
# saying what to install.

# The interpreter the venv is made with: checked, and refused with the reason unless supported.
PY         := $(shell PYTHON='$(PYTHON)' scripts/find-python)
PY_VERSION := $(if $(PY),$(shell $(PY) -c 'import sys; print("%d.%d" % sys.version_info[:2])'))
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
FLASK  := $(BIN)/flask --app kb

.PHONY: run test setup setup-test test-packages python-check db content index clean

# Served by gunicorn with the settings in gunicorn.conf.py (the tests' servers use the same).
# Links in emails use KB_BASE_URL; unless it is set, they point at this server's own port.
run: setup db content index
	PORT=$(PORT) KB_BASE_URL="$${KB_BASE_URL:-http://127.0.0.1:$(PORT)}" $(BIN)/gunicorn --config gunicorn.conf.py

test: setup-test
	$(BIN)/python -m pytest

setup: python-check $(VENV)/.installed node_modules/.installed

setup-test: python-check test-packages setup $(VENV)/.installed-test

# Debian packages the tests need: Chromium for the browser tests, PostgreSQL's server binaries for
# the app tests (KB_CHROMIUM and KB_PG_BIN point elsewhere). Checked first, so that a missing one
# stops `make test` before anything runs.
test-packages:
	@missing=""; \
	[ -x "$${KB_CHROMIUM:-/usr/bin/chromium}" ] || missing="$$missing chromium"; \
	if [ -n "$${KB_PG_BIN:-}" ]; then [ -x "$$KB_PG_BIN/pg_ctl" ] || missing="$$missing postgresql"; \
	else ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || missing="$$missing postgresql"; fi; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then \
	  echo "make test needs the Debian package(s)$$missing: run 'sudo apt-get install$$missing', then make test again." >&2; \
	  exit 1; \
	fi; \
	echo "Installing$$missing with apt-get"; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get update -qq || true; \
	apt-get install -y -qq $$missing >/dev/null

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

# scripts/find-python has already said why when it found no supported interpreter.
python-check:
	@test -n "$(PY)" || { echo "make: stopping: no supported Python (see above)" >&2; exit 1; }

# A venv made with another Python version (3.11, say) is made again rather than reused.
$(VENV)/.python-$(PY_VERSION): | python-check
	rm -rf $(VENV)
	$(PY) -m venv $(VENV)
	touch $@

$(VENV)/.installed: requirements.txt $(VENV)/.python-$(PY_VERSION)
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
