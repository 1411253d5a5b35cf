# rllib-safe developer commands. Every target creates .venv on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: setup demo test test-fast test-browser lint bench bench-omnisafe bench-learning bench-learning-report clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml scripts/setup.sh
	bash scripts/setup.sh $(VENV)

# The main job: a short PCRPO run on a Safety-Gymnasium task, on an embedded local Ray.
demo: setup
	$(VENV)/bin/rllib-safe train --algo pcrpo --env SafetyHopperVelocity-v1 \
		--cost-limit 25 --slack-upper 9 --slack-lower -9 --timesteps 40000 --seed 0 \
		--run-dir runs/demo-pcrpo

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: setup
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

# The HTML report in a real browser (headless Chromium; Debian's package, installed if missing).
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
test-browser: setup
	command -v chromium >/dev/null || \
		($(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)
	$(PY) -m pytest -m browser $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check rllib_safe tests benchmarks

bench: setup
	$(PY) -m benchmarks.env_speed
	$(PY) -m benchmarks.throughput

# OmniSafe beside us at OmniSafe's hyperparameters (builds .venv-omnisafe on first use; ~15 min on 2 cores).
bench-omnisafe: setup
	$(PY) -m benchmarks.compare_omnisafe --tag 2cores

# The learning benchmark (hours on 2 cores; rerun to continue; BENCH_ARGS="--jobs 16" on a bigger machine).
bench-learning: setup
	$(PY) -m benchmarks.learning --suite standard $(BENCH_ARGS)

bench-learning-report: setup
	$(PY) -m benchmarks.learning --suite standard --report

clean:
	rm -rf $(VENV) runs .pytest_cache .hypothesis
