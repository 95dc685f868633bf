"""Would a static KV cache and `torch.compile` make the decode loop faster? (issue 19, item 2)

    python -m benchmarks.static_decode            # cpu sizes: chapter 4's batch, budget and temperature, fp32
    python -m benchmarks.static_decode --quick    # a tiny random model (what the unit test runs)

`decode.Sampler` runs transformers' decoder one token at a time on a dynamic cache that grows every step, so no two
steps have the same shapes. `StaticDecoder` preallocates the cache and writes the Llama forward out (RMSNorm, rotary
embeddings, grouped-query attention over the whole cache with a mask, SwiGLU), so every step has the same shapes and
one compiled graph serves them all. Contestants, in one process, on the same prompts and seeds, each timed `repeats`
times after a warm-up call (tokens/s = batch x generated width, the benchmark's usual count):

    sampler          decode.Sampler, the library's loop (finished rows leave the batch)
    generate         model.generate on the plain model
    static           StaticDecoder, eager (every row to the end: a static batch cannot shrink)
    static_compiled  the same step under torch.compile; its compile time is reported apart

Before timing, the static decoder must draw the very tokens `decode.Sampler` draws from the same seed (both without
dropping rows); the largest log-prob difference is recorded. Results: `results/static_decode.json` (not part of
`python -m benchmarks`, whose contestants each get a fresh process: this one compares code paths, on one machine).
"""

from __future__ import annotations

import math
import sys
import time

import torch
from torch.nn import functional as F

from .common import decode_cli
from .generation import timed_calls


