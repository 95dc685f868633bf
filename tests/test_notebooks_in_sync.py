"""Each committed notebook is built from its source in notebooks/src/ and carries no outputs."""

import importlib.util
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("py2nb", ROOT / "tools" / "py2nb.py")
py2nb = importlib.util.module_from_spec(spec)
spec.loader.exec_module(py2nb)
SOURCES = sorted((ROOT / "notebooks" / "src").glob("*.py"))


def test_every_notebook_has_a_source():
    notebooks = {p.stem for p in (ROOT / "notebooks").glob("*.ipynb")}
    assert notebooks == {p.stem for p in SOURCES}


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.stem)
def test_notebook_matches_its_source_and_has_no_outputs(src):
    built = py2nb.convert(src.read_text())
    committed = nbformat.read(ROOT / "notebooks" / f"{src.stem}.ipynb", as_version=4)
    def cells(nb):
        return [(c.cell_type, c.source, c.metadata.get("tags", [])) for c in nb.cells]

    assert cells(committed) == cells(built), (
        f"notebooks/{src.stem}.ipynb differs from its source: run `make notebooks`"
    )
    for cell in committed.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, "commit notebooks without outputs"
