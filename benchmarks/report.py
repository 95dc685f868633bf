"""Write benchmarks/RESULTS.md from the JSON results (one file per benchmark) and the hand-written notes."""

from __future__ import annotations

import json
from pathlib import Path

from .common import RECORDED, RESULTS

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


def _decode_bounds(r: dict, ceilings: dict, opts: dict) -> list[str]:
    """Each sampler as a fraction of its two bounds: memory (batch x bandwidth / bytes of weights per step) and
    FLOPs (matmul rate of its dtype / 2 FLOPs per parameter per token)."""
    bw, lines = ceilings.get("gb_per_s"), []
    for c, v in r["contestants"].items():
        if not v.get("tokens_per_s") or not v.get("params"):
            continue
        bf16 = v.get("bytes_per_step", 0) < 3 * v["params"]  # 2 bytes a weight
        rate = ceilings.get("bf16_gflops" if bf16 else "fp32_gflops")
        parts = []
        if bw and v.get("bytes_per_step"):
            bound = opts["batch"] * bw * 1e9 / v["bytes_per_step"]
            parts.append(f"{v['tokens_per_s'] / bound:.0%} of the memory bound ({bound:.0f} tokens/s: batch "
                         f"{opts['batch']} x {bw:.1f} GB/s / {v['bytes_per_step'] / 1e6:.0f} MB a step)")
        if rate:
            bound = rate * 1e9 / (2 * v["params"])
            parts.append(f"{v['tokens_per_s'] / bound:.0%} of the FLOP bound ({bound:.0f} tokens/s at "
                         f"{rate:.0f} GFLOP/s {'bf16' if bf16 else 'fp32'})")
        lines.append(f"- {c} ({'bf16' if bf16 else 'fp32'} weights): " + "; ".join(parts))
    return lines


def _benchmark(r: dict, ceilings: dict) -> list[str]:
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
    if name == "generation" and ceilings:
        lines += _decode_bounds(r, ceilings, opts=r["options"])
    return lines + [""]


def _reward_bf16(r: dict) -> list[str]:
    """The reward model in bf16 vs fp32 (`reward_bf16.py`): speed and what it changes in the rewards."""
    v = r["contestants"]["fp32_vs_bf16"]
    if "error" in v:
        return ["## reward_bf16", "", f"FAILED: {v['error']}", ""]
    return ["## reward_bf16: the reward model scored in bf16", "", f"Machine: {_machine(r['machine'])}.", "",
            f"Options: `{json.dumps(r['options'])}`", "",
            "| texts (test split) | s/pass fp32 | s/pass bf16 | speed-up | Spearman | max / mean abs diff (sd) | "
            "pairs flipped | accuracy fp32 / bf16 |", "|---:|---:|---:|---:|---:|---|---:|---|",
            f"| {v['texts']} | {_fmt(v['seconds_fp32'])} | {_fmt(v['seconds_bf16'])} | {_fmt(v['speedup'])} | "
            f"{v['spearman']:.4f} | {v['max_abs_diff_sd']:.3f} / {v['mean_abs_diff_sd']:.4f} | "
            f"{v['pairs_flipped']:.2%} of {v['pairs']} | {v['accuracy_fp32']:.3f} / {v['accuracy_bf16']:.3f} |", ""]


def _one_process(r: dict, name: str) -> str:
    """Where a one-process benchmark (`benchmarks.common.decode_cli`) ran, and with which options."""
    m = r["machine"]
    return (f"`results/{name}.json`, one process ({m.get('cpu')}, {m.get('cores')} cores, torch "
            f"{m.get('torch')}, {m.get('date')}; {m.get('note') or 'conditions not recorded'}). Options: "
            f"`{json.dumps(r['options'])}`.")


def _static_decode(r: dict) -> list[str]:
    """`python -m benchmarks.static_decode`: a static KV cache, eager and compiled, against the sampler and generate."""
    c = r["contestants"]
    lines = ["## static_decode: a static KV cache and torch.compile for the decode loop", "",
             f"{_one_process(r, 'static_decode')} The static decoder draws the sampler's tokens from the same seed: "
             f"{r['check']['same_tokens_as_sampler']} (largest log-prob difference {_fmt(r['check']['max_logp_difference'])}).",
             "", "| contestant | tokens/s | median s | widths |", "|---|---:|---:|---|"]
    lines += [f"| {name} | {_fmt(v['tokens_per_s'])} | {_fmt(v['median_s'])} | {v['widths']} |" for name, v in c.items()]
    if "compile_s" in r:
        lines += ["", f"Compile and first call: {r['compile_s']:.0f} s."]
    return lines + [""] + [f"- **{k}**: **{_fmt(v)}**" for k, v in r["ratios"].items()] + [""]


