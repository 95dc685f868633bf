"""Run one contestant of one benchmark in this process and write its result as JSON (see `common.run_contestant`).

    python -m benchmarks.worker <benchmark> <contestant> '<options json>' <out.json> [threads]
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

from rlhf_lib.meters import peak_rss_mb


def run(bench: str, name: str, opts: dict, threads: int = 2) -> dict:
    import torch

    torch.set_num_threads(threads)
    module = importlib.import_module(f"benchmarks.{bench}")
    result = module.CONTESTANTS[name](opts)
    result["peak_rss_mb"] = peak_rss_mb()
    return result


if __name__ == "__main__":
    bench, name, opts, out = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), Path(sys.argv[4])
    threads = int(sys.argv[5]) if len(sys.argv) > 5 else 2
    out.write_text(json.dumps(run(bench, name, opts, threads)))
