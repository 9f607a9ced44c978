# The order service. `make install` once, then `make run` or `make test`.
PY ?= .venv/bin/python
VENV_STAMP := .venv/.installed

.PHONY: help install run test test-unit test-integration test-apache test-tansu test-docker bench lint produce clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(VENV_STAMP): requirements.txt requirements-dev.txt
	python3 -m venv .venv
	.venv/bin/pip install -q --upgrade pip
	.venv/bin/pip install -q -r requirements-dev.txt
	touch $@

install: $(VENV_STAMP)  ## make .venv and install everything

run: install  ## run the whole system (embedded servers unless KAFKA_URI / MONGO_URI are set); PROCESSES=2 WORKERS=2
	$(PY) -m ops.run --processes $(or $(PROCESSES),1) --workers $(or $(WORKERS),1)

produce: install  ## produce sample payments while make run runs: make produce N=1000
	$(PY) -m ops.produce --count $(or $(N),10) --wait

test: install  ## unit tests, then the integration tests on Apache Kafka and on Tansu
	$(PY) -m pytest -m "not integration" -q
	$(PY) -m pytest -m integration -q --broker=apache
	$(PY) -m pytest -m "integration and not apache_only" -q --broker=tansu

test-unit: install  ## the pure core and the flow, no servers
	$(PY) -m pytest -m "not integration" -q

test-apache: install  ## integration tests on Apache Kafka (jars from Maven Central) and SecantusDB
	$(PY) -m pytest -m integration -q --broker=apache

test-tansu: install  ## integration tests on Tansu and SecantusDB
	$(PY) -m pytest -m "integration and not apache_only" -q --broker=tansu

test-docker: install  ## integration tests on Kafka and MongoDB in containers (needs a Docker engine)
	$(PY) -m pytest -m integration -q --broker=docker

bench: install  ## benchmarks into bench/results/ (BENCH_QUICK=1: about 8 minutes)
	$(PY) -m bench

lint: install  ## ruff
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

clean:  ## remove local data and caches (not the venv)
	rm -rf .data .pytest_cache .ruff_cache .hypothesis