def _decode_floor(r: dict) -> list[str]:
    """`python -m benchmarks.decode_floor`: the products alone, the most an exact sampler can gain over generate."""
    c = r["contestants"]
    lines = ["## decode_floor: how much faster than generate can an exact sampler be?", "",
             f"{_one_process(r, 'decode_floor')} The floors replay only the linear layers' products of the same batch "
             f"({r['products']['layers']} layers and the head; {r['products']['prompt_rows']} prompt rows, width "
             f"{r['products']['width']}; {r['products']['gflop']:.0f} GFLOP).", "",
             "| contestant | tokens/s | median s | prompt round s | widths |", "|---|---:|---:|---:|---|"]
    lines += [f"| {name} | {_fmt(v['tokens_per_s'])} | {_fmt(v['median_s'])} | {_fmt(v.get('prompt_s', ''))} | "
              f"{v['widths']} |" for name, v in c.items()]
    return lines + [""] + [f"- **{k}**: **{_fmt(v)}**" for k, v in r["ratios"].items()] + [""]


def _matmul(r: dict) -> list[str]:
    v = r["contestants"].get("fp32_matmul", {})
    if "gflops" not in v:
        return ["## matmul", "", "failed", ""]
    bf16 = r["contestants"].get("bf16_matmul", {}).get("gflops", {})  # absent from older result files
    rows = [f"| {shape} | {g:.1f} | {bf16[shape]:.1f} |" if shape in bf16 else f"| {shape} | {g:.1f} | |"
            for shape, g in v["gflops"].items()]
    bw = r["contestants"].get("stream", {}).get("gb_per_s", {})  # absent from older result files
    stream = [f"Memory bandwidth (STREAM-like, {r['contestants']['stream']['threads']} threads): "
              + ", ".join(f"{k} {g:.1f} GB/s" for k, g in bw.items()), ""] if bw else []
    return ["## matmul: the FLOP and memory ceilings", "", f"Machine: {_machine(r['machine'])}.", "",
            "| m x k x n | fp32 GFLOP/s | bf16 GFLOP/s |", "|---|---:|---:|", *rows, "", *stream]


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


def _reward_levers(r: dict) -> list[str]:
    """The table of issue 18's levers (`python -m benchmarks.reward_levers`), then the judges that bound them."""
    from rlhf_lib.judge import ci_text

    lines = ["## reward_levers: what moves the reward model", "",
             f"`results/reward_levers.json`, {r['profile']} sizes. Test split: {r['test_prompts']} prompts, "
             f"{r['pairs']['test']} pairs ({r['test_category_mix']}); Bayes ceiling of the test labels "
             f"{r['bayes_ceiling_test']:.3f}. 95% CIs by prompt; \"− probe\" is the paired difference in test accuracy "
             "to the K=8 probe on the same pairs. Conditions: " + r["machine"].get("note", ""), "",
             "| lever | what it changes | val acc | test acc | gold agreement | − probe (same run) | s | run |",
             "|---|---|---|---|---|---|---:|---|"]
    for name, v in r["levers"].items():
        diff = v.get("test_accuracy_minus_probe")
        lines.append(f"| {name} | {v['what']} | {ci_text(v['val_accuracy'], pct=False)} | "
                     f"{ci_text(v['test_accuracy'], pct=False)} | {ci_text(v['gold_agreement'], pct_bounds=False)} | "
                     f"{ci_text(diff, pct=False) if diff else ''} | {v['seconds']:.0f} | "
                     f"{v.get('run', 'earlier (see conditions)')} |")
    judges = {k: j for k, j in r.get("judges", {}).items() if isinstance(j, dict) and "gold_agreement" in j}
    for name, j in judges.items():
        lines.append(f"| judge: {name.replace('_', ' ')} | | | {ci_text(j['test_accuracy'], pct=False)} | "
                     f"{ci_text(j['gold_agreement'], pct_bounds=False)} | | | |")
    right = r.get("judges", {}).get("base_model_right")
    if right:
        lines += ["", "The base model answers right: " + ", ".join(f"{c} {n}" for c, n in right.items()) + "."]
    rows = {**{k: v["gold_agreement_by_category"] for k, v in r["levers"].items() if "gold_agreement_by_category" in v},
            **{f"judge: {k.replace('_', ' ')}": j["gold_agreement_by_category"] for k, j in judges.items()
               if "gold_agreement_by_category" in j}}
    if rows:
        cats = list(next(iter(rows.values())))
        lines += ["", "Gold agreement by prompt category of the test split (a handful of prompts each: no CIs, read "
                  "only large gaps):", "", "| | " + " | ".join(cats) + " |", "|---|" + "---:|" * len(cats)]
        lines += [f"| {k} | " + " | ".join(f"{100 * v[c]:.0f}%" for c in cats) + " |" for k, v in rows.items()]
    curve = r.get("probe_prompt_curve")
    if curve:
        lines += ["", f"The probe (layer {curve['layer']}, C {curve['C']:g}) on a share of the train prompts "
                  f"({curve['run']}; the mean of seeded draws of whole prompts): "
                  + "; ".join(f"{p['prompts']} prompts: test accuracy {p['test_accuracy']:.3f}, gold agreement "
                              f"{100 * p['gold_agreement']:.1f}%" for p in curve["points"]) + "."]
    return lines + [""]


