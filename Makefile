# qa: `make serve` and `make test` do all set-up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: install test test-fast lint format build-index serve clean bench-quality

install: $(STAMP)

# torch first, pinned: an unpinned torch would pull several GB of CUDA packages.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

test: install
	$(BIN)/python -m pytest -q -p no:cacheprovider

test-fast: install
	$(BIN)/python -m pytest -q -p no:cacheprovider -m "not slow"

lint: install
	$(BIN)/ruff check qa tests bench
	$(BIN)/ruff format --check qa tests bench

format: install
	$(BIN)/ruff check --fix qa tests bench
	$(BIN)/ruff format qa tests bench

build-index: install
	$(BIN)/qa build

serve: install
	test -f index/manifest.json || $(BIN)/qa build
	$(BIN)/qa serve --host $(HOST) --port $(PORT)

# Answer-quality benchmarks on the public data in ../shared/bench (docs/QUALITY.md); ARGS="--quick" for a subset.
bench-quality: install
	$(BIN)/python -m bench.quality $(ARGS)

clean:
	rm -rf index .index.* .pytest_cache
