"""Run the whole course headless: execute every notebook into `build/notebooks/` and write `build/REPORT.md`.

    python -m rlhf_lib.course                 # every chapter, profile from RLHF_PROFILE or the hardware
    python -m rlhf_lib.course --profile ci --only 00 01
    python -m rlhf_lib.course --profile ci --only 05_applications_3     # one notebook of chapter 5 (05: all five)
    python -m rlhf_lib.course --profile ci --only 02b                   # chapter 2's appendix alone (02: both)
    python -m rlhf_lib.course --profile cpu --only 04 --freeze-reference --note "2 free cores"
                                              # a complete cpu run becomes the committed reference run
    python -m rlhf_lib.course --profile ci --build build/ci     # elsewhere: `make book-test` keeps build/ as it is
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

from .config import PROFILES, REPO_ROOT, detect_profile
from .report import freeze_reference, write_report

NOTEBOOKS = REPO_ROOT / "notebooks"
BUILD = REPO_ROOT / "build"
# a chapter's notebooks: "02_reward_model", and its appendix "02b_what_limits_the_reward_model" (a letter after the
# number), which sorts right after it because "_" < "b"
NOTEBOOK_GLOB = "[0-9][0-9]*_*.ipynb"


def list_notebooks() -> list[Path]:
    """Every chapter notebook in course order: 00, 01, 02, 02b, 03, 03b, 04, 05_applications_1, ..."""
    return sorted(p for p in NOTEBOOKS.glob(NOTEBOOK_GLOB) if re.fullmatch(r"\d\d[a-z]?", p.stem.split("_")[0]))


def number(path: Path | str) -> str:
    """A notebook's number, the key its figures are recorded under: "02", "02b", "05"."""
    return Path(path).stem.split("_")[0]


def select(notebooks: list[Path], only: list[str] | None) -> list[Path]:
    """The notebooks `--only` names, in course order: each value is a notebook's number or name, a prefix of its file
    name up to a "_" ("05" is all of chapter 5, "05_applications_3" its music notebook; ".ipynb" optional). A
    chapter's number also names its appendix ("02" is 02_reward_model and 02b_...; "02b" the appendix alone).
    A value that names no notebook is an error that lists them."""
    if not only:
        return list(notebooks)
    chosen = set()
    for value in only:
        value = value.removesuffix(".ipynb")
        hits = {p for p in notebooks if p.stem == value or p.stem.startswith(value + "_")
                or (re.fullmatch(r"\d\d", value) and re.fullmatch(value + r"[a-z]", number(p)))}
        if not hits:
            raise ValueError(f"--only {value!r} names no notebook; the notebooks are: "
                             f"{', '.join(p.stem for p in notebooks)}")
        chosen |= hits
    return [p for p in notebooks if p in chosen]


def run_notebook(path: Path, out_dir: Path, timeout: int) -> tuple[float, str]:
    """Execute one notebook with nbclient; save the executed copy even when a cell fails."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, DeadKernelError

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    status = "ok"
    try:
        client.execute()
    except CellExecutionError as err:
        status = "FAILED: " + str(err).strip().splitlines()[-1][:200]
    except (DeadKernelError, TimeoutError, RuntimeError) as err:  # a killed kernel must not stop the other chapters
        status = f"FAILED: {type(err).__name__}: {err}"[:200]
    out_dir.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out_dir / path.name)
    return time.perf_counter() - start, status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", choices=PROFILES, default=None)
    parser.add_argument("--only", nargs="*", default=None,
                        help="chapters or notebooks to run, by number or name: 00 02, 05_applications_3")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds allowed per cell")
    parser.add_argument("--freeze-reference", action="store_true",
                        help="write each chapter that ran without error to reference_runs/ (cpu profile only)")
    parser.add_argument("--note", default="", help="what else ran on the machine, for the reference run")
    parser.add_argument("--build", type=Path, default=None,
                        help="where the executed notebooks and REPORT.md go (default: build/)")
    args = parser.parse_args(argv)
    try:
        notebooks = select(list_notebooks(), args.only)
    except ValueError as err:
        parser.error(str(err))
    profile = args.profile or detect_profile()
    os.environ["RLHF_PROFILE"] = profile  # the kernels inherit it
    build = args.build or BUILD
    timings = {}
    for path in notebooks:
        print(f"[{profile}] running {path.name} ...", flush=True)
        seconds, status = run_notebook(path, build / "notebooks", args.timeout)
        timings[path.name] = (seconds, status)
        print(f"    {seconds:7.1f} s  {status}", flush=True)
    report = write_report(build / "REPORT.md", timings, profile)
    if args.freeze_reference:
        if profile != "cpu":
            parser.error("--freeze-reference: reference runs are cpu-profile runs")
        chapters: dict[str, dict[str, tuple[float, str]]] = {}  # chapter 5 is five notebooks, one figures file
        for name, run in timings.items():
            chapters.setdefault(number(name), {})[name] = run
        for chapter, runs in chapters.items():
            if len(runs) < sum(number(p) == chapter for p in list_notebooks()):
                print(f"reference run: chapter {chapter} not frozen: only {len(runs)} of its notebooks ran")
            elif all(status == "ok" for _, status in runs.values()):
                seconds = {name: round(s) for name, (s, _) in runs.items()}
                path = freeze_reference(chapter, note=args.note, seconds=sum(seconds.values()),
                                        notebooks=seconds if len(seconds) > 1 else None)
                print(f"reference run: {path}")
    print(f"report: {report}")
    return 0 if all(s == "ok" for _, s in timings.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
