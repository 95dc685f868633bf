"""Write benchmarks/RESULTS.md from the JSON results (one file per benchmark) and the hand-written notes."""

from __future__ import annotations

import json
from pathlib import Path

NOTES = Path(__file__).parent / "NOTES.md"  # profiling, speed-ups before/after: written by hand
METRICS = {"generation": ("tokens_per_s", "median_s"), "reward_training": ("pairs_per_s", "median_s_per_step"),
           "ppo_vs_trl": ("episodes_per_s", "median_s_per_step")}


def _fmt(x, digits=3):
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:.{digits}g}" if abs(x) < 1000 else f"{x:.0f}"
    return str(x)


def _machine(m: dict) -> str:
    return (f"{m.get('cpu')}, {m.get('cores')} cores, {m.get('ram_gb')} GB RAM"
            f"{', GPU ' + m['gpu'] if m.get('gpu') else ''}; python {m.get('python')}, torch {m.get('torch')}, "
            f"transformers {m.get('transformers')}, trl {m.get('trl')}; {m.get('threads')} torch threads per "
            f"contestant; run {m.get('date')} – {m.get('finished')}, load average {_fmt(m.get('load_avg_1m'))} "
            f"at the start{' (QUICK: tiny random model, plumbing only)' if m.get('quick') else ''}"
            f"{'. Conditions: ' + m['note'] if m.get('note') else ''}")


def _benchmark(r: dict, gflops: float | None) -> list[str]:
    name = r["benchmark"]
    metric, seconds = METRICS[name]
    lines = [f"## {name}", "", f"Machine: {_machine(r['machine'])}.", "",
             f"Options: `{json.dumps(r['options'])}`", "",
             f"| contestant | median s | {metric} | other | peak RSS (MB) | repeats (s) |", "|---|---:|---:|---|---:|---|"]
    for c, v in r["contestants"].items():
        if "error" in v:
            lines.append(f"| {c} | FAILED: {v['error']} | | | | |")
            continue
        other = f"tokens/s {_fmt(v['tokens_per_s'])}" if name == "ppo_vs_trl" and v.get("tokens_per_s") else ""
        reps = v.get("seconds") or v.get("seconds_per_step") or []
        lines.append(f"| {c} | {_fmt(v.get(seconds))} | {_fmt(v.get(metric))} | {other} | "
                     f"{_fmt(v.get('peak_rss_mb'), 4)} | {', '.join(f'{s:.2f}' for s in reps)} |")
    lines.append("")
    for q in r["ratios"]:
        lines.append(f"- **{q['numerator']} / {q['denominator']}** ({q['metric']}): **{_fmt(q['ratio'])}** "
                     "(> 1: the first is faster)")
    rss = {c: v.get("peak_rss_mb") for c, v in r["contestants"].items() if v.get("peak_rss_mb")}
    if len(rss) > 1:
        base = list(rss)[-1]
        for c in list(rss)[:-1]:
            lines.append(f"- peak RSS {c} / {base}: {_fmt(rss[c] / rss[base])}")
    if name == "generation" and gflops:
        params = next((v["params"] for v in r["contestants"].values() if v.get("params")), None)
        if params:
            bound = gflops * 1e9 / (2 * params)
            best = max(v.get("tokens_per_s") or 0 for v in r["contestants"].values())
            lines.append(f"- FLOP bound at the measured fp32 matmul rate ({gflops:.0f} GFLOP/s, 2 FLOPs per parameter "
                         f"per token, {params / 1e6:.0f} M parameters): {bound:.0f} tokens/s; the best contestant "
                         f"reaches {best / bound:.1%} of it")
    return lines + [""]


def _matmul(r: dict) -> list[str]:
    v = r["contestants"].get("fp32_matmul", {})
    if "gflops" not in v:
        return ["## matmul", "", "failed", ""]
    bf16 = r["contestants"].get("bf16_matmul", {}).get("gflops", {})  # absent from older result files
    rows = [f"| {shape} | {g:.1f} | {bf16[shape]:.1f} |" if shape in bf16 else f"| {shape} | {g:.1f} | |"
            for shape, g in v["gflops"].items()]
    return ["## matmul: the FLOP ceiling", "", f"Machine: {_machine(r['machine'])}.", "",
            "| m x k x n | fp32 GFLOP/s | bf16 GFLOP/s |", "|---|---:|---:|", *rows, ""]


def _notebooks(r: dict) -> list[str]:
    lines = ["## notebooks: wall time per chapter", "", f"Machine: {_machine(r['machine'])}.", "",
             "| profile / notebook | started | seconds | status | budget (s) | time / budget | kernel peak RSS (MB) |",
             "|---|---|---:|---|---:|---:|---:|"]
    for key, v in r["contestants"].items():
        if "error" in v:
            lines.append(f"| {key} | | | FAILED: {v['error']} | | | |")
            continue
        lines.append(f"| {key} | {v['started']} | {v['seconds']:.0f} | {v['status'][:60]} | {v['budget_s']} | "
                     f"{v['over_budget_ratio']:.2f} | {v['kernel_peak_rss_mb']:.0f} |")
    return lines + [""]


def write_results(results_dir: Path, report: Path) -> Path:
    runs = {}
    for path in sorted(results_dir.glob("*.json")):
        r = json.loads(path.read_text())
        if "contestants" in r:  # older files of another format are left out
            runs[r["benchmark"]] = r
    gflops = None
    if "matmul" in runs:
        g = runs["matmul"]["contestants"].get("fp32_matmul", {}).get("gflops", {})
        small = [v for k, v in g.items() if not k.startswith("2048")]
        gflops = max(small) if small else None  # the rate at our models' shapes, not the large-square peak
    lines = ["# Benchmark results", "",
             "Written by `python -m benchmarks` (see README.md). Every ratio compares contestants measured one after "
             "the other in the same run on the same machine; each figure is a median over repeats (or steps) after "
             "a warm-up. Do not compare figures across sections run at different times or loads.", ""]
    for name in ("matmul", "generation", "reward_training", "ppo_vs_trl"):
        if name in runs:
            lines += _matmul(runs[name]) if name == "matmul" else _benchmark(runs[name], gflops)
    if "notebooks" in runs:
        lines += _notebooks(runs["notebooks"])
    if NOTES.is_file():
        lines += [NOTES.read_text()]
    report.write_text("\n".join(lines) + "\n")
    return report
