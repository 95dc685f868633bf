"""Run the whole course headless: execute every notebook into `build/notebooks/` and write `build/REPORT.md`.

    python -m rlhf_lib.course                 # every chapter, profile from RLHF_PROFILE or the hardware
    python -m rlhf_lib.course --profile ci --only 00 01
    python -m rlhf_lib.course --profile ci --only 05_applications_3     # one notebook of chapter 5 (05: all five)
    python -m rlhf_lib.course --profile ci --only 02b                   # chapter 2's appendix alone (02: both)
    python -m rlhf_lib.course --profile cpu --only 04 --freeze-reference --note "2 free cores"
                                              # a complete cpu run becomes the committed reference run: its
                                              # figures and executed notebooks in reference_runs/
    python -m rlhf_lib.course --profile ci --build build/ci     # elsewhere, so build/ stays as it is
    python -m rlhf_lib.course --stale         # the notebooks whose source changed since their reference run
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

from .config import PROFILES, REPO_ROOT, detect_profile
from .report import freeze_reference, list_notebooks, number, stale, write_report

BUILD = REPO_ROOT / "build"


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
    parser.add_argument("--stale", action="store_true",
                        help="list the notebooks whose reference run is missing or older than their source, run none")
    args = parser.parse_args(argv)
    if args.stale:
        print(stale_report())
        return 0
    try:
        notebooks = select(list_notebooks(), args.only)
    except ValueError as err:
        parser.error(str(err))
    try:
        profile = args.profile or detect_profile()
    except ValueError as err:  # RLHF_PROFILE names no profile
        parser.error(str(err))
    if args.freeze_reference and profile != "cpu":  # refused before hours of running, not after
        parser.error(f"--freeze-reference: reference runs are cpu-profile runs, not {profile!r} (--profile cpu)")
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
        chapters: dict[str, dict[str, tuple[float, str]]] = {}  # chapter 5 is five notebooks, one figures file
        for name, run in timings.items():
            chapters.setdefault(number(name), {})[name] = run
        for chapter, runs in chapters.items():
            if len(runs) < sum(number(p) == chapter for p in list_notebooks()):
                print(f"reference run: chapter {chapter} not frozen: only {len(runs)} of its notebooks ran")
            elif all(status == "ok" for _, status in runs.values()):
                seconds = {name: round(s) for name, (s, _) in runs.items()}
                path = freeze_reference(chapter, note=args.note, seconds=sum(seconds.values()),
                                        notebooks=seconds, executed=build / "notebooks")
                print(f"reference run: {path} and {', '.join(seconds)} beside it")
    print(f"report: {report}")
    return 0 if all(s == "ok" for _, s in timings.values()) else 1


def stale_report() -> str:
    """Printable lines: each notebook whose committed reference run is missing or stale, and why."""
    found = stale()
    if not found:
        return "reference runs: every notebook's reference run matches its source"
    lines = [f"reference runs: {len(found)} of {len(list_notebooks())} notebooks have none that matches their source "
             "(`python -m rlhf_lib.course --profile cpu --only NN --freeze-reference` takes one):"]
    return "\n".join(lines + [f"  {name}: {why}" for name, why in found.items()])


if __name__ == "__main__":
    sys.exit(main())
