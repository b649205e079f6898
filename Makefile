# Everything a fresh machine needs is installed by these targets themselves:
# Debian packages (scripts/install-debian-deps.sh), a Python venv with the project,
# and the Kubernetes control plane and helm built from Go modules (cached).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint bench binaries clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)
	bash scripts/install-debian-deps.sh

binaries: setup
	bash scripts/build-control-plane.sh >/dev/null
	bash scripts/build-helm.sh >/dev/null

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

lint: setup
	$(VENV)/bin/ruff check extender tests bench scripts
	$(VENV)/bin/ruff format --check extender tests bench scripts
	$(VENV)/bin/mypy extender

## Every test: unit, HTTP, deploy, and end-to-end against the real kube-apiserver,
## kube-scheduler and Prometheus.
test: lint binaries
	$(VENV)/bin/pytest -q

bench: setup
	$(PY) bench/bench.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
