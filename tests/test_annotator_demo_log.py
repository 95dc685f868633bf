"""Chapter 1's simulated clicks never land in the learner's own label log (issue 20, item 8).

The chapter drives its annotator widgets from code to show how they work: three clicks and an undo, and one
simulated ranking. Those clicks must go to a demo log of their own; `human-me.jsonl` and
`human-me-rankings.jsonl` hold only what the learner clicked. This test runs the chapter's own cells of
section 7, from the annotator cell to the end of the ranking demo, with the artifacts folder on a temporary
path and a few stand-in responses (the model is not needed), and checks that the learner's logs stay empty.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from rlhf_lib import annotate, config, data

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "notebooks" / "src" / "01_preference_data.py"
spec = importlib.util.spec_from_file_location("py2nb", ROOT / "tools" / "py2nb.py")
py2nb = importlib.util.module_from_spec(spec)
spec.loader.exec_module(py2nb)


def section_7_code() -> list[str]:
    """The code cells from the one tagged "annotator" up to the markdown of section 8."""
    cells = py2nb.convert(SOURCE.read_text()).cells
    start = next(i for i, c in enumerate(cells) if "annotator" in c.metadata.get("tags", []))
    end = next(i for i, c in enumerate(cells) if c.cell_type == "markdown" and "## 8." in c.source)
    code = [c.source for c in cells[start:end] if c.cell_type == "code"]
    assert any(".choose(" in c for c in code) and any(".submit(" in c for c in code), "the demo cells moved"
    return code


def test_simulated_clicks_stay_out_of_the_learners_log(tmp_path, monkeypatch):
    monkeypatch.setenv("RLHF_ARTIFACTS", str(tmp_path / "artifacts"))
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))  # the demo's temporary folder, cleaned with tmp_path
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr("tempfile.tempdir", None)
    prompts = data.load_prompts()[:5]
    namespace = {
        "annotate": annotate,
        "cfg": config.load("ci"),
        "by_id": {p["id"]: p for p in prompts},
        "responses": {p["id"]: [{"text": f"Answer {k} to {p['id']}."} for k in range(3)] for p in prompts},
    }
    for code in section_7_code():
        exec(compile(code, str(SOURCE), "exec"), namespace)  # noqa: S102 - the chapter's own cells

    mine = tmp_path / "artifacts" / "annotations"
    for name in ("human-me.jsonl", "human-me-rankings.jsonl"):
        assert data.read_label_log(mine / name) == [], f"the chapter's demo wrote simulated labels to {name}"
    demo = [r for p in Path(namespace["demo_dir"]).glob("*.jsonl") for r in data.read_label_log(p)]
    assert {r["label"] for r in demo} == {"A", "B", "ranking"}  # the demo did click: the tie was undone
    assert all(r["annotator"] == "sim:demo" for r in demo)
