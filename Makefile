# Two commands on a fresh machine (Python 3.11 on PATH as python3.11 or python3):
#   make test    create .venv, install everything, fetch the official agent, run the default suite
#   make train   the same environment (no official agent needed), then train DreamerV3 on Craftax
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
REFERENCE := $(VENV)/.reference
# torch for the PyTorch target tests (tests/test_torch_target.py); pip here resolves this pin to
# the CPU build (torch 2.13.0+cpu). On a plain package index it is the CUDA build (several GB):
# set TORCH='torch==2.13.0+cpu' with a CPU index configured, or TORCH= to leave torch out.
TORCH ?= torch==2.13.0
TORCH_STAMP := $(VENV)/.torch

.PHONY: setup test test-slow float-environments mutants mutants-ci parity-report train bench impact clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e '.[test]'
	touch $(STAMP)

# The official sdist (downloaded, sha256-verified, cached): needed by the suite, not by training.
$(REFERENCE): $(STAMP)
	$(BIN)/python -m reference_adapter.fetch
	touch $(REFERENCE)

$(TORCH_STAMP): $(STAMP)
	$(if $(TORCH),$(BIN)/python -m pip install '$(TORCH)')
	touch $(TORCH_STAMP)

setup: $(REFERENCE) $(TORCH_STAMP)

test: $(REFERENCE) $(TORCH_STAMP)
	$(BIN)/python -m pytest -m "not slow" --findings-json $(VENV)/findings.json

test-slow: $(REFERENCE)
	$(BIN)/python -m pytest -m slow

# The parity suite's verdicts in three float environments of this machine must be identical
# (CI takes the default environment's from the `make test` it has just run).
float-environments: $(REFERENCE)
	$(BIN)/python -m parity_tests.float_environments $(ARGS)

# Every mutant of the catalogue in both passes, PARITY.md's tables rewritten (about 130 min on
# 2 cores; the torch pass about 20 min more); CI runs the sample (each sampled mutant once, every
# tag in each JAX pass; 15 mutants, and 3 in torch).
mutants: $(REFERENCE) $(TORCH_STAMP)
	$(BIN)/python -m parity_tests.mutants --select --write PARITY.md
	$(BIN)/python -m parity_tests.mutants --architecture-free --select --write PARITY.md
	$(BIN)/python -m parity_tests.mutants --torch --write PARITY.md

mutants-ci: $(REFERENCE) $(TORCH_STAMP)
	$(BIN)/python -m parity_tests.mutants --select --ci-sample
	$(BIN)/python -m parity_tests.mutants --architecture-free --select --ci-sample
	$(BIN)/python -m parity_tests.mutants --torch --ci-sample

parity-report: $(REFERENCE)
	$(BIN)/python -m pytest parity_tests -m "not slow or power" --parity-report PARITY.md

train: $(STAMP)
	$(BIN)/python -m reimpl.train $(ARGS)

bench: $(REFERENCE)
	$(BIN)/python -m benchmarks $(ARGS)

# Catalogue mutants trained against the unmutated reimpl, IMPACT.md (python -m benchmarks.impact
# --help; the default comparison is about 80 minutes on 2 cores).
impact: $(STAMP)
	$(BIN)/python -m benchmarks.impact $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
