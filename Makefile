# Two commands do everything on a fresh machine: `make demo` and `make test`.
# torch is installed first, as pip resolves torch==TORCH_VERSION (PyPI's Linux default is the CUDA build, several
# GB: TORCH_INDEX=https://download.pytorch.org/whl/cpu takes the CPU one), then the package.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TORCH_VERSION ?= 2.13.0
TORCH_INDEX ?=

.PHONY: help demo test test-slow install dist clean

help:  ## this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## /  make \1\t/' | expand -t 20

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q torch==$(TORCH_VERSION) $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)  ## .venv with torch first, then noise2x (editable, with the test extras)

demo: $(STAMP)  ## denoise bundled sample images: a PSNR table and picture grids in demo-output/
	$(VENV)/bin/noise2x demo --out demo-output

test: $(STAMP)  ## the default test suite (under 10 minutes on 2 CPU cores)
	$(PY) -m pytest -q

test-slow: $(STAMP)  ## the long training and benchmark tests
	$(PY) -m pytest -q -m slow

dist: $(STAMP)  ## a wheel and an sdist in dist/ (built from a clean build folder)
	rm -rf build dist
	$(PY) -m pip wheel -q --no-deps -w dist .
	$(PY) -c "from setuptools import build_meta as b; b.build_sdist('dist')"

clean:  ## remove the venv and everything built
	rm -rf $(VENV) demo-output build dist .pytest_cache src/*.egg-info
