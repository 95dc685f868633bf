"""Key figures and plots that the chapters record, and the short course report built from them.

A chapter calls `record("01", kappa=0.41)` and `save_plot(fig, "01_agreement")`; the course
runner (`python -m rlhf_lib.course`) gathers them into `build/REPORT.md`: the key figures of every chapter in
one table with their 95% CIs (KEY_FIGURES), then each chapter's figures and plots. The plots are copied next to
the report (`build/figures/`), so the report is a self-contained page, the one `make book` puts in the book.

A REFERENCE RUN is one complete run of a chapter in the `cpu` profile, committed: its figures in
`reference_runs/<chapter>.json` with the machine and date, and each of its notebooks executed, outputs kept, in
`reference_runs/<notebook>.ipynb` (any git host renders it; `make book` builds the book from them). `python -m
rlhf_lib.course --profile cpu --freeze-reference` writes both. A chapter prints "your run: X [CI] - reference run:
Y [CI]" with `vs_reference`, so a learner sees whether a different number is within the spread or a sign that
something broke. Each reference run keeps the hash of the notebook source it executed: `stale` lists the notebooks
whose source has changed since (`python -m rlhf_lib.course --stale`), and `vs_reference` says so.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import math
import os
import platform
import re
import shutil
import time
import wave
from pathlib import Path

from .config import REPO_ROOT, artifacts_dir

REFERENCE_DIR = REPO_ROOT / "reference_runs"
# recorded figures of headless runs that chapters show (notebook times, chapter 2's levers, the language model's second
# round): copies of the benchmarks' results, refreshed by the benchmark that writes each, so the library never reads
# benchmarks/ (tests/test_layout.py checks)
RECORDED_DIR = REFERENCE_DIR / "recorded"
NOTEBOOKS = REPO_ROOT / "notebooks"
# a chapter's notebooks: "02_reward_model", and its appendix "02b_what_limits_the_reward_model" (a letter after the
# number), which sorts right after it because "_" < "b"
NOTEBOOK_GLOB = "[0-9][0-9]*_*.ipynb"


def list_notebooks(folder: Path | None = None) -> list[Path]:
    """Every chapter notebook in course order: 00, 01, 02, 02b, 03, 03b, 04, 05_applications_1, ..."""
    return sorted(p for p in (folder or NOTEBOOKS).glob(NOTEBOOK_GLOB)
                  if re.fullmatch(r"\d\d[a-z]?", p.stem.split("_")[0]))


def number(path: Path | str) -> str:
    """A notebook's number, the key its figures are recorded under: "02", "02b", "05"."""
    return Path(path).stem.split("_")[0]


def figures_dir() -> Path:
    path = artifacts_dir() / "figures"
    path.mkdir(parents=True, exist_ok=True)
    return path


def record(chapter: str, **figures) -> dict:
    """Merge named figures into `artifacts/figures/<chapter>.json` and return the chapter's figures."""
    path = figures_dir() / f"{chapter}.json"
    current = json.loads(path.read_text()) if path.is_file() else {}
    for key, value in figures.items():
        if isinstance(value, float) and not math.isfinite(value):
            value = str(value)
        current[key] = value
    current["_profile"] = os.environ.get("RLHF_PROFILE") or current.get("_profile")
    current["_updated"] = time.strftime("%Y-%m-%d %H:%M:%S")
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(current, indent=2, default=str))
    tmp.replace(path)
    return current


def save_plot(fig, name: str) -> Path:
    """Save a matplotlib figure as `artifacts/figures/<name>.png` for the report."""
    path = figures_dir() / f"{name}.png"
    fig.savefig(path, dpi=90, bbox_inches="tight")
    return path


def load_figures() -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(figures_dir().glob("*.json"))}


