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



# ============================================================================================ executed notebooks
def _wav(rate: int, seconds: float = 0.5) -> bytes:
    import io
    import wave

    import numpy as np

    t = np.arange(int(rate * seconds)) / rate
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((8000 * np.sin(2 * np.pi * 440 * t)).astype("<i2").tobytes())
    return out.getvalue()


def _executed_notebook(path, source="print(1)", png: bytes | None = None, wav: bytes | None = None):
    import base64

    import nbformat

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(source)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    if png:
        cell.outputs.append(nbformat.v4.new_output("display_data", data={"image/png": base64.b64encode(png).decode()}))
    if wav:
        html = f'<audio controls><source src="data:audio/wav;base64,{base64.b64encode(wav).decode()}" type="audio/wav" /></audio>'
        cell.outputs.append(nbformat.v4.new_output("display_data", data={"text/html": html, "text/plain": "<Audio>"}))
    nb.cells = [nbformat.v4.new_markdown_cell("# A toy chapter"), cell]
    nbformat.write(nb, path)


def _plot_png() -> bytes:
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(8, 5))
    for k in range(6):
        ax.plot(np.cumsum(np.random.default_rng(k).normal(size=400)), label=f"run {k}")
    ax.legend()
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=120)
    plt.close(fig)
    return out.getvalue()


@pytest.fixture
def folders(artifacts, tmp_path, monkeypatch):
    """(committed notebooks, executed notebooks, reference runs) folders of a cpu-profile run, all temporary."""
    monkeypatch.setenv("RLHF_PROFILE", "cpu")
    notebooks, executed, ref = tmp_path / "notebooks", tmp_path / "build", tmp_path / "ref"
    notebooks.mkdir()
    executed.mkdir()
    monkeypatch.setattr(report, "NOTEBOOKS", notebooks)
    return notebooks, executed, ref


def test_a_reference_run_keeps_each_executed_notebook_light_with_machine_and_source_hash(folders):
    import base64
    import io

    import nbformat
    import numpy as np

    notebooks, executed, ref = folders
    _executed_notebook(notebooks / "07_toy.ipynb")  # the committed notebook: no outputs
    png, wav = _plot_png(), _wav(22_050)
    _executed_notebook(executed / "07_toy.ipynb", png=png, wav=wav)
    report.record("07", win={"value": 0.6, "lo": 0.5, "hi": 0.7})
    report.freeze_reference("07", note="2 free cores", seconds=12, out_dir=ref, notebooks={"07_toy.ipynb": 12},
                            executed=executed)
    saved = json.loads((ref / "07.json").read_text())
    frozen = nbformat.read(ref / "07_toy.ipynb", as_version=4)
    meta = frozen.metadata["rlhf_reference_run"]
    assert meta["profile"] == "cpu" and meta["machine"]["date"] and meta["note"] == "2 free cores"
    assert meta["seconds"] == 12 and meta["source_sha256"] == saved["sources"]["07_toy.ipynb"]
    assert meta["source_sha256"] == report.source_hash(notebooks / "07_toy.ipynb")  # outputs do not count
    outputs = frozen.cells[1].outputs
    assert outputs[0]["text"] == "1\n"  # text kept as it was
    new_png = base64.b64decode(outputs[1]["data"]["image/png"])
    assert len(new_png) < len(png) and new_png[:4] == b"\x89PNG"
    html = outputs[2]["data"]["text/html"]
    audio = base64.b64decode(html.split("base64,")[1].split('"')[0])
    assert 'type="audio/mpeg"' in html and html.count("data:audio/mpeg;base64,") == 1  # every browser plays MP3
    assert len(audio) < len(wav) / 5
    import soundfile

    heard, rate = soundfile.read(io.BytesIO(audio))
    assert rate == report.AUDIO_RATE and abs(len(heard) / rate - 0.5) < 0.1  # the same half second (plus padding)
    assert abs(np.abs(heard).max() - 8000 / 32768) < 0.05  # at the same loudness
    assert (ref / "07_toy.ipynb").stat().st_size < report.NOTEBOOK_BUDGET_BYTES


