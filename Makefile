# The front door. Every target bootstraps .venv from uv.lock first.
PY        := .venv/bin/python
VENV_STAMP := .venv/.bootstrapped
EXAMPLE   := functions/agent_executor/example/xr.yaml
CLAIMS    := $(wildcard claims)

.PHONY: install render test golden bench lint run-function dev-services run-worker clean chaos demo

$(VENV_STAMP): pyproject.toml uv.lock scripts/bootstrap.sh
	./scripts/bootstrap.sh function cli worker dev
	@touch $@

install: $(VENV_STAMP) ## create .venv with the function and dev dependencies

render: $(VENV_STAMP) ## render the example claims: no cluster, no services
	$(PY) -m functions.render render $(EXAMPLE) $(CLAIMS)

demo: $(VENV_STAMP) ## NATS, Redis, PostgreSQL, a fake LLM and a worker; one job submitted and streamed to its result
	$(PY) scripts/demo.py

test: $(VENV_STAMP) ## the whole test suite
	$(PY) -m pytest

golden: $(VENV_STAMP) ## rewrite generated API manifests and golden files; review the diff
	$(PY) scripts/generate_apis.py
	UPDATE_GOLDEN=1 $(PY) -m pytest -q tests/golden

bench: $(VENV_STAMP) ## performance figures against same-run baselines (DESIGN section 9)
	$(PY) -m benchmarks.function_bench
	$(PY) -m benchmarks.render_bench
	$(PY) -m benchmarks.worker_bench
	$(PY) -m benchmarks.stream_bench

chaos: $(VENV_STAMP) ## SIGKILL workers and restart NATS under N jobs [1000]: nothing lost or duplicated; FRESH=1: every worker starts at once on a new database
	$(PY) scripts/chaos.py --jobs $(or $(N),1000) $(if $(FRESH),--fresh-start)

lint: $(VENV_STAMP) ## ruff and mypy
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

run-function: $(VENV_STAMP) ## serve the function insecurely on :9443 for `crossplane render`
	$(PY) -m functions.agent_executor --insecure --debug --address 0.0.0.0:9443

DEV_DIR := .dev

dev-services: $(VENV_STAMP) ## local NATS (JetStream), PostgreSQL and Redis from binaries; env in .dev/env
	$(PY) scripts/dev_services.py $(DEV_DIR)

run-worker: $(VENV_STAMP) ## the worker against `make dev-services`
	set -a && . $(DEV_DIR)/env && set +a && ./scripts/ci/run-migrations.sh && $(PY) -m workers.agent_executor

clean:
	rm -rf .venv .tools .pytest_cache .mypy_cache .ruff_cache