# The headline figures of each chapter, the first table of the report. A name is a key of the chapter's figures;
# "a.*.b" reads b in every entry of the dict a (chapter 6's methods). A figure's CI is the {value, lo, hi} it was
# recorded as, or the "<name>_ci" figure beside it (chapter 3's style); a figure recorded without one shows "—".
KEY_FIGURES = {
    "00": ["minute_win_rate", "minute_kl", "probe_accuracy"],
    "01": ["refusal_harmful_sft", "refusal_lookalike_sft", "annotator_agreement", "fleiss_kappa", "bayes_ceiling",
           "label_gold_agreement"],
    "02": ["test_accuracy", "gold_agreement", "gap_to_ceiling_points", "gate_harmful_refusal_preferred",
           "gate_lookalike_answer_preferred"],
    "02b": ["ensemble_test_accuracy", "gold_as_rm_test_accuracy", "saved_model_test_accuracy"],
    "03": ["test_accuracy", "test_auc", "test_ece"],
    "03b": ["shift_heldout_category_accuracy", "paraphrase_flip_rate", "refine_active_minus_random_accuracy"],
    "04": ["win_vs_reference", "win_vs_reference_ample_budget", "win_vs_brevity_baseline", "refusal_recall_after",
           "kl_to_reference_nats"],  # + length_controlled_vs_reference once chapter 4's reference run records it
    "05": ["chat_win_rate", "images_win_rate", "music_win_rate", "voice_win_rate", "iter_round2_vs_round1"],
    "06": ["methods.*.win_rate", "dpo_implicit_accuracy"],
}
NOT_RECORDED = "not recorded"


def key_figures(chapter: str, figures: dict) -> list[tuple[str, str, str]]:
    """(name, value, 95% CI) of each key figure of `chapter`; a key figure the run did not record says so."""
    rows = []
    for name in KEY_FIGURES.get(chapter, []):
        head, _, rest = name.partition(".*.")
        if rest:  # one row per entry of the dict `head`
            found = [(f"{rest} ({k})", v.get(rest)) for k, v in (figures.get(head) or {}).items()
                     if isinstance(v, dict)]
        else:
            found = [(name, figures.get(name))]
        for label, value in found or [(name, None)]:
            if value is None:
                rows.append((label, NOT_RECORDED, ""))
            elif isinstance(value, dict) and {"value", "lo", "hi"} <= set(value):
                rows.append((label, _fmt(value["value"]), f"[{_fmt(value['lo'])}, {_fmt(value['hi'])}]"))
            else:
                rows.append((label, _fmt(value), _fmt(figures.get(f"{name}_ci", "—"))))
    return rows


def write_report(out: Path, timings: dict[str, float] | None = None, profile: str = "",
                 recorded: dict[str, dict] | None = None, intro: list[str] | None = None) -> Path:
    """A short Markdown report: the key figures of every chapter with their CIs, notebook run times, each chapter's
    figures, and its plots (copied to `figures/` beside the report). `recorded` (chapter -> figures) replaces this
    run's figures, and then no plot is copied; `intro` lines go under the title."""
    from_run = recorded is None
    recorded = load_figures() if from_run else recorded
    lines = ["# RLHF course: run report", "", *(intro or [f"Profile: `{profile}`, written {time.strftime('%Y-%m-%d %H:%M')}."]), ""]
    lines += ["## Key figures", "", "| chapter | figure | value | 95% CI |", "|---|---|---:|---|"]
    for chapter in KEY_FIGURES:
        for name, value, ci in key_figures(chapter, recorded.get(chapter, {})):
            lines.append(f"| {chapter} | {_fmt(name)} | {value} | {ci} |")
    lines.append("")
    if timings:
        lines += ["## Notebook run times", "", "| notebook | seconds | status |", "|---|---:|---|"]
        for name, (seconds, status) in timings.items():
            lines.append(f"| {name} | {seconds:.0f} | {status} |")
        lines.append("")
    plots = out.parent / "figures"
    if from_run:
        plots.mkdir(parents=True, exist_ok=True)
    for chapter, figures in recorded.items():
        lines += [f"## Chapter {chapter}", "", "| figure | value |", "|---|---|"]
        lines += [f"| {k} | {_fmt(v)} |" for k, v in figures.items() if not k.startswith("_")]
        lines.append("")
        for png in sorted(figures_dir().glob(f"{chapter}_*.png")) if from_run else ():
            shutil.copy(png, plots / png.name)
            lines.append(f"![{png.stem}](figures/{png.name})")
        lines.append("")
    out.write_text("\n".join(lines))
    return out


