# Thin wrappers: CI and the README call exactly these targets.
#   make run    set everything up, then run web + collector + worker in the foreground
#   make test   set everything up, then run every test suite
#   make bench  benchmarks (figures only; never fails on a timing)
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: help setup system-packages run test test-units test-repo test-e2e lint bench clean

help:
	@sed -n 's/^#   //p' Makefile

# The system programs (ffmpeg, Chromium, wrk, npm: installed with apt when
# run as root on Debian/Ubuntu, else listed with the command to install them),
# a virtualenv per service from its own pinned requirements, and the root
# tool environment for honcho, SeaweedFS's `weed` and the repository-level suites.
setup: system-packages $(STAMP) node_modules/.installed
	$(MAKE) -C transcoder_service venv
	$(MAKE) -C web_service venv

system-packages:
	bin/install-system-packages

$(STAMP): requirements-dev.txt tests/e2e/requirements.txt tests/infra/requirements.txt bench/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --disable-pip-version-check --quiet -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json | system-packages
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

# bin/run is named without .py, so ruff skips it unless it is named.
lint: setup
	$(MAKE) -C transcoder_service lint
	$(MAKE) -C web_service lint
	$(VENV)/bin/ruff check tests bench bin bin/run
	$(VENV)/bin/ruff format --check tests bench bin bin/run

# One table, also written into bench/results.md. BENCH_QUICK=1 for fewer
# repeats; BENCH_ARGS="--only e2e,messaging --profile" and more: python -m bench --help.
bench: setup
	$(VENV)/bin/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules web_service/.venv web_service/node_modules web_service/videos/static/videos/vendor transcoder_service/.venv
