# coronabot: common tasks. Every target uses the project's .venv (make setup).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
LINT_VENV := .venv-lint
RTDB_PORT ?= 9000
WEBHOOK_PORT ?= 8080
SCRAPE_PORT ?= 8090
FUNCTIONS := webhook scrape deliver

.PHONY: setup test lint secret-scan emulator vendor serve run demo bootstrap deploy bench clean

setup: $(VENV)/.installed $(LINT_VENV)/.installed

$(VENV)/.installed: lib/pyproject.toml functions/webhook/requirements.txt functions/scrape/requirements.txt functions/deliver/requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is required"'
	@echo "setup: 1/3 the virtual environment in $(VENV)"
	@$(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@echo "setup: 2/3 the functions' pinned requirements and the development tools (a minute or two the first time)"
	@$(PY) -m pip install --quiet -r functions/webhook/requirements.txt -r functions/scrape/requirements.txt -r functions/deliver/requirements.txt -r requirements-dev.txt
	@echo "setup: 3/3 lib/ (coronabot, its development tools and the embedded database), editable"
	@$(PY) -m pip install --quiet --no-deps -e lib
	@touch $@
	@echo "setup: done"

$(LINT_VENV)/.installed: requirements-lint.txt
	@echo "setup: the checkers of make lint in $(LINT_VENV)"
	@$(PYTHON) -m venv $(LINT_VENV)
	@$(LINT_VENV)/bin/python -m pip install --quiet --upgrade pip
	@$(LINT_VENV)/bin/python -m pip install --quiet -r requirements-lint.txt
	@touch $@

test: setup lint secret-scan
	$(PY) -m pytest -q tests

lint: setup
	$(VENV)/bin/ruff check lib tests bench functions
	PYTHONPATH=lib $(LINT_VENV)/bin/lint-imports
	$(LINT_VENV)/bin/mypy --python-executable $(PY)
	$(LINT_VENV)/bin/mypy --python-executable $(PY) --config-file mypy-tools.ini

# Fails on anything that looks like a key or token in a tracked file; a reviewed false positive
# carries an inline "pragma: allowlist secret" comment. The one file left out is a database snapshot whose
# digests, lease owners and file ids are all hex (tests/fixtures/README.md; it holds no token: its maker runs
# with a fake one, and test_secret_scan checks that no token-shaped string is in it).
secret-scan: setup
	git ls-files -z | xargs -0 $(VENV)/bin/detect-secrets-hook --exclude-files '^tests/fixtures/database-before-inpatients\.json$$'

# The long-running targets exec their program, so a signal to make (Ctrl-C, or a supervisor's SIGTERM to make
# alone) reaches it directly: it stops in order, exits 0, and leaves no child behind.
emulator: setup
	exec $(PY) -m coronabot_dev.rtdb --port $(RTDB_PORT) --rules database.rules.json $(if $(RTDB_DATA_FILE),--data $(RTDB_DATA_FILE),)

# Each function as it is deployed, outside the source tree: its folder (main.py, requirements.txt) and the
# product's package, nothing else (not the development tools, not the embedded database). The package is
# compiled to bytecode by the Python that builds it (Cloud Build's python:3.12, the runtime's version), checked
# by hash rather than by time (an upload changes the times): a new instance loads it instead of compiling
# every module on its first request (docs/benchmarks.md, "Round trips").
vendor:
	for f in $(FUNCTIONS); do rm -rf build/functions/$$f && mkdir -p build/functions/$$f \
	  && cp functions/$$f/main.py functions/$$f/requirements.txt functions/$$f/.gcloudignore build/functions/$$f/ \
	  && cp -r lib/coronabot build/functions/$$f/coronabot \
	  && find build/functions/$$f -name __pycache__ -prune -exec rm -rf {} + \
	  && $(PYTHON) -m compileall -q --invalidation-mode unchecked-hash build/functions/$$f/coronabot; done

serve: setup vendor
	exec env RTDB_PORT=$(RTDB_PORT) WEBHOOK_PORT=$(WEBHOOK_PORT) SCRAPE_PORT=$(SCRAPE_PORT) $(PY) -m coronabot_dev serve

run: setup
	exec env RTDB_PORT=$(RTDB_PORT) $(PY) -m coronabot_dev run

demo: setup
	exec $(PY) -m coronabot_dev demo

bootstrap:
	bash deploy/bootstrap.sh

deploy:
	bash deploy/submit.sh

bench: setup
	$(PY) bench/bench_webhook.py
	$(PY) bench/bench_round_trips.py --latency-ms 40
	$(PY) bench/bench_round_trips.py --latency-ms 0
	$(PY) bench/bench_webhook_attack.py
	$(PY) bench/bench_polling.py
	$(PY) bench/bench_scrape.py
	$(PY) bench/bench_emulator.py --compare b2d4464
	$(PY) bench/bench_fanout.py

clean:
	rm -rf $(VENV) build .pytest_cache .ruff_cache
