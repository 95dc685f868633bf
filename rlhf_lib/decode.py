"""A fast sampler for rollouts: the policy's weights merged and cast once, then a plain decode loop.

Sampling a batch token by token is bound by memory traffic, not arithmetic: every step reads every weight once,
so steps/s <= bandwidth / bytes of weights (benchmarks/README.md measures both). `model.generate` on a LoRA
policy pays more than that: the adapters' extra matmuls on every step, fp32 weights (twice the bytes of bf16),
and per-step bookkeeping for features PPO never uses. So, in reading order:

  1. `merged_weights`  W' = W + (α/r)·B·A for every LoRA layer: the adapters folded into plain weights
  2. `Sampler`         a plain copy of the policy in the sampling dtype (bf16 where the CPU runs it natively),
                       refreshed from the policy before each rollout (`refresh`: only the layers LoRA changes)
  3. `draw`            y ~ p exactly, by inverse-CDF sampling (one uniform per row, not one variate per token)
  4. `Sampler.sample`  prompt once, then one token a step with a KV cache; y_t ~ softmax(z_t / T) with no
                       top-k/top-p (PPO needs the exact distribution), log π(y_t) recorded; finished sequences
                       leave the batch, so the last long answer does not drag 15 finished ones along. Asked
                       (`keep_layer=k`), it also keeps the k lowest layers' output at every position: PPO's
                       frozen trunk, which it then need not compute again (`ppo.sample_and_trunk`).

The tokens come from π as the sampler computes it. In bf16 that differs from the fp32 policy by rounding (the
test bounds the log-prob gap); PPO recomputes log π_old with the policy itself (`ppo.rollout`), so its ratios
start at exactly 1 either way.
"""

from __future__ import annotations

import torch
from torch import nn

from . import models


def lora_layers(policy) -> dict[str, nn.Module]:
    """The peft LoRA layers of `policy`, by the name their base weight has in the plain model."""
    out = {}
    for name, module in policy.named_modules():
        if hasattr(module, "lora_A") and hasattr(module, "base_layer") and len(module.lora_A):
            plain = name.removeprefix("base_model.model.")
            out[plain] = module
    return out


@torch.no_grad()
def merged_weights(policy) -> dict[str, torch.Tensor]:
    """W + (α/r)·B·A of every LoRA layer of `policy` (fp32), by the plain model's parameter name."""
    out = {}
    for name, module in lora_layers(policy).items():
        w = module.base_layer.weight.float().clone()  # (out, in)
        for adapter in module.active_adapters:
            if adapter in module.lora_A and not getattr(module, "disable_adapters", False):
                w += module.get_delta_weight(adapter).float()  # scale · B (out, r) @ A (r, in)
        out[f"{name}.weight"] = w
    return out


def draw(probs: torch.Tensor, how: str = "cdf") -> torch.Tensor:
    """One token per row of `probs` (B, V), exactly from that distribution.

    "cdf": inverse-CDF sampling, u ~ U(0, total) and the first token whose running sum exceeds u (float64 sums, so
    no token gains or loses mass by rounding); about 40x faster than torch.multinomial over SmolLM2's 49,152 tokens
    (measured: 0.4 vs 16 ms for 16 rows), which draws one exponential variate per token.
    "multinomial": torch.multinomial, the draws `generate` makes (the same tokens from the same seed).
    """
    if how == "multinomial":
        return torch.multinomial(probs, 1).squeeze(1)
    if how != "cdf":
        raise ValueError(f"sampling {how!r} is not 'cdf' or 'multinomial'")
    c = probs.double().cumsum(-1)  # (B, V)
    u = torch.rand(probs.shape[0], 1, dtype=torch.float64, device=probs.device) * c[:, -1:]
    return torch.searchsorted(c, u, right=True).squeeze(1).clamp(max=probs.shape[1] - 1)


def base_model(policy):
    """The plain causal LM inside a peft wrapper (or `policy` itself)."""
    return policy.get_base_model() if hasattr(policy, "get_base_model") else policy


