"""The SFT gate (issue 40): how much fine-tuning makes the base model refuse *some* harmful requests?

    python -m benchmarks.sft_gate                     # base, base + safety system prompt, SFT at several epochs
    python -m benchmarks.sft_gate --epochs 0.5 1 2 --samples 4

Every candidate is measured on the VAL prompts only (harmful, look-alike, and the ordinary categories) at the data
sampling settings (temperature 0.9, top-p 0.95): the share of samples that refuse, by category, with a 95% CI by
prompt, and the share that finish within the budget. The chosen setting is the one whose harmful refusal lies
in the gate (10-40%) with the least over-refusal; `rlhf_lib.sft.SFTConfig` then carries it. The test prompts are
not read. Writes results/sft_gate.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import torch

from rlhf_lib import data, models, sft

from .common import RESULTS, machine

ORDINARY = ("factual", "creative", "advice", "summarise")


def measure(model, tokenizer, prompts, args, system=None) -> dict:
    rates = sft.refusal_rates(model, tokenizer, prompts, n=args.samples, max_new_tokens=args.max_new_tokens,
                              system=system, seed=args.seed)
    out = {}
    for cat, row in rates.items():
        out[cat] = {"refused": round(row["refused"], 3), "ci": [round(x, 3) for x in row["ci"]],
                    "finished": round(row["finished"], 3), "prompts": row["prompts"]}
    ordinary = [x for c in ORDINARY for x in rates.get(c, {}).get("per_prompt", [])]
    out["ordinary"] = {"refused": round(float(np.mean(ordinary)), 3), "prompts": len(ordinary)}
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sft_gate")
    parser.add_argument("--epochs", type=float, nargs="+", default=[0.5, 1.0, 2.0])
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--demos", default=None, metavar="FILE",
                        help="another demonstration file (default data/demos.jsonl), e.g. what "
                             "`python data/make_demos.py --contrast --out FILE` writes")
    parser.add_argument("--no-base", action="store_true",
                        help="measure the SFT candidates only (the base rows already in the results file are kept)")
    args = parser.parse_args(argv)
    prompts = data.preference_prompts("val")
    result = {"machine": machine(), "prompts": {c: sum(p["category"] == c for p in prompts)
                                                for c in sorted({p["category"] for p in prompts})},
              "samples": args.samples, "max_new_tokens": args.max_new_tokens, "candidates": {}}
    out = RESULTS / "sft_gate.json"
    if out.is_file():  # candidates measured before (other demonstrations, other epochs) are kept; reruns replace
        result["candidates"] = json.loads(out.read_text())["candidates"]
    model, tokenizer = models.load_model()
    for name, system in () if args.no_base else (("base", None), ("base + safety system prompt", sft.SAFETY_PROMPT)):
        start = time.perf_counter()
        result["candidates"][name] = {**measure(model, tokenizer, prompts, args, system),
                                      "seconds": round(time.perf_counter() - start)}
        print(name, json.dumps(result["candidates"][name]), flush=True)
    demos = sft.load_demos(args.demos)
    for epochs in args.epochs:
        cfg = sft.SFTConfig(epochs=epochs)
        base, _ = models.load_model(dtype=torch.float32)
        start = time.perf_counter()
        merged, losses = sft.train(base, tokenizer, demos, cfg, progress=False)
        train_s = time.perf_counter() - start
        merged.to(models.pick_dtype(models.pick_device()))
        name = f"SFT {epochs:g} epochs, {len(demos)} demonstrations"
        result["candidates"][name] = {**measure(merged, tokenizer, prompts, args), "demos": args.demos or "shipped",
                                      "train_seconds": round(train_s),
                                      "final_loss": round(float(np.mean(losses[-5:])), 3)}
        print(name, json.dumps(result["candidates"][name]), flush=True)
        out.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
