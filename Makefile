# Thin wrappers: CI and the README call exactly these targets. `make help`
# lists every target of this Makefile and of each service's.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: help setup system-packages run test test-units test-repo test-e2e lint bench clean

help: ## this list (each Makefile lists its own targets)
	@awk -F':.*## ' '/^[a-z][a-z0-9-]*:.*## /{printf "  make %-18s %s\n", $$1, $$2}' $(firstword $(MAKEFILE_LIST))
	@echo "web_service/ (make -C web_service ...):"; $(MAKE) --no-print-directory -C web_service help
	@echo "transcoder_service/ (make -C transcoder_service ...):"; $(MAKE) --no-print-directory -C transcoder_service help

# The system programs (ffmpeg, Chromium, wrk, npm: installed with apt when
# run as root on Debian/Ubuntu, else listed with the command to install them),
# a virtualenv per service from its own pinned requirements, and the root
# tool environment for honcho, SeaweedFS's `weed` and the repository-level suites.
setup: system-packages $(STAMP) node_modules/.installed ## system packages, the root tools and both services' virtualenvs
	$(MAKE) -C transcoder_service venv
	$(MAKE) -C web_service venv

system-packages: ## ffmpeg, Chromium, wrk, npm, docker (apt, as root)
	bin/install-system-packages

$(STAMP): requirements-dev.txt tests/e2e/requirements.txt tests/infra/requirements.txt bench/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --disable-pip-version-check --quiet -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json | system-packages
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

run: setup ## set everything up, then run web + collector + worker in the foreground
	$(VENV)/bin/python bin/run

test: setup ## set everything up, lint and type-check, then run every test suite
	$(MAKE) lint
	$(MAKE) test-units
	$(MAKE) test-repo

# Each service's own unit tests, exactly as its own repository would run them.
test-units: ## each service's own tests, as its own repository runs them
	$(MAKE) -C transcoder_service test
	$(MAKE) -C web_service test

# Repository-level suites against real processes: shipping checks, end to end.
# One process by default: on 2 cores, side by side, timing-bound tests failed
# (docs/development.md). PYTEST_ARGS="-n auto --dist loadgroup" spreads them
# over the cores; tests/conftest.py says what stays together.
test-repo: ## repository-level suites against real processes
	$(VENV)/bin/pytest $(PYTEST_ARGS) tests

test-e2e: setup ## only the end-to-end suite
	$(VENV)/bin/pytest tests/e2e

# bin/run is named without .py, so ruff skips it unless it is named.
lint: setup ## ruff, import-linter and mypy over everything
	$(MAKE) -C transcoder_service lint
	$(MAKE) -C web_service lint
	$(VENV)/bin/ruff check tests bench bin bin/run
	$(VENV)/bin/ruff format --check tests bench bin bin/run
	$(VENV)/bin/mypy

# One table, also written into bench/results.md. BENCH_QUICK=1 for fewer
# repeats; BENCH_ARGS="--only e2e,messaging --profile" and more: python -m bench --help.
bench: setup ## benchmarks: figures only, never fails on a timing
	$(VENV)/bin/python -m bench $(BENCH_ARGS)

clean: ## remove the virtualenvs and node_modules
	rm -rf $(VENV) node_modules web_service/.venv web_service/node_modules web_service/videos/static/videos/vendor transcoder_service/.venv
