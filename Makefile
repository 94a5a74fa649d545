# specbias: two commands for a newcomer.
#   make demo  - set up .venv, install, run the headline experiments (quick presets) into out/demo/
#   make test  - set up .venv, install, run the test suite (the heavy paper-effect checks
#                are marked slow: make test-slow runs them)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# empty: every experiment registered with demo=True
DEMO_EXPERIMENTS ?=

.PHONY: demo test test-slow verify lint typecheck ci bench clean venv docs

venv: $(STAMP)

$(STAMP): pyproject.toml constraints/cpu-torch.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# The CPU build of PyTorch, pinned by the constraints file, first and for every later
	# install, so that nothing resolves to a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet -c constraints/cpu-torch.txt torch
	$(BIN)/python -m pip install --quiet -c constraints/cpu-torch.txt -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	MPLBACKEND=Agg $(BIN)/specbias demo --out out/demo $(DEMO_EXPERIMENTS)

test: $(STAMP)
	MPLBACKEND=Agg $(BIN)/python -m pytest -q

# every experiment at its quick preset, every paper claim checked (out/verify/verify.html)
verify: $(STAMP)
	MPLBACKEND=Agg $(BIN)/specbias verify --preset quick --workers 2 --out out/verify

test-slow: $(STAMP)
	MPLBACKEND=Agg $(BIN)/python -m pytest -q -m slow

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

# the CI gate: lint, type check, tests with coverage
ci:
	.ci/run

bench: $(STAMP)
	MPLBACKEND=Agg $(BIN)/python bench/run_all.py

# the documentation site (mkdocs.yml) into site/: the docs extra, then a strict build that
# executes the notebooks and generates the API reference and the experiment table
DOCS_STAMP := $(VENV)/.docs-installed
$(DOCS_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -c constraints/cpu-torch.txt -e ".[docs]"
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

clean:
	rm -rf out .pytest_cache .mypy_cache .coverage build src/*.egg-info