class StaticDecoder:
    """A Llama causal LM's forward over a preallocated KV cache: `forward(ids, pos, slots, valid)` -> last hidden."""

    def __init__(self, model, batch: int, max_len: int):
        cfg, decoder = model.config, model.get_decoder()
        self.nh, self.nkv, self.hidden = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.hidden_size
        self.hd, self.eps, self.max_len = cfg.hidden_size // cfg.num_attention_heads, cfg.rms_norm_eps, max_len
        theta = getattr(cfg, "rope_theta", None) or (getattr(cfg, "rope_parameters", None) or {}).get("rope_theta", 1e4)
        inv = 1.0 / theta ** (torch.arange(0, self.hd, 2).float() / self.hd)
        angles = torch.arange(max_len).float()[:, None] * inv  # (max_len, hd/2)
        self.cos, self.sin = torch.cat([angles.cos()] * 2, -1), torch.cat([angles.sin()] * 2, -1)  # (max_len, hd)
        self.layers = []
        for layer in decoder.layers:  # q|k|v and gate|up concatenated: one product each
            a, m = layer.self_attn, layer.mlp
            self.layers.append((layer.input_layernorm.weight, torch.cat([a.q_proj.weight, a.k_proj.weight,
                                                                         a.v_proj.weight]).detach().contiguous(),
                                a.o_proj.weight, layer.post_attention_layernorm.weight,
                                torch.cat([m.gate_proj.weight, m.up_proj.weight]).detach().contiguous(),
                                m.down_proj.weight))
        self.embed, self.norm = decoder.embed_tokens.weight, decoder.norm.weight
        self.head = model.get_output_embeddings().weight  # (V, H)
        shape = (len(self.layers), batch, self.nkv, max_len, self.hd)
        self.k, self.v = torch.zeros(shape), torch.zeros(shape)

    def rms(self, x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * w

    def forward(self, ids, pos, slots, valid):
        """ids, pos (B, S); slots (S,) the cache columns these tokens fill; valid (B, max_len) the columns a row may
        attend to (its real prompt tokens and what it has generated). -> hidden state of the last token (B, H)."""
        B, S = ids.shape
        h = F.embedding(ids, self.embed)  # (B, S, H)
        cos, sin = self.cos[pos][:, None], self.sin[pos][:, None]  # (B, 1, S, hd)
        causal = torch.arange(self.max_len)[None, None, :] <= slots[None, :, None]  # (1, S, max_len)
        # a finite "minus infinity": a left pad's row masks every column, and -inf would make it NaN, then its cache
        bias = torch.where(valid[:, None, :] & causal, 0.0, -1e9)[:, None]  # (B, 1, S, max_len)
        for i, (n1, qkv, o, n2, gate_up, down) in enumerate(self.layers):
            q, k, v = (self.rms(h, n1) @ qkv.T).split([self.nh * self.hd, self.nkv * self.hd, self.nkv * self.hd], -1)
            q, k, v = (x.view(B, S, -1, self.hd).transpose(1, 2) for x in (q, k, v))  # (B, heads, S, hd)
            q, k = (x * cos + torch.cat([-x[..., self.hd // 2:], x[..., :self.hd // 2]], -1) * sin for x in (q, k))
            self.k[i].index_copy_(2, slots, k)
            self.v[i].index_copy_(2, slots, v)
            kk, vv = (c[i].repeat_interleave(self.nh // self.nkv, 1) for c in (self.k, self.v))  # (B, nh, max_len, hd)
            att = (q @ kk.transpose(-1, -2) / math.sqrt(self.hd) + bias).softmax(-1)  # (B, nh, S, max_len)
            h = h + (att @ vv).transpose(1, 2).reshape(B, S, self.hidden) @ o.T
            gate, up = (self.rms(h, n2) @ gate_up.T).chunk(2, -1)
            h = h + (F.silu(gate) * up) @ down.T
        return self.rms(h[:, -1], self.norm)  # (B, H)

    @torch.no_grad()
    def sample(self, step, prompt_ids, prompt_mask, max_new_tokens, temperature, eos_id, pad_id, seed):
        """As `decode.Sampler.sample(..., drop_finished=False)`: (tokens (B, R), log-probs (B, R)); `step` is
        `self.forward` or a compiled copy of it (used for every token after the prompt)."""
        from rlhf_lib import decode, models

        torch.manual_seed(seed)
        B, P = prompt_ids.shape
        self.k.zero_()
        self.v.zero_()
        valid = torch.zeros(B, self.max_len, dtype=torch.bool)
        valid[:, :P] = prompt_mask.bool()
        pos = models.position_ids(prompt_mask)
        last = self.forward(prompt_ids, pos, torch.arange(P), valid)
        pos = pos[:, -1:] + 1  # (B, 1)
        tokens = torch.full((B, max_new_tokens), pad_id)
        logps = torch.zeros(B, max_new_tokens)
        unfinished = torch.ones(B, dtype=torch.bool)
        for t in range(max_new_tokens):
            z = (last @ self.head.T).float() / temperature  # (B, V)
            y = decode.draw(z.softmax(-1))
            lp = z.gather(-1, y[:, None]).squeeze(1) - z.logsumexp(-1)
            y = torch.where(unfinished, y, torch.full_like(y, pad_id))
            tokens[:, t], logps[:, t] = y, torch.where(unfinished, lp, torch.zeros_like(lp))
            unfinished &= y != eos_id
            if not unfinished.any() or t == max_new_tokens - 1:
                break
            valid[:, P + t] = True
            last = step(y[:, None], pos, torch.tensor([P + t]), valid)
            pos = pos + 1
        return tokens[:, :t + 1], logps[:, :t + 1]


def options(quick: bool, profile: str) -> dict:
    from rlhf_lib import config

    if quick:  # no compile: it takes minutes even for a tiny model
        return {"model": "tiny", "batch": 4, "max_new_tokens": 8, "repeats": 2, "temperature": 0.7, "compile": False}
    cfg = config.load(profile)
    return {"model": cfg.model.name, "batch": cfg.ppo.batch_size, "max_new_tokens": cfg.ppo.max_new_tokens,
            "repeats": 3, "temperature": cfg.ppo.temperature, "compile": True}


def run(opts: dict) -> dict:
    from .models_for_bench import fp32_decode_batch

    model, ids, mask, args, sampler, generate = fp32_decode_batch(opts)
    static = StaticDecoder(model, opts["batch"], ids.shape[1] + opts["max_new_tokens"])

    ref, ref_lp = sampler.sample(ids, mask, *args, seed=5, drop_finished=False)
    ours, ours_lp = static.sample(static.forward, ids, mask, *args, seed=5)
    check = {"same_tokens_as_sampler": bool(torch.equal(ref, ours)),
             "max_logp_difference": float((ref_lp - ours_lp).abs().max()) if ref.shape == ours.shape else None}

    out = {"check": check, "contestants": {
        "sampler": timed_calls(lambda seed: sampler.sample(ids, mask, *args, seed=seed)[0], opts),
        "generate": timed_calls(generate, opts),
        "static": timed_calls(lambda seed: static.sample(static.forward, ids, mask, *args, seed=seed)[0], opts)}}
    if opts["compile"]:
        start = time.perf_counter()
        compiled = torch.compile(static.forward, dynamic=False)
        static.sample(compiled, ids, mask, *args, seed=0)  # compiles on the first step
        out["compile_s"] = time.perf_counter() - start
        out["contestants"]["static_compiled"] = timed_calls(
            lambda seed: static.sample(compiled, ids, mask, *args, seed=seed)[0], opts)
    plain = out["contestants"]["generate"]["tokens_per_s"]
    out["ratios"] = {f"{name} / generate": c["tokens_per_s"] / plain for name, c in out["contestants"].items()
                     if name != "generate"}
    return out


def main(argv: list[str] | None = None) -> int:
    return decode_cli("static_decode", __doc__, options, run, argv,
                      lambda r: f"compile + first call: {r.get('compile_s', 0):.1f} s; check: {r['check']}")


if __name__ == "__main__":
    sys.exit(main())
