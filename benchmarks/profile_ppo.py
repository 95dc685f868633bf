"""Where does a PPO step spend its time? cProfile over a few steps of `ppo.train` at a profile's sizes.

    python -m benchmarks.profile_ppo [--sizes cpu] [--steps 2] [--threads 2] [--top 25] [--sampler decode]

Prints the cumulative time of the rollout's parts (sampling, the frozen trunk, policy and reference passes,
reward model) and of the update, per step, and the top functions by cumulative time.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time

import torch

PARTS = ("sample", "refresh", "trunk_states", "evaluate_actions", "reference_logprobs", "fn", "ppo_update", "generate",
         "rollout", "backward")


def main(argv=None) -> int:
    from rlhf_lib import config, ppo, train_ppo

    from .models_for_bench import load_base, prompt_ids
    from .ppo_vs_trl import _bf16, _reward_fns, options

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--sizes", default="cpu")
    p.add_argument("--steps", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--sampler", default="generate", choices=("generate", "decode"), help="PPOConfig.sampler")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    opts = options(args.quick, args.sizes)
    config.seed_everything(0)
    base, tokenizer = load_base(opts)
    ac = train_ppo.lora_actor_critic(base, opts["lora_r"], opts["lora_layers"])
    ids, prompts = prompt_ids(tokenizer, 10_000)
    reward_fn, _ = _reward_fns(opts, tokenizer)
    run = ppo.PPOConfig(steps=args.steps, batch_size=opts["batch"], minibatch_size=opts["minibatch"],
                        epochs=opts["epochs"], max_new_tokens=opts["max_new_tokens"], temperature=opts["temperature"],
                        lr=opts["lr"], beta=opts["beta"], seed=0, autocast=_bf16(), sampler=args.sampler)
    prof = cProfile.Profile()
    start = time.perf_counter()
    prof.enable()
    ppo.train(ac, ids, prompts, reward_fn, run, tokenizer.eos_token_id, tokenizer.pad_token_id, progress=False)
    prof.disable()
    total = time.perf_counter() - start
    stats = pstats.Stats(prof)
    print(f"{args.steps} steps in {total:.1f} s ({total / args.steps:.1f} s/step), sizes {args.sizes}, sampler "
          f"{args.sampler}: "
          f"batch {run.batch_size}, {run.max_new_tokens} new tokens, {run.epochs} epochs of minibatch {run.minibatch_size}")
    rows = {}
    for (file, _, func), (_, _, _, cum, _) in stats.stats.items():
        if func in PARTS and ("rlhf_lib" in file or func in ("generate", "backward")):
            key = f"{func} ({file.split('/')[-1]})"
            rows[key] = max(rows.get(key, 0), cum)
    for key, cum in sorted(rows.items(), key=lambda kv: -kv[1]):
        print(f"  {cum / args.steps:7.2f} s/step  {cum / total:6.1%}  {key}")
    stats.sort_stats("cumulative").print_stats(args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
