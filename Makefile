# Two commands on a fresh machine: `make run` (serve on embedded defaults, demo data seeded)
# and `make test` (the whole suite). Both create .venv and install what they need.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test lint format bench bench-evals redis chromium ffmpeg clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[local,dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/chorus serve --seed-demo

# Starts the local Redis server if none answers (the tests use it as the production form).
redis:
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || \
	  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
	    --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log

# Debian's Chromium for the /console browser tests (Playwright's own browsers are not used).
chromium:
	@[ -x /usr/bin/chromium ] || { \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Debian's ffmpeg: POST /api/ai/videos/generate encodes with it and answers 501 without it,
# which the fuzz run (tests/test_api_fuzz.py) rightly counts as a server error.
ffmpeg:
	@command -v ffmpeg >/dev/null 2>&1 || { \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg >/dev/null; }

# After the suite, the eval gate: the test split with the local model against its committed
# baseline; a gated metric worse than the baseline by more than its tolerance fails the target.
test: $(STAMP) redis chromium ffmpeg
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/pytest -q
	$(BIN)/chorus eval --split test --model local --baseline evals/baselines/local.json --out .chorus/evals/ci

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python bench/graphs.py

bench-evals: $(STAMP)
	$(BIN)/python bench/evals.py

clean:
	rm -rf $(VENV) .chorus .pytest_cache .ruff_cache
