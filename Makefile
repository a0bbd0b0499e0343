# Thin wrappers: CI and the README call exactly these targets.
#   make run    set everything up, then run web + collector + worker in the foreground
#   make test   set everything up, then run every test suite
#   make bench  benchmarks (figures only; never fails on a timing)
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: help setup run test test-units test-repo test-e2e lint bench clean

help:
	@sed -n 's/^#   //p' Makefile

# A virtualenv per service from its own pinned requirements, ffmpeg (the
# transcoder's Makefile installs it with apt when missing), and the root
# tool environment for honcho and the repository-level suites.
setup: $(STAMP) node_modules/.installed
	$(MAKE) -C transcoder_service venv
	$(MAKE) -C web_service venv

$(STAMP): requirements-dev.txt tests/e2e/requirements.txt tests/infra/requirements.txt bench/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --disable-pip-version-check --quiet -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

run: setup
	$(VENV)/bin/python bin/run

test: setup
	$(MAKE) test-units
	$(MAKE) test-repo

# Each service's own unit tests, exactly as its own repository would run them.
test-units:
	$(MAKE) -C transcoder_service test
	$(MAKE) -C web_service test

# Repository-level suites against real processes: shipping checks, end to end.
test-repo:
	$(VENV)/bin/pytest tests

test-e2e: setup
	$(VENV)/bin/pytest tests/e2e

lint: setup
	$(MAKE) -C transcoder_service lint
	$(MAKE) -C web_service lint
	$(VENV)/bin/ruff check tests bench bin
	$(VENV)/bin/ruff format --check tests bench bin

# One table, also written into bench/results.md. BENCH_QUICK=1 for fewer
# repeats; BENCH_ARGS="--only e2e,messaging --profile" and more: python -m bench --help.
bench: setup
	$(VENV)/bin/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules web_service/.venv transcoder_service/.venv
