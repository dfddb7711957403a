# partnersim — the two commands a newcomer needs:
#   make demo   run the main job (England, default theory, baseline vs policies)
#   make test   run the test suite
# Both create or refresh the virtual environment in .venv first.

VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-all bench lint venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml scripts/find-python scripts/install-solara-assets
	@PY=$$(scripts/find-python) || exit 1; \
	if [ ! -x $(BIN)/python ] || ! $(BIN)/python -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)'; then \
	  echo "creating $(VENV) with $$PY"; rm -rf $(VENV); "$$PY" -m venv $(VENV) || exit 1; fi
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python scripts/install-solara-assets --quiet
	@touch $(STAMP)

demo: venv
	$(BIN)/partnersim compare scenarios/baseline.toml scenarios/mandated_buddying.toml \
	  scenarios/mandated_mergers.toml scenarios/provider_collaboratives.toml --reps 40 --report

test: venv
	$(BIN)/python -m pytest -m "not slow" -q

test-all: venv
	$(BIN)/python -m pytest -q

bench: venv
	$(BIN)/python benchmarks/bench_model.py

lint: venv
	$(BIN)/ruff check sim analysis tests benchmarks scripts/import_graph.py
	$(BIN)/ruff format --check sim analysis tests benchmarks
	$(BIN)/mypy
	$(BIN)/python scripts/import_graph.py --quiet --no-function-imports

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
