# The order service. `make install` once, then `make run` or `make test`.
PY ?= .venv/bin/python

.PHONY: help install install-run run test test-unit test-integration test-apache test-tansu test-docker test-deploy soak bench lint lock produce clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

install:  ## .venv with everything, from uv.lock (uv is fetched into .cache if not on the PATH)
	@sh tools/install.sh

install-run:  ## .venv with what make run needs: the runtime and the embedded servers
	@sh tools/install.sh --inexact --no-default-groups --group local

run: install-run  ## run the whole system (embedded servers unless KAFKA_URI / MONGO_URI are set); PROCESSES=2 WORKERS=2 BROKER=tansu
	$(PY) -m devkit.run --processes $(or $(PROCESSES),1) --workers $(or $(WORKERS),1) $(if $(BROKER),--broker $(BROKER))

produce: install-run  ## produce sample payments while make run runs: make produce N=1000
	$(PY) -m ops.produce --count $(or $(N),10) --wait

test: install  ## unit tests, then the integration tests on Apache Kafka and on Tansu
	$(PY) -m pytest -m "not integration" -q
	$(PY) -m pytest -m integration -q --broker=apache
	$(PY) -m pytest -m "integration and not apache_only" -q --broker=tansu

test-unit: install  ## the pure core and the flow, no servers
	$(PY) -m pytest -m "not integration" -q

test-apache: install  ## integration tests on Apache Kafka (locked jars from Maven Central, the JDK of a wheel) and SecantusDB; ARGS=tests/...
	$(PY) -m pytest -m integration -q --broker=apache $(ARGS)

test-tansu: install  ## integration tests on Tansu and SecantusDB; ARGS=tests/...
	$(PY) -m pytest -m "integration and not apache_only" -q --broker=tansu $(ARGS)

test-docker: install  ## integration tests on Kafka and MongoDB in containers (needs a Docker engine)
	$(PY) -m pytest -m integration -q --broker=docker

test-deploy: install  ## make install / make run on fresh Debian containers (podman, debootstrap; about 5 min)
	$(PY) -m pytest tests/deploy --deploy -q -s

soak: install  ## the Jepsen-style money test, long: SECONDS=600 CLIENTS=8 BROKER=apache (or tansu)
	SOAK_SECONDS=$(or $(SECONDS),600) SOAK_CLIENTS=$(or $(CLIENTS),8) $(PY) -m pytest -m integration -q -s \
		--broker=$(or $(BROKER),apache) tests/integration/test_money_under_faults.py

bench: install  ## benchmarks into bench/results/ (BENCH_QUICK=1: about 18 minutes)
	$(PY) -m bench

lint: install  ## ruff, and mypy as pyproject.toml sets it (strict on shared/; plain `mypy` in an editor says the same)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

lock:  ## re-lock after changing the dependencies in pyproject.toml (writes uv.lock and requirements.txt)
	@sh tools/install.sh --lock

clean:  ## remove local data and caches (not the venv)
	rm -rf .data .pytest_cache .ruff_cache .mypy_cache .hypothesis
