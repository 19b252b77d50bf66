# One entry point: `make run` (predict on the shipped example with the built-in model) and `make test`.
# Both create or refresh the virtual environment in $(VENV) first.
VENV   ?= .venv
PYTHON ?= python3
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.seqrnn-installed

.PHONY: venv run test test-fast test-cluster lint format clean

venv: $(STAMP)

# torch: a CPU wheel that pip's find-links offer locally is installed first, with no index and no
# dependencies, so the project install below finds torch satisfied and pulls no multi-GB CUDA build.
# Where no local wheel exists this step is a no-op and pip resolves torch from the index as usual.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --no-index --no-deps torch 2>/dev/null || true
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: venv
	@mkdir -p runs/example
	$(VENV)/bin/seqrnn predict --model protein-ss data/examples/proteins.fasta -o runs/example/proteins.h5

test: venv
	$(PY) -m pytest -q --durations=15

# The same without the longest end-to-end tests (marked slow): for a quick check while developing.
test-fast: venv
	$(PY) -m pytest -q -m "not slow"

# The SLURM scripts (workflows/slurm) on a real single-node cluster: installs Debian's slurm-wlm and munge
# when missing (needs root and apt), then starts private daemons for the session (tests/cluster/conftest.py).
# Not part of `make test`.
test-cluster: venv
	bash tests/cluster/setup_slurm.sh || echo "make test-cluster: SLURM could not be installed; the cluster tests will say so"
	$(PY) -m pytest -q --durations=0 tests/cluster

lint: venv
	$(VENV)/bin/ruff check seqrnn tests
	$(VENV)/bin/ruff format --check seqrnn tests

format: venv
	$(VENV)/bin/ruff format seqrnn tests
	$(VENV)/bin/ruff check --fix seqrnn tests

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache *.egg-info
