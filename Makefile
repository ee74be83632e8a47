# regwatch: `make demo` runs the main job on the embedded default; `make test` runs every test.
# Both set up what they need on a fresh Debian machine (run as root for the apt-get step).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# Real components the tests start on loopback (see README "Tests").
TEST_DEBS := docker-registry prometheus skopeo nginx-light prometheus-alertmanager apache2-utils chromium curl
DEMO_DEBS := docker-registry

.PHONY: demo test lint bench regen check-generated venv system-deps demo-deps clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

venv: $(BIN)/.installed

# Install the Debian packages that are missing (apt-get update first: a fresh machine has no lists).
define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
endef

system-deps:
	$(call apt_install,$(TEST_DEBS))

demo-deps:
	-$(call apt_install,$(DEMO_DEBS))

demo: demo-deps venv
	$(BIN)/regwatch demo

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy regwatch

test: system-deps venv lint
	$(BIN)/python -m pytest -q

bench: venv
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# Regenerate everything generated from examples/regwatch.yaml and the golden test files.
regen: venv
	$(BIN)/python -m regwatch.regen
	REGWATCH_REGEN=1 $(BIN)/python -m pytest -q tests/report -k golden

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache *.duckdb
