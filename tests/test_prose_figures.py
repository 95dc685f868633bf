"""No measured figure in the prose of the notebooks (issue 16, item 7).

A markdown cell says what to look for in a result and why; the number itself comes from a cell's output,
which is re-computed on every run. A figure quoted in prose goes stale the first time the code, the data or
the profile changes, so this test fails on anything that looks measured in a markdown cell of
notebooks/src/*.py or notebooks/src/solutions/*.py:

* a percentage: `66.5%`, `41 %`;
* a decimal number with a digit on both sides of the point: `0.630`, `8.5 nats`, `-0.152`;
* a timing: `19.8 minutes`, `536 s`, `40 ms`;
* a date, as in a dated run: `2024-05-01`.

LaTeX math (`$...$`, `$$...$$`), inline code and fenced code blocks, link targets and references to a numbered
part of the course ("notebook 5.3", "§5.1", exercise "02.1") are not checked: formulas, code and names are the
content, not a report of a run. Constants that the text itself sets (a setting, a target, a published figure)
are allowed as exact strings in ALLOWED, each with its reason; rewording the prose (or writing the constant as
math, `$\\epsilon = 0.2$`) is preferred to adding to that list.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "notebooks" / "src"
SOURCES = sorted([*SRC.glob("*.py"), *SRC.glob("solutions/*.py")])

# Exact strings of the text that are settings, targets or definitions, not results of a run. Each is blanked out
# of a cell before it is checked, so the same number elsewhere in the cell is still caught.
ALLOWED = {
    "95% bootstrap": "the level of a confidence interval, a setting of chapter 3",
    "95% percentile-bootstrap": "the level of a confidence interval, a setting of exercise 03.4",
    '"the RM is 95% sure"': "a hypothetical reading of a predicted probability (chapter 3)",
    "90% sure": "the question of exercise 02.1 (the probability it asks a margin for)",
    "at least 80% of": "the pass mark of exercise 02.4",
    "momentum 0.9": "an optimiser setting (chapter 2's SGD)",
    "temperature 0.9": "the sampling temperature of the preference data (chapters 1 and 5)",
    "top-p 0.95": "the nucleus threshold of the preference data (chapters 1 and 5)",
    "72.6 ± 1.5%": "a published figure: agreement of InstructGPT's labellers (Ouyang et al. 2022)",
    "InstructGPT 72.6%": "the same published figure",
    "65–77%": "a published range: agreement of human labellers (InstructGPT; Stiennon et al. 2020)",
}

_MATH_BLOCK = re.compile(r"\$\$.*?\$\$", re.S)
_MATH_INLINE = re.compile(r"\$[^$\n]+\$")
_FENCE = re.compile(r"^```.*?^```", re.S | re.M)
_CODE = re.compile(r"`[^`\n]*`")
_LINK_TARGET = re.compile(r"\]\([^)\s]*\)|https?://\S+")
_REFERENCE = re.compile(r"(?:[Cc]hapter|[Nn]otebook|[Ss]tep|§)\s?\d+(?:\.\d+)+")  # "notebook 5.3", "§5.1"

_NUMBER = r"(?<![\w.])[-−+]?\d+(?:[.,]\d+)*"
FIGURE = re.compile(
    "|".join(
        [
            rf"{_NUMBER}\s?%",  # a percentage
            rf"{_NUMBER}\s?(?:ms|s|sec|secs|seconds?|min|mins|minutes?|h|hours?)\b",  # a timing
            r"(?<![\w.])\d{4}-\d{2}-\d{2}\b",  # a date
            # a decimal number; not a version like 2.13.0, nor an exercise number like 02.1 (zero-padded chapter)
            r"(?<![\w.])[-−+]?(?!0\d)\d+\.\d+(?![\w.]*\d)",
        ]
    )
)


def _blank(match: re.Match) -> str:
    """Replace a skipped span by spaces, newlines kept, so that line numbers stay right."""
    return re.sub(r"[^\n]", " ", match.group(0))


def find_figures(markdown: str) -> list[tuple[int, str]]:
    """(line index within `markdown`, matched text) of every measured-looking figure outside math and code."""
    text = markdown
    for skip in (_FENCE, _MATH_BLOCK, _MATH_INLINE, _CODE, _LINK_TARGET, _REFERENCE):
        text = skip.sub(_blank, text)
    for phrase in ALLOWED:
        text = text.replace(phrase, " " * len(phrase))
    found = []
    for i, line in enumerate(text.split("\n")):
        for m in FIGURE.finditer(line):
            found.append((i, m.group(0).strip()))
    return found


def markdown_cells(src: Path) -> list[tuple[int, str]]:
    """(1-based line of the cell's first text line, text) of every markdown cell, with the leading '# ' gone."""
    cells, current, start = [], None, 0
    for n, line in enumerate(src.read_text().splitlines(), start=1):
        if line.startswith("# %%"):
            if current is not None:
                cells.append((start, "\n".join(current)))
            current, start = ([] if "[markdown]" in line else None), n + 1
        elif current is not None:
            current.append(line[2:] if line.startswith("# ") else line.lstrip("#"))
    if current is not None:
        cells.append((start, "\n".join(current)))
    return cells


def violations(src: Path) -> list[str]:
    """'file:line: figure in: the source line' for every measured-looking figure in the markdown of `src`."""
    name = src.relative_to(ROOT) if src.is_relative_to(ROOT) else src
    lines = src.read_text().splitlines()
    out = []
    for start, text in markdown_cells(src):
        for i, figure in find_figures(text):
            line = start + i
            out.append(f"{name}:{line}: {figure!r} in: {lines[line - 1].lstrip('# ').strip()}")
    return out


def test_checker_flags_measured_figures():
    text = "The run reached 66.5% gold win rate\nat 8.5 nats, KL -0.152, in 19.8 minutes (536 s), 41 % done."
    assert [f for _, f in find_figures(text)] == ["66.5%", "8.5", "-0.152", "19.8 minutes", "536 s", "41 %"]
    assert find_figures("a\n\nrun of 2024-05-01") == [(2, "2024-05-01")]
    # an allowed phrase hides only itself: the same number elsewhere is still a figure
    assert find_figures("SGD with momentum 0.9 reached 0.9 of the ceiling") == [(0, "0.9")]


def test_violations_name_file_and_line_of_markdown_only(tmp_path):
    src = tmp_path / "nb.py"
    src.write_text("# %% [markdown]\n# # Title\n#\n# It won 57.4% of the time.\n\n# %%\nx = 0.630  # code\n")
    found = violations(src)
    assert len(found) == 1 and found[0].startswith(f"{src}:4: '57.4%' in: It won 57.4%"), found


def test_checker_passes_math_code_constants_and_plain_prose():
    text = (
        "Clip with $\\epsilon = 0.2$ and momentum 0.9, `lr=1.5e-5` or `0.630`, in notebook 5.3 (exercise 02.1),\n"
        "$$\\beta = 0.05$$ and torch 2.13.0, see [paper](https://arxiv.org/abs/2203.02155).\n"
        "```\nloss 0.25\n```\n"
        "If the interval includes one half, the two policies are not told apart; chapter 3, step 2 of 10."
    )
    assert find_figures(text) == []


def test_every_allowed_phrase_is_used():
    """Keep ALLOWED short: an entry no markdown cell needs any more goes."""
    prose = "\n".join(text for src in SOURCES for _, text in markdown_cells(src))
    assert not [phrase for phrase in ALLOWED if phrase not in prose]


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: str(p.relative_to(SRC)))
def test_no_measured_figure_in_prose(src):
    found = violations(src)
    assert not found, (
        "measured figures in markdown (say what to look for; the number comes from an output):\n"
        + ("\n".join(found))
    )
