# Everything a fresh machine needs is installed by these targets themselves:
# Debian packages (scripts/install-debian-deps.sh), a Python venv with the project,
# and the Kubernetes control plane and helm built from Go modules (cached).
# Each test tier installs only what it runs; `make test` installs everything and runs the
# whole suite in one pytest.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PYTEST := $(VENV)/bin/pytest -q
STAMP := $(VENV)/.installed
LINT_PATHS := extender devtools tests bench scripts

.PHONY: venv setup control-plane helm binaries demo lint test test-unit test-http \
	test-deploy test-e2e test-image image bench bench-scheduler clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

## The venv with the project and its test tools; all that lint, bench and the unit and HTTP
## tiers need.
venv: $(STAMP)

## The venv and every Debian package any test uses (Prometheus, promtool, openssl).
setup: $(STAMP)
	bash scripts/install-debian-deps.sh

## etcd, kube-apiserver, kube-scheduler and kubectl, built from tests/cluster/ (cached).
control-plane:
	bash scripts/build-control-plane.sh >/dev/null

## helm, built from tests/helm/ (cached).
helm:
	bash scripts/build-helm.sh >/dev/null

## Everything the whole suite needs: setup and both Go builds.
binaries: setup control-plane helm

## The demo: the extender on the bundled example snapshot, played over HTTP; then, where Go
## is available, the same example as a real local cluster placed by kube-scheduler.
demo: setup
	$(VENV)/bin/weighbridge demo
	@if command -v go >/dev/null 2>&1; then \
		echo; echo "=== the same example on a local control plane with the real kube-scheduler ==="; \
		$(VENV)/bin/weighbridge cluster --demo; \
	else \
		echo "(Go not found: skipping the live-cluster part of the demo)"; \
	fi

## Style, types, and extender/'s layering (no import cycles, no upward imports, nothing
## imported that the wheel does not ship: scripts/check-layers.py).
lint: venv
	$(VENV)/bin/ruff check $(LINT_PATHS)
	$(VENV)/bin/ruff format --check $(LINT_PATHS)
	$(VENV)/bin/mypy
	$(PY) scripts/check-layers.py

## The container image, built from the Dockerfile with podman on a base of Debian packages
## (no daemon, no registry), cached by content: scripts/build-image.sh.
image: venv
	bash scripts/build-image.sh

## Every test: unit, HTTP, deploy, image, and end-to-end against the real kube-apiserver,
## kube-scheduler and Prometheus, in one pytest so the session's control plane is shared.
## The image is built first (cached), so the image tier in that pytest only runs it.
test: lint binaries image
	$(PYTEST)

## Unit tests, by layer (tests/unit/<layer>): pure Python, no network, no binaries; the venv
## only.
test-unit: venv
	$(PYTEST) tests/unit

## The HTTP server through a real socket, and the demo played against it; the venv only.
test-http: venv
	$(PYTEST) tests/http

## The chart through real helm, the scheduler configurations through the real kube-scheduler,
## the alert rules through promtool, and openssl for a throwaway CA.
test-deploy: venv control-plane helm
	bash scripts/install-debian-deps.sh deploy
	$(PYTEST) tests/deploy

## End to end on a local control plane (openssl for its PKI), with a real Prometheus
## scraping the extender and real helm installing the chart.
test-e2e: venv control-plane helm
	bash scripts/install-debian-deps.sh e2e
	$(PYTEST) tests/e2e

## The image run as the chart runs it (read-only, user 65532, no capabilities) against a
## local control plane: ready, places a pod through kube-scheduler, drains on SIGTERM.
test-image: venv control-plane image
	bash scripts/install-debian-deps.sh e2e
	$(PYTEST) tests/image

## The scheduler's hot path against the naive one, then capacity counts against Nova's
## per-host rules; the venv only.
bench: venv
	$(PY) bench/bench.py
	$(PY) bench/capacity.py

## kube-scheduler with weighbridge in the loop against kube-scheduler alone, on a local
## control plane with 1,000 and 5,000 fake nodes (bench/scheduler.py; about 15 minutes per
## size on 2 cores). NODES=1000 ROUNDS=1 BATCH=300 MODES=alone,names,bind to narrow it;
## QUICK=1 for one round of the three main configurations at 1,000 nodes.
bench-scheduler: venv control-plane
	bash scripts/install-debian-deps.sh e2e
	$(PY) bench/scheduler.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
