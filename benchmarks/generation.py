"""Generation tokens/s: the course's samplers on the LoRA policy against one plain `model.generate` call on the base
model; same prompts, batch, lengths, sampling (temperature T, no top-k/top-p).

- `ours_ppo_sample`: `ppo.sample`, which is `generate` on the peft-wrapped policy (the price of the wrapper);
- `ours_decode` / `ours_decode_fp32`: `decode.Sampler` (LoRA merged into a plain copy, bf16 / fp32 weights,
  finished rows dropped), its `refresh` from the policy included in every timed call, as once per rollout;
- `plain_generate` / `plain_generate_fp32`: `generate` on the plain base model, bf16 / fp32 weights.

The LoRA adapters start at B = 0 so the policy equals the base model. Tokens counted = batch x width of the
output (the work `generate` does: finished rows keep being computed). Each result records the bytes of weights
one decode step reads, for the memory-bandwidth bound of RESULTS.md.
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


def timed_calls(generate, opts: dict) -> dict:
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


def _bytes(model) -> int:
    """Bytes of weights one decode step reads (each parameter once; tied embeddings once)."""
    return sum(p.numel() * p.element_size() for p in model.parameters())


def ours(opts: dict) -> dict:
    from rlhf_lib import models, ppo

    base, tok = load_base(opts)
    params, nbytes = n_params(base), _bytes(base)
    policy = models.with_lora(base, r=opts["lora_r"], top_layers=opts["lora_layers"])
    ids, mask = models.pad_batch(prompt_ids(tok, opts["batch"])[0], tok.pad_token_id, side="left")

    def generate(seed):
        return ppo.sample(policy, ids, mask, opts["max_new_tokens"], opts["temperature"], tok.eos_token_id,
                          tok.pad_token_id, seed, autocast=False)

    return {**timed_calls(generate, opts), "params": params, "bytes_per_step": nbytes}


def _decode(opts: dict, dtype: torch.dtype | None) -> dict:
    from rlhf_lib import decode, models

    base, tok = load_base(opts, torch.float32)  # the policy trains in fp32, as in PPO
    params = n_params(base)
    policy = models.with_lora(base, r=opts["lora_r"], top_layers=opts["lora_layers"])
    ids, mask = models.pad_batch(prompt_ids(tok, opts["batch"])[0], tok.pad_token_id, side="left")
    sampler = decode.Sampler(policy, dtype=dtype)

    def generate(seed):
        sampler.refresh()  # once per rollout in PPO
        return sampler.sample(ids, mask, opts["max_new_tokens"], opts["temperature"], tok.eos_token_id,
                              tok.pad_token_id, seed)[0]

    return {**timed_calls(generate, opts), "params": params, "bytes_per_step": _bytes(sampler.model)}


def ours_decode(opts: dict) -> dict:
    return _decode(opts, None)


def ours_decode_fp32(opts: dict) -> dict:
    return _decode(opts, torch.float32)


def plain_generate(opts: dict, dtype: torch.dtype | None = None) -> dict:
    from rlhf_lib import models

    base, tok = load_base(opts, dtype)
    ids, mask = models.pad_batch(prompt_ids(tok, opts["batch"])[0], tok.pad_token_id, side="left")

    @torch.no_grad()
    def generate(seed):
        torch.manual_seed(seed)
        out = base.generate(input_ids=ids, attention_mask=mask, do_sample=True, temperature=opts["temperature"],
                            top_k=0, top_p=1.0, max_new_tokens=opts["max_new_tokens"],
                            eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
        return out[:, ids.shape[1]:]

    return {**timed_calls(generate, opts), "params": n_params(base), "bytes_per_step": _bytes(base)}


def plain_generate_fp32(opts: dict) -> dict:
    return plain_generate(opts, torch.float32)


CONTESTANTS = {"ours_ppo_sample": ours, "ours_decode": ours_decode, "ours_decode_fp32": ours_decode_fp32,
               "plain_generate": plain_generate, "plain_generate_fp32": plain_generate_fp32}
# (numerator, denominator, metric): a ratio > 1 means the numerator is faster
RATIOS = [("ours_ppo_sample", "plain_generate", "tokens_per_s"), ("ours_decode", "plain_generate", "tokens_per_s"),
          ("ours_decode_fp32", "plain_generate_fp32", "tokens_per_s")]
