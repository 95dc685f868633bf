"""What every benchmark shares: the machine's description, peak memory, medians, and running one contestant.

Each contestant (ours, or the library / plain baseline) runs in a FRESH process (`python -m benchmarks.worker`),
so its peak RSS is its own and neither inherits the other's caches or allocator state.
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    """CPU model, cores, RAM, load, and the versions that matter, for the results' header."""
    from rlhf_lib.report import machine as describe

    return describe()


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


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
