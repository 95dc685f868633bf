"""What every benchmark shares: the machine's description, peak memory, medians, and running one contestant.

Each contestant (ours, or the library / plain baseline) runs in a FRESH process (`python -m benchmarks.worker`),
so its peak RSS is its own and neither inherits the other's caches or allocator state.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    """CPU model, cores, RAM, load, and the versions that matter, for the results' header."""
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
