# galaxyzoo: `make demo` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
TORCH_VERSION ?= 2.13.0
JOBS   ?= 2

.PHONY: demo test bench gpu-test build setup clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# Install torch first and pinned: an unpinned `torch` would pull a multi-GB CUDA build.
$(VENV)/.torch: $(VENV)/bin/python
	$(PY) -c "import torch" 2>/dev/null || $(PIP) install -q torch==$(TORCH_VERSION)
	touch $@

$(VENV)/.deps: $(VENV)/.torch pyproject.toml
	$(PIP) install -q scikit-build-core pybind11 ninja
	touch $@

setup: $(VENV)/.deps

# Rebuilds the extension (editable install, fixed build dir so rebuilds are incremental).
build: setup
	$(PIP) install -q --no-build-isolation -e ".[test]"
	$(PIP) install -q --no-build-isolation -e plugins/example_thirdparty

demo: build
	$(VENV)/bin/galaxyzoo demo

test: build
	$(PY) -m pytest -n $(JOBS) -q tests

bench: build
	$(PY) -m pytest benchmarks --benchmark-only --benchmark-columns=min,median,mean,ops -q

# On the device machine (torch, nvcc and build tools preinstalled, no internet).
gpu-test:
	pip install --no-build-isolation --no-deps -e .
	python -m pytest -q -m gpu tests

clean:
	rm -rf build $(VENV) *.egg-info
