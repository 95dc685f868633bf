"""Run the benchmark suite and write `benchmarks/results/*.json` and `benchmarks/RESULTS.md`.

    python -m benchmarks                          # everything: micro-benchmarks (cpu sizes) + ci notebooks
    python -m benchmarks --quick                  # a smoke test on a tiny random model (no notebooks)
    python -m benchmarks --only generation reward_training
    python -m benchmarks --only notebooks --profile ci cpu --notebooks 00 04
    python -m benchmarks --note "2 cores shared with 3 notebook runs"

Each comparison runs its contestants one after the other in fresh processes (same machine, same minutes) and is
reported as a ratio of medians; see benchmarks/README.md for what each one measures.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from pathlib import Path

from .common import RESULTS, machine, refresh_recorded, run_contestant
from .report import write_results

BENCHMARKS = ("matmul", "generation", "reward_training", "reward_bf16", "ppo_vs_trl", "notebooks")


def run_benchmark(name: str, args) -> dict:
    module = importlib.import_module(f"benchmarks.{name}")
    opts = module.options(args.quick, args.sizes)
    contestants = {}
    for contestant in module.CONTESTANTS:
        print(f"== {name}: {contestant}", flush=True)
        start = time.perf_counter()
        contestants[contestant] = run_contestant(name, contestant, opts, args.in_process, args.threads)
        contestants[contestant]["wall_s"] = time.perf_counter() - start
    ratios = []
    for num, den, metric in module.RATIOS:
        a, b = contestants[num].get(metric), contestants[den].get(metric)
        ratios.append({"numerator": num, "denominator": den, "metric": metric,
                       "ratio": a / b if a and b else None})
    return {"benchmark": name, "options": opts, "contestants": contestants, "ratios": ratios}


def run_notebooks(args) -> dict:
    from .notebooks import list_notebooks

    runs = {}
    for profile in args.profile:
        for path in list_notebooks(args.notebooks):
            print(f"== notebooks [{profile}]: {path.name}", flush=True)
            opts = {"path": str(path), "profile": profile, "timeout": args.timeout}
            runs[f"{profile}/{path.name}"] = run_contestant("notebooks", "run", opts, args.in_process, args.threads)
    return {"benchmark": "notebooks", "options": {"profiles": args.profile}, "contestants": runs, "ratios": []}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", choices=BENCHMARKS, default=None)
    parser.add_argument("--quick", action="store_true", help="tiny random model, a few steps: checks the plumbing")
    parser.add_argument("--profile", nargs="*", default=["ci"], help="notebook profile(s) to time (ci, cpu)")
    parser.add_argument("--notebooks", nargs="*", default=None, help="notebook name prefixes, e.g. 00 04")
    parser.add_argument("--sizes", default="cpu", help="profile whose table sizes the micro-benchmarks use")
    parser.add_argument("--threads", type=int, default=2, help="torch threads per contestant")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per notebook cell")
    parser.add_argument("--in-process", action="store_true", help="no fresh process per contestant (tests)")
    parser.add_argument("--out", default=str(RESULTS), help="folder of the JSON results")
    parser.add_argument("--report", default=str(Path(__file__).parent / "RESULTS.md"))
    parser.add_argument("--note", default="", help="conditions to state in RESULTS.md (e.g. contention)")
    args = parser.parse_args(argv)
    names = args.only or [b for b in BENCHMARKS if not (args.quick and b == "notebooks")]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    header = {**machine(), "threads": args.threads, "quick": args.quick, "note": args.note}
    failed = False
    for name in names:
        result = run_notebooks(args) if name == "notebooks" else run_benchmark(name, args)
        result["machine"] = {**header, "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
        failed |= any("error" in c for c in result["contestants"].values())
        (out / f"{name}.json").write_text(json.dumps(result, indent=1))
        refresh_recorded(out / f"{name}.json")  # notebooks.json: the run times chapters print
        write_results(out, Path(args.report))  # after each benchmark, so an interrupted run keeps its results
        for r in result["ratios"]:
            print(f"   {r['numerator']} / {r['denominator']} ({r['metric']}): "
                  f"{r['ratio']:.2f}" if r["ratio"] else f"   {r} (missing)", flush=True)
    print(f"results: {out}/, report: {args.report}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
