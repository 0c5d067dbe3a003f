# Two commands matter: `make run` and `make test`. Both set up .venv on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
EXTRAS ?= dev,postgres
# The gateway benchmark's target is stated with PostgreSQL behind it.
BENCH_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
export CARBONLEDGER_BENCH_POSTGRES_URL ?= $(BENCH_POSTGRES_URL)

.PHONY: setup browser run test lint typecheck unit proto bench bench-ingest bench-footprint bench-audit bench-gateway bench-activity test-reliability soak clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[$(EXTRAS)]'
	touch $(STAMP)

# Extra options for the demo: make run ARGS="--http 127.0.0.1:8081 --grpc 127.0.0.1:50052"
run: $(STAMP)
	$(VENV)/bin/carbonledger demo $(ARGS)

test: $(STAMP) browser lint typecheck unit

# The page test's browser: Debian's chromium, installed when missing and allowed (.ci/ensure-chromium).
browser:
	.ci/ensure-chromium

lint: $(STAMP)
	$(VENV)/bin/ruff check ledger graph gateway clients tests bench
	$(VENV)/bin/ruff format --check ledger graph gateway clients tests bench

typecheck: $(STAMP)
	$(VENV)/bin/mypy ledger graph gateway clients
	# the benchmarks import each other as top-level modules, so they are checked on their own
	MYPYPATH=bench $(VENV)/bin/mypy bench

unit: $(STAMP)
	$(PY) -m pytest -m "not reliability" $(PYTEST_ARGS)

# Crash (kill -9 twenty times), abuse, load and fuzz tests; `make soak` kills a hundred times.
# FUZZ_EXAMPLES: examples per operation and kind for the HTTP and gRPC fuzzers.
FUZZ_EXAMPLES ?= 300
test-reliability: $(STAMP)
	CARBONLEDGER_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest tests/reliability $(PYTEST_ARGS)

soak: $(STAMP)
	CARBONLEDGER_CRASH_KILLS=100 $(PY) -m pytest tests/reliability $(PYTEST_ARGS)

# Regenerate the gRPC/protobuf code from proto/ (never edit ledger/_pb by hand).
proto: $(STAMP)
	$(PY) proto/generate.py .

# Every benchmark, with the headlines and machine details collected in bench/results.md.
bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) bench/run_all.py

# Both paths (one entry per message, batched), then the rate per tenth of a realistic
# mix grown to 10^5 entries on SQLite and on PostgreSQL.
bench-ingest: $(STAMP)
	$(PY) bench/ingest.py
	$(PY) bench/ingest_growth.py
	$(PY) bench/ingest_growth.py --db $(BENCH_POSTGRES_URL)

bench-footprint: $(STAMP)
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) bench/footprint.py
	$(PY) bench/cold_start.py

bench-audit: $(STAMP)
	$(PY) bench/audit.py

bench-gateway: $(STAMP)
	$(PY) bench/gateway.py

bench-activity: $(STAMP)
	$(PY) bench/activity.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
