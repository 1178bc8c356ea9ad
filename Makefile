# Gridlight — `make run` starts the server, `make test` sets up and runs every check.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PORT   ?= 5000
export GRIDLIGHT_DATA_DIR ?= data

.PHONY: run test lint bench system-deps venv demo-data clean kotlin-test postman

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

# chromium for the browser tests; promtool (Debian's prometheus package) checks /metrics
test: DEBS += chromium prometheus
test: $(STAMP) system-deps lint kotlin-test
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

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
