# slmfleet developer entry points. `make help` lists them.
SHELL := /bin/bash
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: help deps venv tools demo test test-unit lint crds crds-check clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | sort

deps: ## install Debian packages the local cluster needs (prometheus, openssl) when missing
	@command -v prometheus >/dev/null && command -v openssl >/dev/null || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus openssl >/dev/null; }

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

venv: $(BIN)/python ## create .venv and install slmfleet with its dev tools
	$(BIN)/pip install -q -e '.[dev]'

tools: venv ## build kube-apiserver, etcd, kwok, the simulator, helm and kstatus into the cache (no-op when built)
	$(BIN)/slmfleet dev tools

demo: deps tools ## boot a local fleet: control plane, 3 fake GPU nodes, Prometheus, the operator
	$(BIN)/slmfleet dev demo

lint: venv ## ruff and mypy --strict
	$(BIN)/ruff check operator tests bench
	$(BIN)/ruff format --check operator tests bench
	$(BIN)/mypy

crds: venv ## regenerate crds/, the chart's CRDs and docs/api-reference.md from the pydantic models
	$(BIN)/python -m slmfleet.api.crdgen --out crds/
	$(BIN)/python -m slmfleet.api.crdgen --out charts/slmfleet/crds/
	$(BIN)/python -m slmfleet.api.docgen --out docs/api-reference.md

crds-check: venv ## fail when crds/, the chart's CRDs or docs/api-reference.md drift from the models
	$(BIN)/python -m slmfleet.api.crdgen --out crds/ --check
	$(BIN)/python -m slmfleet.api.crdgen --out charts/slmfleet/crds/ --check
	$(BIN)/python -m slmfleet.api.docgen --out docs/api-reference.md --check

test-unit: venv ## the fast tier: pure functions only
	$(BIN)/pytest -m unit -q $(PYTEST_ARGS)

test: deps tools lint crds-check ## everything CI runs: lint, drift, unit, integration and e2e tests
	$(BIN)/pytest -q $(PYTEST_ARGS)

clean: ## remove the virtualenv and caches (not the built tools)
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