def reference_report(out: Path, ref_dir: Path | None = None) -> Path:
    """The course report of the committed reference runs (the book's report page): which run each chapter's
    figures come from, whether it is stale, then `write_report`'s tables of their figures (the plots are in the
    executed notebooks)."""
    ref_dir = ref_dir or REFERENCE_DIR
    runs = {p.stem: json.loads(p.read_text()) for p in sorted(ref_dir.glob("*.json"))}
    stale_now = stale(ref_dir)
    intro = ["The figures of the committed **reference runs**: each chapter run once in the `cpu` profile, on the "
             "machine named below; read the executed notebooks for the plots and samples.", "",
             "| chapter | taken | machine | seconds | notebooks stale or without an executed copy |", "|---|---|---|---:|---|"]
    for chapter, run in runs.items():
        m = run.get("machine", {})
        behind = [n for n in stale_now if number(n) == chapter]
        intro.append(f"| {chapter} | {m.get('date', 'undated')} | {_fmt(m.get('cpu', '?'))}, {m.get('cores', '?')} cores "
                     f"| {run.get('notebook_seconds', '—')} | {', '.join(behind) or 'none'} |")
    return write_report(out, recorded={c: r["figures"] for c, r in runs.items()}, intro=intro)


def _fmt(value) -> str:
    if isinstance(value, dict) and {"value", "lo", "hi"} <= set(value):  # a figure with its 95% CI
        return f"{value['value']:.3g} [{value['lo']:.3g}, {value['hi']:.3g}]"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


# ============================================================================================ reference runs
def machine() -> dict:
    """CPU model, cores, RAM, GPU, load and the versions that matter: the header of results and reference runs."""
    import torch
    import transformers
    import trl

    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("model name")]
        cpu = names[0] if names else cpu
    ram_gb = None
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():
        ram_gb = round(int(meminfo.read_text().split()[1]) / 2**20, 1)
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_gb": ram_gb,
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "load_avg_1m": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
            "python": platform.python_version(), "torch": torch.__version__,
            "transformers": transformers.__version__, "trl": trl.__version__,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def notebook_path(notebook: str, folder: Path | None = None) -> Path | None:
    """The notebook `notebook` names ("04", "05_applications_3", "03_validation_metrics") in `folder`, or None:
    the one whose stem is it or starts with it and "_" (the name `python -m rlhf_lib.course --only` takes)."""
    hits = [p for p in list_notebooks(folder) if p.stem == notebook or p.stem.startswith(notebook + "_")]
    return hits[0] if len(hits) == 1 else None


def source_hash(path: Path) -> str:
    """sha256 of a notebook's source as committed: each cell's type and text, never its outputs or metadata, so
    an executed copy and the committed notebook it ran from hash alike."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    text = json.dumps([[c.cell_type, c.source] for c in nb.cells], ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def freeze_reference(chapter: str, note: str = "", seconds: float | None = None, out_dir: Path | None = None,
                     notebooks: dict[str, float] | None = None, executed: Path | None = None) -> Path:
    """Write this run's figures of `chapter` as its reference run (only a complete `cpu`-profile run qualifies).

    `seconds` is the whole chapter's run time; `notebooks` the time of each of its notebooks by file name (chapter 5
    is five notebooks that record into one figures file), which `run_times` prints for each notebook. With
    `executed` (the folder of the executed notebooks), each of them is written beside the figures as well
    (`freeze_notebook`), and the figures keep the hash of each notebook's source (`sources`)."""
    path = figures_dir() / f"{chapter}.json"
    if not path.is_file():
        raise FileNotFoundError(f"freeze_reference: {path} does not exist; run chapter {chapter} first")
    figures = json.loads(path.read_text())
    if figures.get("_profile") != "cpu":
        raise ValueError(f"freeze_reference: {path} was written in profile {figures.get('_profile')!r}; "
                         "reference runs are cpu-profile runs")
    out_dir = out_dir or REFERENCE_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    here = machine()
    sources = {}
    for name, time_s in (notebooks or {}).items() if executed else ():
        meta = {"chapter": chapter, "profile": "cpu", "machine": here, "note": note, "seconds": time_s}
        sources[name] = freeze_notebook(executed / name, out_dir / name, meta)
    out = out_dir / f"{chapter}.json"
    out.write_text(json.dumps({"chapter": chapter, "profile": "cpu", "machine": here, "note": note,
                               "notebook_seconds": seconds, **({"notebooks": notebooks} if notebooks else {}),
                               **({"sources": sources} if sources else {}),
                               "figures": figures}, indent=2, default=str) + "\n")
    return out


