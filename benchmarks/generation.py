"""Generation tokens/s: the rollout code of `rlhf_lib.ppo` (`ppo.sample` on the LoRA policy, as `ppo.rollout`
calls it) against one plain `model.generate` call on the base model; same prompts, batch, lengths, sampling.

The LoRA adapters start at B = 0, so both draw the same tokens from the same seed and do the same work: the
ratio is the price of the peft wrapper and our sampling code, not of different outputs.
"""

from __future__ import annotations

import time

import torch

from .common import median
from .models_for_bench import load_base, n_params, prompt_ids


def options(quick: bool, profile: str) -> dict:
    from rlhf_lib import config

    if quick:
        return {"model": "tiny", "batch": 4, "max_new_tokens": 8, "repeats": 2, "temperature": 0.7,
                "lora_r": 4, "lora_layers": 2}
    cfg = config.load(profile)
    return {"model": cfg.model.name, "batch": cfg.ppo.batch_size, "max_new_tokens": cfg.ppo.max_new_tokens,
            "repeats": 3, "temperature": cfg.ppo.temperature, "lora_r": cfg.ppo.lora_r,
            "lora_layers": cfg.ppo.lora_layers}


def _time(generate, opts: dict) -> dict:
    """Warm-up once, then `repeats` timed calls; tokens = batch x generated width (the work done)."""
    generate(seed=0)
    seconds, widths = [], []
    for r in range(opts["repeats"]):
        start = time.perf_counter()
        out = generate(seed=r + 1)
        seconds.append(time.perf_counter() - start)
        widths.append(out.shape[1])
    med = median(seconds)
    tokens = opts["batch"] * median(widths)
    return {"seconds": seconds, "median_s": med, "widths": widths, "tokens_per_s": tokens / med}


def ours(opts: dict) -> dict:
    from rlhf_lib import models, ppo

    base, tok = load_base(opts)
    params = n_params(base)
    policy = models.with_lora(base, r=opts["lora_r"], top_layers=opts["lora_layers"])
    ids, mask = models.pad_batch(prompt_ids(tok, opts["batch"])[0], tok.pad_token_id, side="left")

    def generate(seed):
        return ppo.sample(policy, ids, mask, opts["max_new_tokens"], opts["temperature"], tok.eos_token_id,
                          tok.pad_token_id, seed, autocast=False)

    return {**_time(generate, opts), "params": params}


def plain_generate(opts: dict) -> dict:
    from rlhf_lib import models

    base, tok = load_base(opts)
    ids, mask = models.pad_batch(prompt_ids(tok, opts["batch"])[0], tok.pad_token_id, side="left")

    @torch.no_grad()
    def generate(seed):
        torch.manual_seed(seed)
        out = base.generate(input_ids=ids, attention_mask=mask, do_sample=True, temperature=opts["temperature"],
                            top_k=0, top_p=1.0, max_new_tokens=opts["max_new_tokens"],
                            eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
        return out[:, ids.shape[1]:]

    return {**_time(generate, opts), "params": n_params(base)}


CONTESTANTS = {"ours_ppo_sample": ours, "plain_generate": plain_generate}
# (numerator, denominator, metric): a ratio > 1 means the numerator is faster
RATIOS = [("ours_ppo_sample", "plain_generate", "tokens_per_s")]