class Sampler:
    """A plain, merged copy of `policy` in `dtype` that samples responses; `refresh()` after each policy update."""

    def __init__(self, policy, dtype: torch.dtype | None = None):
        base = base_model(policy)
        device = next(base.parameters()).device
        self.dtype = dtype or models.fast_dtype(device)
        self.policy = policy
        with torch.device("meta"):
            self.model = type(base)(base.config)
        plain = {k.replace(".base_layer", ""): v for k, v in base.state_dict().items() if "lora_" not in k}
        copies = {k: v.to(self.dtype, copy=True) for k, v in plain.items()}  # never the policy's own tensors
        self.model.load_state_dict(copies, strict=False, assign=True)
        self.model.tie_weights()  # tied embeddings: the head is the embedding matrix, one copy
        buffers = dict(base.named_buffers())  # non-persistent buffers (rotary frequencies) are in no state dict
        for name, buf in list(self.model.named_buffers()):
            if buf.is_meta:
                owner, _, leaf = name.rpartition(".")
                self.model.get_submodule(owner).register_buffer(leaf, buffers[name].clone(), persistent=False)
        self.model.to(device).eval().requires_grad_(False)
        self.decoder, self.head = self.model.get_decoder(), self.model.get_output_embeddings()
        self.params = dict(self.model.named_parameters())
        self.states = None  # (B, P+R, H) after sample(keep_layer=k)
        self.refresh()

    @torch.no_grad()
    def refresh(self) -> None:
        """Copy the policy's current weights in: the LoRA-merged ones (the others never change), or every weight of
        a policy trained in full (no adapters, e.g. chapter 5's small models)."""
        merged = merged_weights(self.policy)
        if not merged:
            merged = dict(base_model(self.policy).named_parameters())
        for name, w in merged.items():
            self.params[name].copy_(w)

    def next_logits(self, ids: torch.Tensor, mask: torch.Tensor, pos: torch.Tensor, cache,
                    keep_layer: int | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits of the token after the last position (B, V), and the output of the `keep_layer` lowest layers at
        ids' positions (B, L, H) if asked (else None); the cache grows by ids' width.

        The head runs on a contiguous (B, H) copy of the last states: on a strided (B, 1, H) slice torch would run it
        as a batched matmul that copies the (V, H) head once per row (most of a prompt pass, measured).
        """
        out = self.decoder(input_ids=ids, attention_mask=mask, position_ids=pos, past_key_values=cache,
                           use_cache=True, output_hidden_states=keep_layer is not None)
        kept = None if keep_layer is None else out.hidden_states[keep_layer]  # [0] is the embeddings
        return self.head(out.last_hidden_state[:, -1].contiguous()), kept

    @torch.no_grad()
    def sample(self, prompt_ids: torch.Tensor, prompt_mask: torch.Tensor, max_new_tokens: int, temperature: float,
               eos_id: int, pad_id: int, seed: int, drop_finished: bool = True,
               sampling: str = "cdf", keep_layer: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Left-padded prompts (B, P) -> (response ids (B, R), log π(y_t) (B, R)); R <= max_new_tokens.

        After EOS a row holds `pad_id` (log-prob 0). With drop_finished=False, sampling="multinomial" and fp32
        weights, the same seed draws the same tokens as `model.generate(do_sample=True, top_k=0, top_p=1)` (same
        ops, same order); the default draws from the same distribution faster (`draw`).

        With keep_layer=k, `self.states` then holds the k lowest layers' output at every position of
        [prompt, response] (B, P+R, H), as one forward over the whole sequence computes it (up to rounding). A token
        never fed back (a row's last one, or anything after its EOS) has zeros: no later position attends to it.
        """
        from transformers import DynamicCache

        torch.manual_seed(seed)
        device, B = prompt_ids.device, prompt_ids.shape[0]
        tokens = torch.full((B, max_new_tokens), pad_id, dtype=torch.long, device=device)
        logps = torch.zeros(B, max_new_tokens, device=device)
        alive = torch.arange(B, device=device)  # rows of the output still being written
        mask = prompt_mask
        pos = models.position_ids(mask)  # (B, P)
        cache = DynamicCache()
        logits, kept = self.next_logits(prompt_ids, mask, pos, cache, keep_layer)  # (B, V), (B, P, H)
        P, self.states = prompt_ids.shape[1], None
        if keep_layer is not None:
            states = kept.new_zeros(B, P + max_new_tokens, kept.shape[-1])  # (B, P+R_max, H)
            states[:, :P] = kept
        pos = pos[:, -1:] + 1  # (B, 1)
        unfinished = torch.ones(B, dtype=torch.bool, device=device)
        for t in range(max_new_tokens):
            z = logits.float() / temperature
            y = draw(z.softmax(-1), sampling)  # (b,)
            lp = z.gather(-1, y[:, None]).squeeze(1) - z.logsumexp(-1)
            y = torch.where(unfinished, y, torch.full_like(y, pad_id))  # (only without dropping) pad after EOS
            tokens[alive, t], logps[alive, t] = y, torch.where(unfinished, lp, torch.zeros_like(lp))
            unfinished = unfinished & (y != eos_id)
            if not unfinished.any() or t == max_new_tokens - 1:
                break
            if drop_finished and not unfinished.all():
                keep = unfinished.nonzero().squeeze(1)
                alive, y, mask, pos, unfinished = alive[keep], y[keep], mask[keep], pos[keep], unfinished[keep]
                cache.batch_select_indices(keep)
            mask = torch.cat([mask, torch.ones_like(mask[:, :1])], 1)
            logits, kept = self.next_logits(y[:, None], mask, pos, cache, keep_layer)
            if keep_layer is not None:
                states[alive, P + t] = kept[:, 0]  # the state of token t, just fed
            pos = pos + 1
        if keep_layer is not None:
            self.states = states[:, :P + t + 1]
        return tokens[:, :t + 1], logps[:, :t + 1]
