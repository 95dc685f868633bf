"""Build a notebook from a percent-format script (the authoring format of this course's chapters).

    python tools/py2nb.py notebooks_src/01_preference_data.py notebooks/01_preference_data.ipynb

`# %%` starts a code cell, `# %% [markdown]` a markdown cell whose lines start with `# `;
`# %% tags=["a", "b"]` gives the cell those tags (the browser test finds the annotator cells by tag).
Notebooks are committed without outputs; `python -m rlhf_lib.course` produces executed copies.
"""

import json
import re
import sys
from pathlib import Path

import nbformat


def convert(text: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    kind, lines, tags = None, [], []

    def flush():
        body = "\n".join(lines).strip("\n")
        if kind == "markdown":
            body = "\n".join(line[2:] if line.startswith("# ") else line.lstrip("#") for line in body.splitlines())
            nb.cells.append(nbformat.v4.new_markdown_cell(body))
        elif kind == "code" and body.strip():
            nb.cells.append(nbformat.v4.new_code_cell(body))
        else:
            return
        if tags:
            nb.cells[-1].metadata["tags"] = tags

    for line in text.splitlines():
        if line.startswith("# %%"):
            flush()
            kind, lines = ("markdown" if "[markdown]" in line else "code"), []
            found = re.search(r"tags=(\[.*\])", line)
            tags = json.loads(found.group(1)) if found else []
        else:
            lines.append(line)
    flush()
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:03d}"
    return nb


if __name__ == "__main__":
    src, dst = Path(sys.argv[1]), Path(sys.argv[2])
    nbformat.write(convert(src.read_text()), dst)
    print(f"wrote {dst} ({len(nbformat.read(dst, as_version=4).cells)} cells)")
