# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run serve-prod loadtest test lint typecheck pytest services browser oidc-provider wrk bench bench-quick bench-clean clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)  ## the example blog at http://127.0.0.1:5000 on SQLite, offline
	$(BIN)/flask --app examples.blog:create_app run --debug --host 127.0.0.1 --port 5000

serve-prod: $(STAMP) services  ## the blog under gunicorn, 4 workers, PostgreSQL + Redis, at http://127.0.0.1:8000
	@test -n "$$BLOG_SECRET_KEY" || echo "BLOG_SECRET_KEY is not set: using a random one (sessions end at restart)"
	export BLOG_SECRET_KEY="$${BLOG_SECRET_KEY:-$$($(BIN)/python -c 'import secrets; print(secrets.token_hex(32))')}" && \
	export BLOG_SITE_URL="$${BLOG_SITE_URL:-http://127.0.0.1:8000}" && \
	$(BIN)/python -c "from examples.blog.wsgi import app_from_environment as f; f()" && \
	$(BIN)/gunicorn --config examples/blog/gunicorn.conf.py 'examples.blog.wsgi:app_from_environment()'

loadtest: $(STAMP) services oidc-provider  ## 200 sign-ins by 50 clients on 4 gunicorn workers, then gthread 1x8
	$(BIN)/python -m tests.load $(LOAD_ARGS)

test: $(STAMP) services browser oidc-provider lint typecheck pytest  ## everything CI checks

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP) services wrk oidc-provider  ## benchmarks vs their baselines: prints a table, writes benchmarks/results/latest.json
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

bench-quick: $(STAMP) services oidc-provider  ## the same with tiny sizes: checks the benchmarks run (also part of make test)
	$(BIN)/python -m benchmarks --quick $(BENCH_ARGS)

bench-clean: $(STAMP)  ## drop the kept benchmark data (SQLite files, PostgreSQL schemas)
	$(BIN)/python -m benchmarks.bench_store

wrk:  ## Debian's wrk for the server benchmark, when root (else a Python load generator is used)
	@bash scripts/ensure-wrk.sh

services:  ## start PostgreSQL and Redis where this machine has them but they are down
	@bash scripts/ensure-services.sh

browser:  ## Debian's Chromium for the browser tests (Playwright cannot download one here)
	@bash scripts/ensure-chromium.sh

oidc-provider:  ## the npm oidc-provider the oidc and google adapters are tested against
	@bash scripts/ensure-oidc-provider.sh

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache
