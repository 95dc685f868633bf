"""Key figures and plots that the chapters record, and the short course report built from them.

A chapter calls `record("01", kappa=0.41)` and `save_plot(fig, "01_agreement")`; the course
runner (`python -m rlhf_lib.course`) gathers them into `build/REPORT.md`.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

from .config import artifacts_dir


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


def write_report(out: Path, timings: dict[str, float] | None = None, profile: str = "") -> Path:
    """A short Markdown report: notebook run times, each chapter's figures, and links to the plots."""
    lines = ["# RLHF course: run report", "", f"Profile: `{profile}`, written {time.strftime('%Y-%m-%d %H:%M')}.", ""]
    if timings:
        lines += ["## Notebook run times", "", "| notebook | seconds | status |", "|---|---:|---|"]
        for name, (seconds, status) in timings.items():
            lines.append(f"| {name} | {seconds:.0f} | {status} |")
        lines.append("")
    for chapter, figures in load_figures().items():
        lines += [f"## Chapter {chapter}", "", "| figure | value |", "|---|---|"]
        lines += [f"| {k} | {_fmt(v)} |" for k, v in figures.items() if not k.startswith("_")]
        lines.append("")
        for png in sorted(figures_dir().glob(f"{chapter}_*.png")):
            rel = os.path.relpath(png, out.parent)
            lines.append(f"![{png.stem}]({rel})")
        lines.append("")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines))
    return out


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).replace("|", "\\|").replace("\n", " ")