# The size an executed reference notebook is kept under, so the folder stays light to clone and render online.
NOTEBOOK_BUDGET_BYTES = 2 * 2**20
PNG_KEEP_BYTES = 24_000  # a plot below this is left as it is
AUDIO_RATE = 16_000  # Hz: speech and the course's melodies lose nothing a listener needs at this rate
_AUDIO = re.compile(r"data:audio/(?:x-)?wav;base64,([A-Za-z0-9+/=\s]+)(\"\s*type=\"audio/(?:x-)?wav)?")


def freeze_notebook(executed: Path, out: Path, meta: dict) -> str:
    """Copy an executed notebook to `out` with its outputs made light (`shrink_outputs`) and `meta` plus the hash
    of its source in the notebook's metadata (`rlhf_reference_run`); return that hash."""
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    committed = NOTEBOOKS / executed.name
    digest = source_hash(committed if committed.is_file() else executed)
    shrink_outputs(nb)
    nb.metadata["rlhf_reference_run"] = {**meta, "source_sha256": digest}
    nbformat.write(nb, out)
    return digest


def shrink_outputs(nb) -> None:
    """Make a notebook's outputs light in place: each plot re-encoded as a palette PNG where that is smaller (a
    matplotlib figure has few colours), each embedded WAV player re-encoded as MP3 at `AUDIO_RATE` mono (every
    browser plays it; about an eighth of the WAV's bytes in chapter 5's players), or as a 16-bit WAV at that rate
    where no MP3 encoder is installed."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "image/png" in data:
                data["image/png"] = _lighter_png(data["image/png"])
            if isinstance(data.get("text/html"), str) and "data:audio" in data["text/html"]:
                data["text/html"] = _AUDIO.sub(_lighter_audio, data["text/html"])


def _lighter_png(b64: str) -> str:
    raw = base64.b64decode(b64)
    if len(raw) < PNG_KEEP_BYTES:
        return b64
    from PIL import Image

    image = Image.open(io.BytesIO(raw))
    palette = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    out = io.BytesIO()
    palette.save(out, format="PNG", optimize=True)
    return base64.b64encode(out.getvalue()).decode() if out.tell() < len(raw) else b64


def _lighter_audio(match: re.Match) -> str:
    """One `data:audio/wav` URI (and the `type` attribute after it, if any) of an audio player, re-encoded."""
    import numpy as np

    raw = base64.b64decode("".join(match.group(1).split()))
    with wave.open(io.BytesIO(raw)) as w:
        rate, channels, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
        frames = w.readframes(w.getnframes())
    if width != 2:  # not 16-bit PCM: left as it is
        return match.group(0)
    x = np.frombuffer(frames, dtype="<i2").reshape(-1, channels).mean(axis=1) / 32768.0
    if rate > AUDIO_RATE:
        from scipy.signal import resample_poly

        g = math.gcd(AUDIO_RATE, rate)
        x, rate = resample_poly(x, AUDIO_RATE // g, rate // g), AUDIO_RATE
    x = np.clip(x, -1.0, 1.0)
    out, mime = io.BytesIO(), "audio/mpeg"
    try:
        import soundfile

        soundfile.write(out, x, rate, format="MP3")
    except (ImportError, TypeError, RuntimeError):  # no soundfile, or a libsndfile without MP3: a plain WAV
        out, mime = io.BytesIO(), "audio/wav"
        with wave.open(out, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(rate)
            w.writeframes(np.round(x * 32767).astype("<i2").tobytes())
    uri = f"data:{mime};base64," + base64.b64encode(out.getvalue()).decode()
    return uri + (f'" type="{mime}' if match.group(2) else "")


def load_reference(chapter: str, ref_dir: Path | None = None) -> dict | None:
    """The committed reference run of `chapter`, or None when there is none yet."""
    path = (ref_dir or REFERENCE_DIR) / f"{chapter}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def staleness(notebook: str, ref_dir: Path | None = None, notebooks_dir: Path | None = None) -> str | None:
    """Why the reference run of `notebook` ("04", "05_applications_3") no longer stands for its source, or None
    when it does: no reference run, one taken before sources were hashed, no executed notebook, or a source that
    has changed since."""
    ref_dir = ref_dir or REFERENCE_DIR
    path = notebook_path(notebook, notebooks_dir)
    if path is None:
        return f"no notebook {notebook!r} in {notebooks_dir or NOTEBOOKS}"
    chapter = number(path)
    ref = load_reference(chapter, ref_dir)
    if ref is None:
        return f"no reference run (reference_runs/{chapter}.json)"
    recorded = ref.get("sources", {}).get(path.name)
    if recorded is None:
        return f"taken {ref['machine'].get('date', 'undated')}, before reference runs kept their notebook's source hash"
    if not (ref_dir / path.name).is_file():
        return f"no executed notebook (reference_runs/{path.name})"
    if recorded != source_hash(path):
        return f"its source has changed since the reference run of {ref['machine'].get('date', 'undated')}"
    return None


def stale(ref_dir: Path | None = None, notebooks_dir: Path | None = None) -> dict[str, str]:
    """{notebook stem: why} for every notebook whose reference run is missing or stale (`staleness`)."""
    found = {}
    for path in list_notebooks(notebooks_dir):
        why = staleness(path.stem, ref_dir, notebooks_dir)
        if why:
            found[path.stem] = why
    return found


def vs_reference(chapter: str, figures: dict, keys: list[str] | None = None, ref_dir: Path | None = None,
                 prefix: str = "") -> str:
    """Lines "name: your run X [CI] - reference run Y [CI]" for this run's figures (`keys`, else those whose name
    starts with `prefix`: one notebook's share of a chapter's figures); a figure the reference lacks says so.

    `chapter` is a notebook's number or name prefix ("04", "05_applications_3"); the figures are its chapter's
    ("05"). The head line names the reference notebook to read, and says when that run is stale."""
    figures_of = number(chapter)
    ref = load_reference(figures_of, ref_dir)
    if ref is None:
        return f"(no reference run of chapter {figures_of} committed yet: reference_runs/{figures_of}.json)"
    m = ref["machine"]
    path = notebook_path(chapter)
    head = (f"reference run: cpu profile, {m.get('date')}, {m.get('cpu')}, {m.get('cores')} cores"
            + (f" ({ref['note']})" if ref.get("note") else ""))
    if path is not None and ((ref_dir or REFERENCE_DIR) / path.name).is_file():
        head += f"\n  read it executed: reference_runs/{path.name}"
    why = staleness(chapter, ref_dir) if path is not None else None
    if why:
        head += (f"\n  STALE: {why}; its figures may not match this notebook's "
                 f"(`python -m rlhf_lib.course --profile cpu --only {chapter} --freeze-reference` takes it again)")
    keys = keys or [k for k in figures if k.startswith(prefix) and not k.startswith("_")]
    lines = [head] + [f"  {k}: your run {_fmt(figures[k])} — "
                      + (f"reference run {_fmt(ref['figures'][k])}" if k in ref["figures"] else "not in the reference run")
                      for k in keys if k in figures]
    return "\n".join(lines)


# ============================================================================================ run times
NOTEBOOK_BENCH = RECORDED_DIR / "notebooks.json"


def run_times(chapter: str, ref_dir: Path | None = None, bench_file: Path | None = None) -> str:
    """The recorded run time of a chapter's notebook in each profile, from what is committed, as printable lines.

    `chapter` is a notebook's number or name prefix, as `python -m rlhf_lib.course --only` takes it ("04",
    "05_applications_3"). The times come from `reference_runs/recorded/notebooks.json` (`python -m benchmarks --only
    notebooks` writes it: one headless run per profile) and, for the `cpu` profile, from the reference run
    `reference_runs/<chapter>.json` when the benchmark has none. A profile with neither says "not recorded yet".
    Measured on the machine named on each line: a learner's machine will differ, so read them as a scale.
    """
    from .config import COLUMNS

    bench_file = bench_file or NOTEBOOK_BENCH
    bench = json.loads(bench_file.read_text()) if bench_file.is_file() else {}
    bench_machine = bench.get("machine", {})
    found: dict[str, str] = {}
    for key, result in bench.get("contestants", {}).items():
        profile, _, name = key.partition("/")
        stem = name.removesuffix(".ipynb")
        if (stem == chapter or stem.startswith(chapter + "_")) and result.get("status") == "ok" \
                and profile not in found:
            found[profile] = (f"{_duration(result['seconds'])}  ({bench_file.name}: "
                              f"{_where(bench_machine)})")
    ref = load_reference(chapter, ref_dir)
    seconds = ref.get("notebook_seconds") if ref else None
    if ref is None:  # a notebook of chapter 5: its time is one entry of the chapter's reference run
        ref = load_reference(chapter.split("_")[0], ref_dir) or {}
        seconds = next((t for name, t in ref.get("notebooks", {}).items()
                        if name.removesuffix(".ipynb").startswith(chapter)), None)
        if seconds is None and ref.get("notebook_seconds") is not None:  # a run frozen before notebooks were kept
            whole = chapter.split("_")[0]
            found.setdefault("cpu", f"not recorded for this notebook; all of chapter {whole}: "
                             f"{_duration(ref['notebook_seconds'])}  (reference run: {_where(ref.get('machine', {}))})")
    if "cpu" not in found and seconds is not None:
        found["cpu"] = f"{_duration(seconds)}  (reference run: {_where(ref.get('machine', {}))})"
    lines = [f"Recorded run time of notebook {chapter}, by profile (your machine will differ):"]
    lines += [f"  {profile:5s} {found.get(profile, 'not recorded yet')}" for profile in COLUMNS]
    return "\n".join(lines)


LEVERS_FILE = RECORDED_DIR / "reward_levers.json"  # a copy of the benchmark's results/reward_levers.json


def recorded_lever(name: str, yours: str = "", path: Path | None = None) -> str:
    """One reward-model lever of the committed benchmark run (`python -m benchmarks.reward_levers`) as printable
    lines: what it is, its test accuracy and gold agreement with 95% CIs by prompt, its time and machine; `yours`
    is printed beneath it ("your run" next to "recorded run")."""
    path = path or LEVERS_FILE
    if not path.is_file():
        return f"(no recorded run: {path} is missing; `python -m benchmarks.reward_levers` writes it)"
    run = json.loads(path.read_text())
    lever = run["levers"].get(name)
    if lever is None:
        return f"(the recorded run {path.name} has no lever {name!r}: it has {', '.join(run['levers'])})"

    from . import judge

    lines = [f"recorded run ({path.name}, {run['profile']} sizes, {_where(run.get('machine', {}))}): {lever['what']}",
             f"  test accuracy {judge.ci_text(lever['test_accuracy'], pct=False)}, "
             f"gold agreement {judge.ci_text(lever['gold_agreement'], pct=False)}, "
             f"trained in {_duration(lever['seconds'])}"]
    return "\n".join(lines + ([f"  {yours}"] if yours else []))


def _duration(seconds: float) -> str:
    seconds = float(seconds)
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def _where(m: dict) -> str:
    cores = f", {m['cores']} cores" if m.get("cores") else ""
    gpu = f", {m['gpu']}" if m.get("gpu") else ""
    return f"{m.get('cpu', 'unknown machine')}{cores}{gpu}, {m.get('date', 'undated')}"
