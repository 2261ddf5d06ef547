# btrmon: `make run` sets up and serves; `make test` sets up and runs every test.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
DB     ?= data/btrmon.duckdb
HOST   ?= 127.0.0.1
PORT   ?= 8050

.PHONY: run test bench venv test-deps system-deps clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements.txt
	touch $@

$(VENV)/.test-installed: $(VENV)/.installed requirements-test.txt
	$(PIP) install --quiet -r requirements-test.txt
	touch $@

venv: $(VENV)/.installed

# Debian's chromium (browser tests, kaleido charts) and poppler-utils (pdftoppm); never a downloaded browser.
system-deps:
	@if [ ! -x /usr/bin/chromium ] || ! command -v pdftoppm >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium poppler-utils >/dev/null; \
	  else echo "install Debian packages chromium and poppler-utils (sudo apt-get install chromium poppler-utils)"; exit 1; fi; \
	fi

run: venv system-deps
	$(PY) -m btrmon init --db $(DB)
	$(PY) -m btrmon serve --db $(DB) --host $(HOST) --port $(PORT)

test: $(VENV)/.test-installed system-deps
	$(PY) -m pytest -q

# Figures, printed as ratios against baselines measured in the same run. The 10M-row
# cases take several minutes each: `make bench BENCH_ROWS=1000000` for a quicker run.
BENCH_ROWS ?= 1000000 10000000
bench: $(VENV)/.test-installed system-deps
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; } || { echo "bench/ingest.py needs wrk (apt-get install wrk)"; exit 1; }
	$(PY) bench/ingest.py
	$(PY) bench/api.py
	$(PY) bench/alerts.py
	for rows in $(BENCH_ROWS); do $(PY) bench/dashboard.py --rows $$rows || exit 1; done
	$(PY) bench/export.py $(foreach rows,$(BENCH_ROWS),--rows $(rows))

clean:
	rm -rf $(VENV) .pytest_cache
