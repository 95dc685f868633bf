"""Each committed notebook is built from its source in notebooks/src/ and carries no outputs."""

import importlib.util
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("py2nb", ROOT / "tools" / "py2nb.py")
py2nb = importlib.util.module_from_spec(spec)
spec.loader.exec_module(py2nb)
SRC = ROOT / "notebooks" / "src"
SOURCES = sorted([*SRC.glob("*.py"), *SRC.glob("solutions/*.py")])  # the chapters, and the exercises' solutions


def notebook_of(src: Path) -> Path:
    """notebooks/src/X.py -> notebooks/X.ipynb; notebooks/src/solutions/X.py -> notebooks/solutions/X.ipynb."""
    return ROOT / "notebooks" / src.relative_to(SRC).with_suffix(".ipynb")


def test_every_notebook_has_a_source():
    notebooks = {*(ROOT / "notebooks").glob("*.ipynb"), *(ROOT / "notebooks" / "solutions").glob("*.ipynb")}
    assert notebooks == {notebook_of(p) for p in SOURCES}


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.stem)
def test_notebook_matches_its_source_and_has_no_outputs(src):
    built = py2nb.convert(src.read_text())
    committed = nbformat.read(notebook_of(src), as_version=4)
    def cells(nb):
        return [(c.cell_type, c.source, c.metadata.get("tags", [])) for c in nb.cells]

    assert cells(committed) == cells(built), (
        f"{notebook_of(src).relative_to(ROOT)} differs from its source: run `make notebooks`"
    )
    for cell in committed.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, "commit notebooks without outputs"
