"""Reference runs: a cpu-profile chapter's figures, committed with the machine, printed next to the learner's."""

import json

import pytest

from rlhf_lib import report


def test_freeze_and_compare_with_a_reference_run(artifacts, tmp_path, monkeypatch):
    monkeypatch.setenv("RLHF_PROFILE", "cpu")
    report.record("04", win={"value": 0.62, "lo": 0.55, "hi": 0.70}, kl=7.5)
    path = report.freeze_reference("04", note="2 free cores", seconds=1200, out_dir=tmp_path / "ref")
    saved = json.loads(path.read_text())
    assert saved["profile"] == "cpu" and saved["notebook_seconds"] == 1200 and saved["machine"]["cores"]
    text = report.vs_reference("04", {"win": {"value": 0.58, "lo": 0.5, "hi": 0.66}, "kl": 6.0, "new": 1},
                               ref_dir=tmp_path / "ref")
    assert "2 free cores" in text.splitlines()[0]
    assert "win: your run 0.58 [0.5, 0.66] — reference run 0.62 [0.55, 0.7]" in text
    assert "kl: your run 6 — reference run 7.5" in text
    assert "new: your run 1 — not in the reference run" in text
    only_k = report.vs_reference("04", {"kl": 6.0, "win": 0.5}, ref_dir=tmp_path / "ref", prefix="k")
    assert "kl: your run 6" in only_k and "win" not in only_k  # one notebook's share of a chapter's figures


def test_only_a_cpu_run_becomes_a_reference_and_a_missing_one_says_so(artifacts, tmp_path, monkeypatch):
    monkeypatch.setenv("RLHF_PROFILE", "ci")
    report.record("04", kl=1.0)
    with pytest.raises(ValueError, match="profile 'ci'"):
        report.freeze_reference("04", out_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match="run chapter 09 first"):
        report.freeze_reference("09", out_dir=tmp_path)
    assert "no reference run of chapter 04" in report.vs_reference("04", {"kl": 1.0}, ref_dir=tmp_path / "none")

