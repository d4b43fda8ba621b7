# galaxyzoo: `make demo` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
TORCH_VERSION ?= 2.13.0
JOBS   ?= 2

.PHONY: demo test bench gpu-test gpu-check gpu-wheels build setup clean

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

# On the device machine (torch, nvcc and build tools preinstalled, no internet): rebuild with
# the CUDA backend; GPU tests (again with torch's expandable segments, memory the kernels must
# also accept); the throughput table; compute-sanitizer's four tools over a small tour.
# The device image's interpreter is python3 (no `python`); only files with GPU tests are
# collected (others import simplejpeg, which the device image lacks).
GPU_PY ?= python3
GPU_TEST_FILES = $$($(GPU_PY) -c "import sys; sys.path.insert(0, 'benchmarks'); import gpu_check; print(' '.join(gpu_check.gpu_test_files()))")

# The whole first device check in one script and one table (< 8 min): build for the device's
# architecture only, GPU tests, CPU/GPU parity on 1,024 424 px images, host syncs per call,
# graph capture, >2^31-byte offsets, images/s against the bandwidth floor and torchvision,
# GPU ingest against the CPU ingest, compute-sanitizer memcheck/initcheck/synccheck. See
# benchmarks/gpu_check.py. Wheels in .whl/ (`make gpu-wheels` here: simplejpeg, which the
# device image lacks and the CPU ingest compares with) are installed first when carried.
gpu-check:
	@if ls .whl/*.whl >/dev/null 2>&1; then \
		$(GPU_PY) -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/gz-site .whl/*.whl; fi
	PYTHONPATH=/tmp/gz-site$${PYTHONPATH:+:$$PYTHONPATH} $(GPU_PY) benchmarks/gpu_check.py

# Here (registry access): the device image's missing wheels into .whl/ (ignored by git); carry
# .whl with `make gpu-check` (run tool: carry [".whl"]).
SIMPLEJPEG_VERSION ?= 1.9.0
gpu-wheels:
	$(PYTHON) -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
		--platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
		-d .whl simplejpeg==$(SIMPLEJPEG_VERSION)

gpu-test:
	$(GPU_PY) -m pip install --no-build-isolation --no-deps -e .
	$(GPU_PY) -m pytest -q -m gpu $(GPU_TEST_FILES)
	PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True $(GPU_PY) -m pytest -q -m gpu tests/test_ops_cuda.py
	$(GPU_PY) benchmarks/bench_cuda.py
	@san=$$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null); \
	if [ -z "$$san" ]; then echo "compute-sanitizer not found: sanitizer checks skipped"; exit 0; fi; \
	for tool in memcheck racecheck initcheck synccheck; do \
	    echo "compute-sanitizer --tool $$tool"; \
	    $$san --tool $$tool --error-exitcode 1 $(GPU_PY) tests/cuda_sanitize.py || exit 1; \
	done

clean:
	rm -rf build $(VENV) *.egg-info