def _iterate_lm(r: dict) -> list[str]:
    """The language model's second round (`python -m rlhf_lib.iterate --record`), as notebook 5.5 prints it."""
    from rlhf_lib import iterate

    m = r["machine"]
    return ["## iterate_lm: a second round of feedback for the language model", "",
            f"`reference_runs/recorded/iterate_lm.json`, written by `python -m rlhf_lib.iterate --config {r['profile']} --record` on "
            f"{r['date']} ({m['cpu']}, {m['cores']} cores, torch {m['torch']}, transformers {m['transformers']}; "
            f"{r.get('conditions', 'conditions not recorded')}). Gold win rates with 95% CIs by prompt.", "", "```",
            iterate.describe_run(r), "```", ""]


def write_results(results_dir: Path, report: Path) -> Path:
    runs = {}
    for path in sorted(results_dir.glob("*.json")):
        r = json.loads(path.read_text())
        if "contestants" in r or r.get("benchmark") == "reward_levers":  # older files of other formats: left out
            runs[r["benchmark"]] = r
    ceilings = {}
    if "matmul" in runs:
        c = runs["matmul"]["contestants"]
        for dtype in ("fp32", "bf16"):
            g = c.get(f"{dtype}_matmul", {}).get("gflops", {})
            small = [v for k, v in g.items() if not k.startswith("2048")]
            if small:  # the rate at our models' shapes, not the large-square peak
                ceilings[f"{dtype}_gflops"] = max(small)
        if c.get("stream", {}).get("best_gb_per_s"):
            ceilings["gb_per_s"] = c["stream"]["best_gb_per_s"]
    lines = ["# Benchmark results", "",
             "Written by `python -m benchmarks` (see README.md). Every ratio compares contestants measured one after "
             "the other in the same run on the same machine; each figure is a median over repeats (or steps) after "
             "a warm-up. Do not compare figures across sections run at different times or loads.", ""]
    for name in ("matmul", "generation", "reward_training", "reward_bf16", "ppo_vs_trl"):
        if name in runs:
            lines += {"matmul": _matmul, "reward_bf16": _reward_bf16}.get(name, lambda r: _benchmark(r, ceilings))(
                runs[name])
    if "static_decode" in runs:
        lines += _static_decode(runs["static_decode"])
    if "decode_floor" in runs:
        lines += _decode_floor(runs["decode_floor"])
    if "reward_levers" in runs:
        lines += _reward_levers(runs["reward_levers"])
    # python -m rlhf_lib.iterate --record (not a contest) writes its run where the library reads it
    committed = results_dir.resolve() == RESULTS.resolve()
    iterate_lm = (RECORDED if committed else results_dir) / "iterate_lm.json"
    if iterate_lm.is_file():
        lines += _iterate_lm(json.loads(iterate_lm.read_text()))
    if "notebooks" in runs:
        lines += _notebooks(runs["notebooks"])
    if NOTES.is_file():
        lines += [NOTES.read_text()]
    report.write_text("\n".join(lines) + "\n")
    return report
