"""Wall time of every chapter notebook in one profile, executed headless like `python -m rlhf_lib.course`.

Each notebook runs in a fresh kernel (nbclient) into `build/bench_notebooks/<profile>/`; the ratio is the wall
time over the profile's budget (ci: 4 minutes per chapter, cpu: 30 minutes), so < 1 is within budget.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

BUDGET_S = {"ci": 240, "cpu": 1800, "gpu": 1800}


def list_notebooks(only: list[str] | None) -> list[Path]:
    from rlhf_lib.report import list_notebooks

    paths = list_notebooks()
    return [p for p in paths if not only or any(p.name.startswith(o) for o in only)]


def run(opts: dict) -> dict:
    from rlhf_lib.course import BUILD, run_notebook
    from rlhf_lib.meters import peak_rss_mb

    os.environ["RLHF_PROFILE"] = opts["profile"]  # the kernel inherits it
    start = time.strftime("%H:%M UTC", time.gmtime())
    seconds, status = run_notebook(Path(opts["path"]), BUILD / "bench_notebooks" / opts["profile"], opts["timeout"])
    # the kernel is this worker's child: its peak RSS is the children's maximum once it has exited
    kernel_rss = peak_rss_mb(children=True)
    return {"seconds": seconds, "status": status, "started": start, "kernel_peak_rss_mb": kernel_rss,
            "budget_s": BUDGET_S[opts["profile"]], "over_budget_ratio": seconds / BUDGET_S[opts["profile"]]}


CONTESTANTS = {"run": run}
RATIOS: list = []
