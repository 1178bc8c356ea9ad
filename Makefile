# Gridlight — `make run` starts the server, `make test` sets up and runs every check.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PORT   ?= 5000
export GRIDLIGHT_DATA_DIR ?= data

.PHONY: run test lint bench system-deps venv demo-data clean kotlin-test postman newman axe

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# redis-server and mosquitto always; the target that needs more adds them to DEBS (the tests add
# Debian's chromium, which Playwright drives through executable_path: `playwright install` is
# never run, and prometheus for promtool).
system-deps:
	@bash .ci/system-deps.sh $(DEBS)

demo-data: $(STAMP)
	@$(PY) -m generator demo --out $(GRIDLIGHT_DATA_DIR)/demo

run: $(STAMP) demo-data
	@GRIDLIGHT_DEMO=$${GRIDLIGHT_DEMO:-1} PORT=$(PORT) $(PY) -m server run

lint: $(STAMP)
	$(VENV)/bin/ruff check generator server widget_api tests benchmarks
	$(VENV)/bin/ruff format --check generator server widget_api tests benchmarks

# chromium for the browser tests; promtool (Debian's prometheus package) checks /metrics;
# poppler-utils (pdftoppm, pdftotext) renders and reads the monthly reports, whose CJK names print
# from fonts-droid-fallback (DejaVu has no CJK); postgresql is the
# shared database the storage tests also run on (a throw-away cluster per session, see tests/services.py)
test: DEBS += chromium prometheus poppler-utils postgresql fonts-droid-fallback
test: $(STAMP) system-deps lint kotlin-test newman axe
	$(VENV)/bin/pytest

# The Android widget's pure Kotlin core: kotlinc from npm (pinned in android-widget/.tools), JUnit 4
# from Debian; no Gradle or Android SDK needed.
kotlin-test:
	@bash android-widget/scripts/kotlin-test.sh

bench: $(STAMP) system-deps
	$(PY) -m pip install -q -e '.[dev,bench]'
	$(PY) benchmarks/run_all.py

# The Postman collection and environments in docs/postman, generated from the OpenAPI document
# (tests/server/openapi/test_postman.py fails when the committed files are stale).
postman: $(STAMP)
	$(PY) -m server.openapi postman --out docs/postman

# newman (npm, pinned in tests/server/openapi/.tools/package.json and its lock file), installed
# there; tests/server/openapi/test_newman.py runs the collection with it against a served app.
NEWMAN_TOOLS := tests/server/openapi/.tools
NEWMAN       := $(NEWMAN_TOOLS)/node_modules/newman/package.json

$(NEWMAN): $(NEWMAN_TOOLS)/package.json $(NEWMAN_TOOLS)/package-lock.json
	@command -v npm >/dev/null || { echo "newman: needs npm (Debian: apt-get install npm)" >&2; exit 1; }
	npm ci --prefix $(NEWMAN_TOOLS) --no-audit --no-fund --loglevel=error
	@touch $@

newman: $(NEWMAN)

# axe-core (npm, pinned in tests/dashboard/.tools/package.json and its lock file), installed there;
# tests/dashboard/test_accounts_browser.py runs it in Chromium (no serious or critical violation).
AXE_TOOLS := tests/dashboard/.tools
AXE       := $(AXE_TOOLS)/node_modules/axe-core/package.json

$(AXE): $(AXE_TOOLS)/package.json $(AXE_TOOLS)/package-lock.json
	@command -v npm >/dev/null || { echo "axe: needs npm (Debian: apt-get install npm)" >&2; exit 1; }
	npm ci --prefix $(AXE_TOOLS) --no-audit --no-fund --loglevel=error
	@touch $@

axe: $(AXE)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
