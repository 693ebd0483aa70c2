# qa: `make serve` and `make test` do all set-up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 5000
WORKERS ?=

.PHONY: install browser services test test-fast lint format build-index serve serve-dev clean bench-reliability bench-speed bench-quality train

install: $(STAMP)

# torch first, pinned: an unpinned torch would pull several GB of CUDA packages.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[dev,ray]'
	touch $(STAMP)

# The browser tests drive Debian's Chromium (Playwright's own browser download is not available).
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update -q && apt-get install -y -q chromium; \
		else echo "tests/test_browser.py needs Chromium: sudo apt-get install -y chromium"; fi; \
	fi

# The deployment test (tests/test_deploy.py) starts Debian's nginx and redis-server itself, as the user, on
# free loopback ports; only the binaries are needed (their system services are not used).
services:
	@missing=""; \
	[ -x /usr/sbin/nginx ] || missing="$$missing nginx"; \
	[ -x /usr/bin/redis-server ] || missing="$$missing redis-server"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update -q && apt-get install -y -q --no-install-recommends $$missing; \
		else echo "tests/test_deploy.py needs:$$missing: sudo apt-get install -y$$missing"; fi; \
	fi

test: install browser services
	$(BIN)/python -m pytest -q -p no:cacheprovider

test-fast: install
	$(BIN)/python -m pytest -q -p no:cacheprovider -m "not slow"

lint: install
	$(BIN)/ruff check qa tests bench train
	$(BIN)/ruff format --check qa tests bench train

format: install
	$(BIN)/ruff check --fix qa tests bench train
	$(BIN)/ruff format qa tests bench train

build-index: install
	$(BIN)/qa build

# qa serve builds the index first when there is none, then runs gunicorn (WORKERS unset: one per core).
serve: install
	$(BIN)/qa serve --host $(HOST) --port $(PORT) $(if $(WORKERS),--workers $(WORKERS))

# Werkzeug's development server, restarted when a source file changes.
serve-dev: install
	$(BIN)/qa serve --dev --host $(HOST) --port $(PORT)

# The long reliability checks (docs/RELIABILITY.md): fuzzing, 60 s of load, 20 kill -9 crashes, a 100 MB file.
bench-reliability: install
	$(BIN)/python -m bench.reliability.fuzz
	$(BIN)/python -m bench.reliability.load
	$(BIN)/python -m bench.reliability.crash
	$(BIN)/python -m bench.reliability.hostile

# Speed benchmarks as ratios against bare encoding, measured in one run (docs/PERFORMANCE.md); ARGS="--quick".
bench-speed: install
	$(BIN)/python -m bench.speed $(ARGS)

# Answer-quality benchmarks on the public data in ../shared/bench (docs/QUALITY.md); ARGS="--quick" for a subset.
bench-quality: install
	$(BIN)/python -m bench.quality $(ARGS)

# The shipped answer selector (docs/SELECTOR.md): $(DATA)/train -> models/selector/, fixed seeds; ARGS="--steps 1500".
DATA ?= ../shared
train: install
	$(BIN)/python -m train.cross_recipe --data $(DATA) --out models/selector $(ARGS)

clean:
	rm -rf index .index.* .pytest_cache
