# Thin targets over `python -m lab`. The first call on a fresh machine installs everything
# (uv into .tools/, then the locked environment into .venv/); only python3 and make are assumed.

SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.8
UV := .tools/bin/uv
LAB := .venv/bin/python -m lab
profile ?= default
scenario ?=
run ?=
base ?=
versions ?=
strict ?=

export UV_PYTHON := $(PYTHON)
export UV_PYTHON_DOWNLOADS := never

.PHONY: images up down test-compose compose-tools setup browser nginx bench bench-all bench-generator bench-overhead baseline bench-ci slides audit calibrate catalogue compare report list test test-unit test-catalogue test-all lint format clean

$(UV):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11+ is needed, found " + sys.version.split()[0])'
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --all-extras --quiet
	@touch $@

setup: .venv/.synced

# A scenario with nginx in front ([proxy] or [variant_proxy]) installs it first.
bench: setup $(if $(and $(scenario),$(shell grep -ls '^\[proxy\]\|^\[variant_proxy' scenarios/$(scenario).toml 2>/dev/null)),nginx)
	@if [ -z "$(scenario)" ]; then echo "usage: make bench scenario=NAME [profile=quick]; scenarios:"; $(LAB) list; exit 2; fi
	$(LAB) run $(scenario) --profile $(profile) $(if $(versions),--versions '$(versions)') $(if $(strict),--strict)

bench-all: setup
	$(LAB) run --all --profile $(profile)

comma := ,
theme ?= light,dark
# A run's key charts at slide size, PNG and SVG, light and dark (needs Debian's chromium).
slides: setup
	@if [ -z "$(scenario)" ]; then echo "usage: make slides scenario=NAME [theme=dark] [run=RUN_ID]"; exit 2; fi
	$(LAB) slides $(scenario) --theme $(theme) $(if $(run),--run $(run))

# A scenario's CI-profile run stored as results/baselines/<scenario>.json, to commit.
baseline: setup
	@if [ -z "$(scenario)" ]; then echo "usage: make baseline scenario=NAME[,NAME...]"; exit 2; fi
	$(LAB) baseline $(subst $(comma), ,$(scenario))

# CI: each scenario with a baseline (or those named) on its CI profile, gated against the baseline.
# Exit 0 clean, 1 regression, 2 could not run; outputs in results/ci/ and $$GITHUB_STEP_SUMMARY.
bench-ci: setup
	$(LAB) ci $(subst $(comma), ,$(scenario))

# How fast one Locust process keeps an open-model schedule here (send lag and core use per rate),
# and its achieved maximum on a server-bound endpoint against wrk's (needs Debian's wrk).
bench-generator: setup
	$(LAB) run scenarios/benchmarks/generator.toml --profile $(profile)
	@if command -v wrk >/dev/null; then $(LAB) wrk-check; \
	else echo "wrk-check not run: wrk is not installed (Debian: apt-get install wrk); the send-lag figure above stands alone"; fi

# What the in-app mechanism sampling (loop lag, threadpool tokens) costs the server it measures.
bench-overhead: setup
	$(LAB) run scenarios/benchmarks/mechanism.toml --profile $(profile)

# Null mode for every scenario (or one): every variant runs the reference app; a claim that still passes is a defect.
# The quick profile unless `profile=` is given (base-http-middleware's CPU claim needs the default's 8 repeats).
audit: setup
	$(LAB) audit $(scenario) --profile $(if $(filter command line,$(origin profile)),$(profile),quick)

# A/A calibration: a null run of the CI profile with many repeats, then trials gating half of them
# against the other half: the gate's false-alarm rate and null mode's pass rate, with intervals.
calibrate: setup
	$(LAB) calibrate $(or $(scenario),loop-blocking) $(if $(run),--run $(run)) $(if $(repeats),--repeats $(repeats))

# The README's "measured here" table, from the newest complete default and null-mode runs in results/.
catalogue: setup
	$(LAB) catalogue

compare: setup
	@if [ -z "$(scenario)" ]; then echo "usage: make compare scenario=NAME [base=RUN_ID] [run=RUN_ID]"; exit 2; fi
	$(LAB) compare $(scenario) $(if $(base),--base $(base)) $(if $(run),--run $(run))

report: setup
	$(LAB) report $(scenario) $(if $(run),--run $(run))

list: setup
	@$(LAB) list

# Debian's packages the lab drives: chromium for the browser tests, nginx for scenarios with a proxy.
# Installed where we can (root with apt-get), without starting nginx's own service (policy-rc.d);
# where we cannot, the tests that need them skip and say why, and a proxied run says so in one line.
define debian_package
	@command -v $(1) >/dev/null 2>&1 || [ -x /usr/sbin/$(1) ] || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's $(1)"; \
	    keep=$$([ -e /usr/sbin/policy-rc.d ] && echo 1); \
	    [ -n "$$keep" ] || printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(1)) >/dev/null 2>&1 \
	      || echo "warning: could not install $(1)"; \
	    [ -n "$$keep" ] || rm -f /usr/sbin/policy-rc.d; \
	  else echo "note: $(1) is not installed and cannot be here (not root, or no apt-get)"; fi; }
endef

browser:
	$(call debian_package,chromium)

nginx:
	$(call debian_package,nginx)

# The README's test command: unit, contract and recorded-data tests plus a small real end-to-end set
# (loop-blocking quick, a database and an upstream scenario, interrupts, PostgreSQL, the upstream,
# the browser, the compose files). Within 10 minutes on 2 cores.
test: setup browser nginx
	.venv/bin/python -m pytest --durations=15

# Only what starts no server, Locust, PostgreSQL or Docker: under two minutes.
test-unit: setup
	.venv/bin/python -m pytest -m "not e2e and not compose"

# Every scenario's quick profile end to end, and the slower end-to-end checks (null mode and repeats
# on loop-blocking, a CI gate run, two FastAPI versions, a target with two generators).
test-catalogue: setup
	.venv/bin/python -m pytest -m "catalogue or slow" --durations=15

test-all: test test-catalogue

# What the compose stack needs, and only what is missing: never Debian's engine over a Docker that
# is installed (Docker's own packages bring `docker compose` v2; docker/tools.sh says what it does).
compose-tools:
	docker/tools.sh

# The compose stack's images from Debian's packages, for machines with no registry (writes .env).
images: compose-tools
	docker/images.sh

# The compose stack serving one variant of a scenario, healthy; `load=N` adds Locust's master (web UI) and N workers.
up: setup
	@if [ -z "$(scenario)" ] || [ -z "$(variant)" ]; then echo "usage: make up scenario=NAME variant=NAME [load=N]"; exit 2; fi
	$(LAB) compose-up $(scenario) --variant $(variant) $(if $(load),--load $(load))

# Every container, network and volume of the stack.
down: setup
	$(LAB) compose-down

# The compose stack for real (.ci/run runs it after `make test`): images, stack, load, teardown.
test-compose: setup compose-tools
	.venv/bin/python -m pytest -m compose tests/test_compose.py

lint: setup
	.venv/bin/ruff check lab apps locustfiles tests
	.venv/bin/ruff format --check lab apps locustfiles tests
	.venv/bin/mypy
	.venv/bin/lint-imports

format: setup
	.venv/bin/ruff format lab apps locustfiles tests
	.venv/bin/ruff check --fix lab apps locustfiles tests

# Also the Docker engine data `make test-compose` keeps between runs (its image cache, ~1.6 GB in
# /tmp/lab-dockerd): its engine must be stopped first, which the test does when it ends.
clean:
	rm -rf .venv .tools .lab-envs .pytest_cache .mypy_cache .ruff_cache results/test-failures
	@if [ -d /tmp/lab-dockerd ]; then \
	  if [ -f /tmp/lab-dockerd/dockerd.pid ] && kill -0 "$$(cat /tmp/lab-dockerd/dockerd.pid)" 2>/dev/null; then \
	    echo "the test's Docker engine is running (pid $$(cat /tmp/lab-dockerd/dockerd.pid)); stop it, then make clean"; exit 2; fi; \
	  umount -R /tmp/lab-dockerd 2>/dev/null || true; rm -rf /tmp/lab-dockerd; echo "removed /tmp/lab-dockerd (the compose test's Docker data)"; fi
