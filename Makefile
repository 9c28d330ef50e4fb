# behavemodel: every target sets itself up from pyproject.toml in .venv.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PY_SOURCES := behavemodel tests benchmarks scripts docs/make_images.py datasets/make_samples.py
EXTRAS ?= fast,dev,plot,dask,notebooks,bench

.PHONY: help install demo test lint bench clean

help:
	@echo "make demo   set up .venv and run the demo on the bundled sample data"
	@echo "make test   set up .venv and run the whole test suite (lint, types, tests, doctests, notebooks)"
	@echo "make lint   ruff and mypy only"
	@echo "make bench  run the benchmarks in benchmarks/ (minutes; not part of the tests)"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[$(EXTRAS)]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) -m behavemodel.demo

lint: $(STAMP)
	$(PY) -m ruff check $(PY_SOURCES)
	$(PY) -m ruff format --check $(PY_SOURCES)
	$(PY) -m mypy

test: lint
	$(PY) -m pytest
	$(PY) -m pytest --nbmake notebooks

bench: $(STAMP)
	$(PY) benchmarks/parse_auditd.py
	$(PY) benchmarks/simulate.py
	$(PY) benchmarks/detection.py
	$(PY) benchmarks/score_parquet.py
	$(PY) benchmarks/monitor.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache .mypy_cache
