import json

from rlhf_lib import report


def test_record_merges_and_writes_a_report(artifacts, tmp_path):
    report.record("00", a=1.5)
    report.record("00", b="x|y", c=float("nan"))
    data = json.loads((artifacts / "figures" / "00.json").read_text())
    assert data["a"] == 1.5 and data["b"] == "x|y" and data["c"] == "nan"
    out = report.write_report(tmp_path / "build" / "REPORT.md", {"00_x.ipynb": (12.0, "ok")}, "ci")
    text = out.read_text()
    assert "| 00_x.ipynb | 12 | ok |" in text and "x\\|y" in text
