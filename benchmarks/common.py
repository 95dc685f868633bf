"""What every benchmark shares: the machine's description, medians, and running one contestant (whose peak
memory is `rlhf_lib.meters.peak_rss_mb`).

Each contestant (ours, or the library / plain baseline) runs in a FRESH process (`python -m benchmarks.worker`),
so its peak RSS is its own and neither inherits the other's caches or allocator state.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
RECORDED = ROOT / "reference_runs" / "recorded"  # the results the library shows: it never reads benchmarks/
SHOWN_BY_THE_LIBRARY = ("notebooks.json", "reward_levers.json")  # (iterate_lm.json: rlhf_lib.iterate writes it there)


def refresh_recorded(path: Path) -> None:
    """Copy a result the library shows (`SHOWN_BY_THE_LIBRARY`) to reference_runs/recorded/ when it was written to
    the committed results folder, so that what chapters print follows the benchmark's latest committed run."""
    path = Path(path)
    if path.name in SHOWN_BY_THE_LIBRARY and path.resolve().parent == RESULTS.resolve():
        RECORDED.mkdir(parents=True, exist_ok=True)
        (RECORDED / path.name).write_bytes(path.read_bytes())


def machine() -> dict:
    """CPU model, cores, RAM, load, and the versions that matter, for the results' header."""
    from rlhf_lib.report import machine as describe

    return describe()


def median(xs) -> float:
    return statistics.median(xs)


def run_contestant(bench: str, name: str, opts: dict, in_process: bool = False, threads: int = 2) -> dict:
    """Run contestant `name` of benchmark module `bench` and return its result dict (with `peak_rss_mb`)."""
    if in_process:  # for the plumbing test: no fresh process, so the RSS is the whole test's
        from .worker import run

        return run(bench, name, opts, threads)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        cmd = [sys.executable, "-m", "benchmarks.worker", bench, name, json.dumps(opts), str(out), str(threads)]
        proc = subprocess.run(cmd, cwd=ROOT, stdout=sys.stdout, stderr=sys.stderr, check=False)
        if proc.returncode or not out.is_file():
            return {"error": f"exit status {proc.returncode}"}
        return json.loads(out.read_text())


def decode_cli(name: str, doc: str, options, run, argv: list[str] | None, summary) -> int:
    """The command line of a one-process decode benchmark (`python -m benchmarks.<name>`): sizes from a profile or
    --quick, torch threads, a note on the conditions; prints each contestant's tokens/s and `summary(result)`, and
    writes `results/<name>.json`."""
    import torch

    p = argparse.ArgumentParser(prog=f"python -m benchmarks.{name}", description=doc.split("\n")[0])
    p.add_argument("--profile", default="cpu")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--note", default="")
    p.add_argument("--out", default=str(RESULTS / f"{name}.json"))
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    opts = options(args.quick, args.profile)
    result = {"benchmark": name, "options": opts, **run(opts),
              "machine": {**machine(), "threads": args.threads, "note": args.note}}
    for contestant, c in result["contestants"].items():
        prompt = f", prompt round {c['prompt_s']:.2f} s" if "prompt_s" in c else ""
        print(f"{contestant:16s} {c['tokens_per_s']:8.1f} tokens/s (median {c['median_s']:.2f} s{prompt}, "
              f"widths {c['widths']})")
    print(summary(result) + "; ratios: " + ", ".join(f"{k} {v:.2f}x" for k, v in result["ratios"].items()))
    Path(args.out).write_text(json.dumps(result, indent=1))
    return 0
