"""End to end: the chapter 1 annotator in JupyterLab, clicked in a real (headless) browser; labels checked on disk."""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import nbformat
import pytest

from rlhf_lib import data
from rlhf_lib.config import REPO_ROOT

from .lab import CHROMIUM_ARGS, chromium_path, jupyter_lab, run_cell

NOTEBOOK = "notebooks/01_preference_data.ipynb"
SCREENSHOT = REPO_ROOT / "docs" / "img" / "annotator.png"

playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (make setup installs it)")
pytestmark = pytest.mark.skipif(chromium_path() is None,
                                reason="no Chromium on this machine: `apt-get install chromium` to run the browser test")


def tagged_cells(path: Path, tag: str) -> list[int]:
    nb = nbformat.read(path, as_version=4)
    return [i for i, c in enumerate(nb.cells) if tag in c.metadata.get("tags", [])]


def wait_for_lines(path: Path, n: int, timeout: float = 30.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = path.read_text().splitlines() if path.is_file() else []
        if len(lines) >= n:
            return lines
        time.sleep(0.2)
    raise AssertionError(f"expected {n} lines in {path}, found {len(lines)}")


def test_annotator_clicks_are_on_disk(tmp_path):
    start = time.monotonic()
    artifacts = tmp_path / "artifacts"
    log = artifacts / "annotations" / "human-me.jsonl"
    cells = tagged_cells(REPO_ROOT / NOTEBOOK, "annotator")
    assert cells, "the chapter 1 notebook must tag its annotator cell with 'annotator'"
    env = {"RLHF_ARTIFACTS": str(artifacts), "RLHF_PROFILE": "ci", "HF_HUB_OFFLINE": "1"}
    served = tmp_path / "served"  # a copy: JupyterLab's autosave must never write outputs into the repo
    (served / "notebooks").mkdir(parents=True)
    shutil.copy(REPO_ROOT / NOTEBOOK, served / NOTEBOOK)
    with jupyter_lab(served, env, tmp_path / "lab.log") as (base, token), \
            playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        page.goto(f"{base}/lab/tree/{NOTEBOOK}?token={token}")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
        page.get_by_text(re.compile(r"\| Idle")).first.wait_for(timeout=120_000)  # the kernel has started
        for index in cells:
            run_cell(page, index)
        page.get_by_role("button", name="A is better").wait_for(timeout=120_000)
        page.get_by_role("button", name="A is better").click()
        wait_for_lines(log, 1)
        page.get_by_role("button", name="B is better").click()
        wait_for_lines(log, 2)
        page.get_by_role("button", name="Tie").click()
        wait_for_lines(log, 3)
        page.get_by_role("button", name="Undo").click()
        wait_for_lines(log, 4)
        page.get_by_text("2 / 20 labelled").wait_for(timeout=10_000)
        page.get_by_role("button", name="A is better").scroll_into_view_if_needed()
        shot = tmp_path / "annotator.png"
        page.screenshot(path=str(shot))
        browser.close()
    raw = [line for line in log.read_text().splitlines() if line]
    assert len(raw) == 4
    labels = data.read_label_log(log)
    assert [r["label"] for r in labels] == ["A", "B"]  # the tie was undone
    assert all(r["annotator"] == "human:me" for r in labels)
    if os.environ.get("RLHF_UPDATE_SCREENSHOT"):
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, SCREENSHOT)
    print(f"browser test took {time.monotonic() - start:.1f} s")