def test_without_an_mp3_encoder_the_audio_stays_a_wav_at_the_lower_rate(monkeypatch):
    import base64
    import builtins
    import io
    import wave

    real_import = builtins.__import__

    def no_soundfile(name, *args, **kwargs):
        if name == "soundfile":
            raise ImportError("soundfile is not installed")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_soundfile)
    html = f'<audio><source src="data:audio/wav;base64,{base64.b64encode(_wav(22_050)).decode()}" type="audio/wav" /></audio>'
    out = report._AUDIO.sub(report._lighter_audio, html)
    assert 'type="audio/wav"' in out
    with wave.open(io.BytesIO(base64.b64decode(out.split("base64,")[1].split('"')[0]))) as w:
        assert w.getframerate() == report.AUDIO_RATE and abs(w.getnframes() / w.getframerate() - 0.5) < 0.01


def test_a_reference_run_goes_stale_when_its_source_changes_and_the_chapter_says_so(folders):
    import nbformat

    notebooks, executed, ref = folders
    for name in ("07_toy", "08_other"):
        _executed_notebook(notebooks / f"{name}.ipynb")
        _executed_notebook(executed / f"{name}.ipynb")
    report.record("07", kl=1.0)
    report.freeze_reference("07", seconds=3, out_dir=ref, notebooks={"07_toy.ipynb": 3}, executed=executed)
    assert report.staleness("07", ref) is None
    assert set(report.stale(ref)) == {"08_other"} and "no reference run" in report.stale(ref)["08_other"]
    assert "STALE" not in report.vs_reference("07", {"kl": 1.0}, ref_dir=ref)
    assert "reference_runs/07_toy.ipynb" in report.vs_reference("07", {"kl": 1.0}, ref_dir=ref)

    nb = nbformat.read(notebooks / "07_toy.ipynb", as_version=4)  # outputs alone change nothing
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="2\n")]
    nbformat.write(nb, notebooks / "07_toy.ipynb")
    assert report.staleness("07", ref) is None
    nb.cells[1].source = "print(2)"  # the source does
    nbformat.write(nb, notebooks / "07_toy.ipynb")
    assert "source has changed" in report.staleness("07", ref)
    text = report.vs_reference("07", {"kl": 1.0}, ref_dir=ref)
    assert "STALE" in text and "--only 07 --freeze-reference" in text and "kl: your run 1" in text

    legacy = json.loads((ref / "07.json").read_text())  # a run frozen before hashes were kept
    del legacy["sources"]
    (ref / "07.json").write_text(json.dumps(legacy))
    assert "before reference runs kept" in report.staleness("07", ref)


# ============================================================================================ the committed runs
def test_the_committed_reference_notebooks_are_light_complete_and_linked_from_the_readme():
    import nbformat

    readme = (report.REPO_ROOT / "README.md").read_text()
    notebooks = sorted(report.REFERENCE_DIR.glob("*.ipynb"))
    for path in notebooks:
        assert path.stat().st_size < report.NOTEBOOK_BUDGET_BYTES, f"{path.name}: {path.stat().st_size} bytes"
        meta = nbformat.read(path, as_version=4).metadata["rlhf_reference_run"]
        assert meta["profile"] == "cpu" and meta["machine"]["cpu"] and meta["machine"]["date"]
        run = report.load_reference(report.number(path))
        assert run["sources"][path.name] == meta["source_sha256"], f"{path.name}: not the run its figures came from"
        assert (report.NOTEBOOKS / path.name).is_file(), f"{path.name}: no such notebook in notebooks/"
        assert f"](reference_runs/{path.name})" in readme, f"the README's chapter table does not link {path.name}"
    for chapter_json in report.REFERENCE_DIR.glob("*.json"):  # every hashed notebook has its executed copy
        for name in json.loads(chapter_json.read_text()).get("sources", {}):
            assert (report.REFERENCE_DIR / name).is_file(), f"{chapter_json.name} names {name}, not committed"
