"""PPO with a KL penalty for causal language models, written out from scratch.

TRL 1.x no longer ships a PPO trainer; this module is the course's own, following the recipe of Ziegler et al.
(2019), Stiennon et al. (2020) and Ouyang et al. (2022). Each line of the recipe is one named function below:

    r_t   = -β · (log π_θ(y_t|x,y_<t) − log π_ref(y_t|x,y_<t))      kl_penalty_rewards  (the k1 estimator)
    r_T  += RM(x, y)                                                 ... added at the last response token
    A_t   = Σ_l (γλ)^l δ_{t+l},  δ_t = r_t + γ V(s_{t+1}) − V(s_t)   gae
    Â_t   = (A_t − mean) / std                                       whiten
    L_π   = −E[min(ρ_t Â_t, clip(ρ_t, 1−ε, 1+ε) Â_t)],  ρ_t = π_θ/π_old      policy_loss
    L_V   = ½ E[max((V−R)², (clip(V, V_old ± ε_v) − R)²)]            value_loss
    β    ← β · (1 + clip(KL/KL_target − 1, −0.2, 0.2) · n/horizon)   AdaptiveKLController

A policy is any `transformers`-style causal LM: it has `generate()`, `get_decoder()` (token ids -> hidden states)
and `get_output_embeddings()` (hidden states -> logits). The embedded SmolLM2 and the small custom models of
chapter 5 both qualify, so nothing below special-cases either.

Run under `torchrun` or `accelerate launch` (`python -m rlhf_lib.train_ppo`), `train` is data parallel: each
process rolls out its share of the global batch, and N processes take the same steps as one (docs/scaling.md).
"""

from __future__ import annotations

import contextlib
import copy
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from safetensors.torch import load_file, save_file
from torch import nn
from tqdm.auto import tqdm

from . import models


# ======================================================================================= the formulas
def masked_mean(x: torch.Tensor, mask: torch.Tensor, dim=None) -> torch.Tensor:
    """Mean of `x` over the positions where `mask` is 1 (response tokens), optionally along `dim`."""
    mask = mask.to(x.dtype)
    if dim is None:
        return (x * mask).sum() / mask.sum().clamp(min=1)
    return (x * mask).sum(dim) / mask.sum(dim).clamp(min=1)


def global_masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """`masked_mean` over the masked positions of EVERY process (data parallelism); the same with one process."""
    mask = mask.to(x.dtype)
    total = all_sum(torch.stack([(x * mask).sum(), mask.sum()]))
    return total[0] / total[1].clamp(min=1)


def whiten(x: torch.Tensor, mask: torch.Tensor, shift_mean: bool = True) -> torch.Tensor:
    """(x − mean) / std over the masked positions; `shift_mean=False` only rescales (used for rewards).

    Under data parallelism the mean and std are those of the whole global batch, not of one process's share.
    """
    mean = global_masked_mean(x, mask)
    var = global_masked_mean((x - mean) ** 2, mask)
    out = (x - mean) * torch.rsqrt(var + 1e-8)
    return out if shift_mean else out + mean


def kl_estimators(logprobs: torch.Tensor, ref_logprobs: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-token estimators of KL(π‖π_ref) from samples of π (Schulman, "Approximating KL divergence").

    With log r = log π_ref − log π:  k1 = −log r (unbiased, can be negative), k2 = ½ (log r)² (biased, low
    variance), k3 = (r − 1) − log r (unbiased and always ≥ 0).
    """
    log_ratio = ref_logprobs - logprobs
    return {"k1": -log_ratio, "k2": 0.5 * log_ratio ** 2, "k3": torch.expm1(log_ratio) - log_ratio}


def kl_penalty_rewards(scores: torch.Tensor, logprobs: torch.Tensor, ref_logprobs: torch.Tensor,
                       mask: torch.Tensor, beta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token rewards: −β·k1 at every response token, plus the sequence's score at its last token.

    scores (B,), logprobs/ref_logprobs/mask (B, R) -> rewards (B, R), kl (B, R) (k1, zero outside the mask).
    """
    kl = (logprobs - ref_logprobs) * mask
    rewards = -beta * kl
    last = (mask.sum(1).long() - 1).clamp(min=0)  # index of each response's last token (its EOS if it ended)
    rewards[torch.arange(len(scores)), last] += scores
    return rewards, kl


def gae(rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float = 1.0,
        lam: float = 0.95) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimation (Schulman et al. 2016), right to left over the response tokens.

    rewards/values/mask (B, R) -> advantages (B, R), returns = advantages + values (B, R). The value after the
    last response token is 0: the episode ends there.
    """
    rewards, values = rewards * mask, values * mask
    advantages = torch.zeros_like(rewards)
    last_gae = torch.zeros_like(rewards[:, 0])
    for t in reversed(range(rewards.shape[1])):
        next_value = values[:, t + 1] if t + 1 < rewards.shape[1] else torch.zeros_like(last_gae)
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        last_gae = delta + gamma * lam * last_gae * (mask[:, t + 1] if t + 1 < rewards.shape[1] else 0)
        advantages[:, t] = last_gae
    advantages = advantages * mask
    return advantages, advantages + values


def policy_loss(logprobs: torch.Tensor, old_logprobs: torch.Tensor, advantages: torch.Tensor,
                mask: torch.Tensor, clip_eps: float = 0.2) -> tuple[torch.Tensor, dict[str, float]]:
    """The clipped surrogate objective L^CLIP of PPO (Schulman et al. 2017), as a loss to minimise.

    Also returns `policy/approxkl` (½ E[(log ρ)²], how far this update moved π) and `policy/clipfrac`.
    """
    log_ratio = logprobs - old_logprobs
    ratio = torch.exp(log_ratio)  # ρ_t = π_θ(y_t) / π_θ_old(y_t)
    unclipped = -advantages * ratio
    clipped = -advantages * torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps)
    loss = masked_mean(torch.max(unclipped, clipped), mask)
    stats = {"policy/approxkl": float(masked_mean(0.5 * log_ratio.detach() ** 2, mask)),
             "policy/clipfrac": float(masked_mean((clipped > unclipped).float(), mask))}
    return loss, stats


def value_loss(values: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor, mask: torch.Tensor,
               clip_value: float = 0.2) -> tuple[torch.Tensor, dict[str, float]]:
    """The clipped value loss: V may move at most ε_v from its rollout value before the loss stops pulling."""
    clipped = old_values + torch.clamp(values - old_values, -clip_value, clip_value)
    losses = torch.max((values - returns) ** 2, (clipped - returns) ** 2)
    loss = 0.5 * masked_mean(losses, mask)
    stats = {"val/clipfrac": float(masked_mean(((clipped - returns) ** 2 > (values - returns) ** 2).float(), mask))}
    return loss, stats


class FixedKLController:
    """A constant β."""

    def __init__(self, beta: float):
        self.beta = beta

    def update(self, kl: float, n_steps: int) -> None:
        pass


class AdaptiveKLController:
    """Ziegler et al. (2019): raise β when the measured KL is above its target, lower it when below.

    The proportional error is clipped to ±20%, and `horizon` (in episodes) sets how fast β responds.
    """

    def __init__(self, beta: float, target: float, horizon: int):
        self.beta, self.target, self.horizon = beta, target, horizon

    def update(self, kl: float, n_steps: int) -> None:
        error = float(np.clip(kl / self.target - 1, -0.2, 0.2))
        self.beta *= 1 + error * n_steps / self.horizon


# ====================================================================== the policy, reference and value
class ActorCritic(nn.Module):
    """Policy π_θ, frozen reference π_ref and value V_φ around one causal LM.

    - `policy` with LoRA adapters (peft) and `ref_policy=None`: π_ref is the same network with the adapters
      switched off, so one backbone serves both (no second copy in memory).
    - `value_model=None`: V is a linear head on the policy's own last hidden states (shared backbone);
      pass a separate LM (e.g. a copy of the base) to give the critic its own network.
    - `frozen_bottom=n`: the lowest n decoder layers carry no adapters, so their output is the same for the
      policy, the reference and every PPO epoch. It is computed once per rollout (`Rollout.trunk`) and only the
      top layers run again: the same numbers, at a fraction of the cost (see `split_decoder`).
    """

    def __init__(self, policy, ref_policy=None, value_model=None, frozen_bottom: int = 0):
        super().__init__()
        self.policy, self.ref_policy, self.value_model = policy, ref_policy, value_model
        if ref_policy is None and not hasattr(policy, "disable_adapter"):
            raise ValueError("give a frozen ref_policy, or a peft policy whose disabled adapters are the reference")
        if ref_policy is not None:
            ref_policy.requires_grad_(False).eval()
        hidden = policy.get_output_embeddings().weight.shape[1]
        self.value_head = nn.Linear(hidden, 1)
        nn.init.zeros_(self.value_head.weight)
        nn.init.zeros_(self.value_head.bias)
        self.bottom = self.top = None
        if frozen_bottom:
            if ref_policy is not None or value_model is not None:
                raise ValueError("frozen_bottom needs the shared-backbone set-up (LoRA policy, no separate models)")
            self.bottom, self.top = split_decoder(policy, frozen_bottom)
            if any(p.requires_grad for p in self.bottom.parameters()):
                raise ValueError(f"frozen_bottom={frozen_bottom}: the bottom layers have trainable weights "
                                 "(put the LoRA adapters on the top layers only: with_lora(top_layers=...))")

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]


def split_decoder(lm, n_bottom: int):
    """Two decoders that SHARE the weights of `lm`'s: the bottom `n_bottom` layers (no final norm) and the rest.

    top(inputs_embeds=bottom(ids)) computes exactly what the whole decoder computes. Llama-style decoders only
    (embed_tokens, layers, norm, rotary_emb), which covers SmolLM2 and the course's small custom models.
    """
    decoder = lm.get_decoder()
    n = len(decoder.layers)
    if not 0 < n_bottom < n:
        raise ValueError(f"n_bottom must be between 1 and {n - 1} for a {n}-layer decoder (got {n_bottom})")
    parts = []
    for lo, hi, norm in ((0, n_bottom, nn.Identity()), (n_bottom, n, decoder.norm)):
        config = copy.deepcopy(decoder.config)
        config.num_hidden_layers = hi - lo
        if getattr(config, "layer_types", None):
            config.layer_types = config.layer_types[lo:hi]
        with torch.device("meta"):  # no memory for weights we are about to share
            part = type(decoder)(config)
        part.embed_tokens, part.layers, part.norm = decoder.embed_tokens, nn.ModuleList(decoder.layers[lo:hi]), norm
        part.rotary_emb = decoder.rotary_emb
        parts.append(part)
    return parts[0], parts[1]


def response_hidden(decoder, ids: torch.Tensor, mask: torch.Tensor, n_prompt: int,
                    trunk: torch.Tensor | None = None) -> torch.Tensor:
    """Hidden states at the positions that PREDICT the response tokens: ids (B, P+R) -> (B, R, H).

    With `trunk` (the bottom layers' output, (B, P+R, H)) `decoder` is the top part and starts from it.
    """
    inputs = {"inputs_embeds": trunk} if trunk is not None else {"input_ids": ids}
    hidden = decoder(**inputs, attention_mask=mask, position_ids=models.position_ids(mask),
                     use_cache=False).last_hidden_state  # (B, P+R, H)
    return hidden[:, n_prompt - 1:-1]  # state before token t predicts token t


def token_logprobs(lm, hidden: torch.Tensor, tokens: torch.Tensor, temperature: float,
                   with_entropy: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
    """log π(y_t) of the sampled tokens at temperature T, and optionally the entropy; (B, R) each.

    Logits are computed only for response positions, and log π(y_t) = z_y − logsumexp(z): no (B, R, V)
    log-softmax tensor is kept beyond this function.
    """
    # A (B, R, H) slice is not contiguous, and torch then runs the head as a batched matmul that first copies the
    # (V, H) weight once per row (7x slower for SmolLM2's 49152 x 576 head, measured); one small copy avoids it.
    logits = lm.get_output_embeddings()(hidden.contiguous()).float() / temperature  # (B, R, V)
    logprobs = logits.gather(-1, tokens.unsqueeze(-1)).squeeze(-1) - logits.logsumexp(-1)  # (B, R)
    entropy = None
    if with_entropy:
        with torch.no_grad():
            p = logits.softmax(-1)
            entropy = logits.logsumexp(-1) - (p * logits).sum(-1)  # H = log Z − E_p[z]
    return logprobs, entropy


def evaluate_actions(ac: ActorCritic, ids, mask, n_prompt: int, temperature: float, with_entropy: bool = False,
                     trunk: torch.Tensor | None = None):
    """One forward pass of the policy (and the critic): log-probs, values and entropy of the response tokens."""
    tokens = ids[:, n_prompt:]  # (B, R)
    decoder = ac.top if trunk is not None else ac.policy.get_decoder()
    hidden = response_hidden(decoder, ids, mask, n_prompt, trunk)  # (B, R, H)
    logprobs, entropy = token_logprobs(ac.policy, hidden, tokens, temperature, with_entropy)
    if ac.value_model is not None:
        hidden = response_hidden(ac.value_model.get_decoder(), ids, mask, n_prompt)
    values = ac.value_head(hidden.float()).squeeze(-1)  # (B, R)
    return logprobs, values, entropy


@torch.no_grad()
def reference_logprobs(ac: ActorCritic, ids, mask, n_prompt: int, temperature: float,
                       trunk: torch.Tensor | None = None) -> torch.Tensor:
    """log π_ref of the response tokens: the frozen copy, or the policy with its adapters switched off."""
    if ac.ref_policy is not None:
        ref, ctx = ac.ref_policy, contextlib.nullcontext()
    else:
        ref, ctx = ac.policy, ac.policy.disable_adapter()
    with ctx:
        decoder = ac.top if trunk is not None else ref.get_decoder()
        hidden = response_hidden(decoder, ids, mask, n_prompt, trunk)
        return token_logprobs(ref, hidden, ids[:, n_prompt:], temperature)[0]


@torch.no_grad()
def trunk_states(ac: ActorCritic, ids, mask) -> torch.Tensor | None:
    """The frozen bottom layers' output (B, P+R, H), or None when the actor-critic has no frozen trunk."""
    if ac.bottom is None:
        return None
    return ac.bottom(input_ids=ids, attention_mask=mask, position_ids=models.position_ids(mask),
                     use_cache=False).last_hidden_state


# ============================================================================================== config
@dataclass
class PPOConfig:
    """Every knob of one PPO run; the chapters fill it from the profile's `ppo.*` rows of `rlhf_lib.config`."""

    steps: int = 20                   # PPO iterations: one rollout batch, then `epochs` passes over it
    batch_size: int = 16              # episodes (prompt, response) per rollout
    minibatch_size: int = 4           # episodes per gradient step
    epochs: int = 2                   # PPO epochs over each rollout batch
    max_new_tokens: int = 48
    temperature: float = 0.7          # sampling AND log-prob temperature: π is softmax(z / T) throughout
    lr: float = 1e-4                  # AdamW
    clip_eps: float = 0.2             # ε of the clipped policy objective
    clip_value: float = 0.2           # ε_v of the clipped value loss
    vf_coef: float = 0.1              # weight of the value loss
    gamma: float = 1.0
    lam: float = 0.95
    beta: float = 0.05                # KL coefficient (its start value when adaptive)
    target_kl: float | None = None    # nats per response; None keeps β fixed
    kl_horizon: int = 10_000          # episodes over which the adaptive controller responds
    missing_eos_penalty: float | None = -2.0  # score of a response that never ends; None: no penalty
    max_grad_norm: float = 1.0
    seed: int = 0
    autocast: bool = True             # bf16 autocast: ~2x faster on a modern CPU, the norm on GPUs
    save_every: int = 5               # steps between checkpoints (and always at the end)
    reward_id: str = ""               # which reward model (`reward.fingerprint`): no resuming a run made with another

    def kl_controller(self):
        if self.target_kl is None:
            return FixedKLController(self.beta)
        return AdaptiveKLController(self.beta, self.target_kl, self.kl_horizon)


# ============================================================================================ rollouts
@dataclass
class Rollout:
    """One batch of episodes: prompts, sampled responses and everything PPO needs about them (B = episodes).

    `ids`/`mask` hold the left-padded prompt (first `n_prompt` columns) followed by the response; the response
    mask covers the response up to and including its EOS.
    """

    ids: torch.Tensor            # (B, P+R) prompt then response tokens
    mask: torch.Tensor           # (B, P+R) attention mask
    n_prompt: int                # P
    response_mask: torch.Tensor  # (B, R) 1 on response tokens up to and including EOS
    finished: torch.Tensor       # (B,) did the response end with EOS?
    logprobs: torch.Tensor       # (B, R) log π_old
    ref_logprobs: torch.Tensor   # (B, R) log π_ref
    values: torch.Tensor         # (B, R) V_old
    scores: torch.Tensor         # (B,) reward-model score (normalised; the EOS penalty where unfinished)
    raw_scores: torch.Tensor     # (B,) the reward function's own output
    trunk: torch.Tensor | None = None  # (B, P+R, H) frozen bottom layers' output, reused by every epoch

    @property
    def responses(self) -> list[list[int]]:
        """Response token ids, cut after EOS."""
        lengths = self.response_mask.sum(1).long().tolist()
        return [row[:n].tolist() for row, n in zip(self.ids[:, self.n_prompt:], lengths, strict=True)]


def response_mask(responses: torch.Tensor, eos_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, R) response ids -> mask up to and including the first EOS (B, R), and finished (B,)."""
    is_eos = responses == eos_id
    finished = is_eos.any(1)
    first = torch.where(finished, is_eos.float().argmax(1), torch.full_like(finished, responses.shape[1], dtype=torch.long))
    mask = (torch.arange(responses.shape[1]).unsqueeze(0) <= first.unsqueeze(1)).long()
    return mask, finished


@torch.no_grad()
def sample(policy, prompt_ids, prompt_mask, max_new_tokens: int, temperature: float, eos_id: int, pad_id: int,
           seed: int, autocast: bool = True) -> torch.Tensor:
    """Sample responses from π at temperature T with no top-k/top-p: PPO needs the exact distribution it scores.

    prompt_ids/mask (B, P) -> response ids (B, R), R <= max_new_tokens.
    """
    from transformers import GenerationConfig

    device = prompt_ids.device
    gen = GenerationConfig(do_sample=True, temperature=temperature, top_k=0, top_p=1.0, max_new_tokens=max_new_tokens,
                           eos_token_id=eos_id, pad_token_id=pad_id)
    torch.manual_seed(seed)
    with models.autocast(device, autocast):
        out = policy.generate(input_ids=prompt_ids, attention_mask=prompt_mask, generation_config=gen)
    return out[:, prompt_ids.shape[1]:]


RewardFn = Callable[[list, list[list[int]]], Sequence[float]]  # (prompt records, response ids) -> scores


@torch.no_grad()
def rollout(ac: ActorCritic, prompts: list[Sequence[int]], meta: list, reward_fn: RewardFn, cfg: PPOConfig,
            eos_id: int, pad_id: int, seed: int) -> Rollout:
    """Sample a response to each prompt, score it, and record log π_old, log π_ref and V_old (no gradients)."""
    device = next(ac.parameters()).device
    p_ids, p_mask = (t.to(device) for t in models.pad_batch(prompts, pad_id, side="left"))
    responses = sample(ac.policy, p_ids, p_mask, cfg.max_new_tokens, cfg.temperature, eos_id, pad_id, seed,
                       cfg.autocast)
    r_mask, finished = response_mask(responses.cpu(), eos_id)
    r_mask, finished = r_mask.to(device), finished.to(device)
    ids, mask = torch.cat([p_ids, responses], 1), torch.cat([p_mask, r_mask], 1)
    n = p_ids.shape[1]
    logprobs, values, ref, trunks = [], [], [], []
    with models.autocast(device, cfg.autocast):
        for chunk in torch.arange(len(prompts)).split(cfg.minibatch_size):
            trunk = trunk_states(ac, ids[chunk], mask[chunk])
            lp, v, _ = evaluate_actions(ac, ids[chunk], mask[chunk], n, cfg.temperature, trunk=trunk)
            logprobs.append(lp)
            values.append(v)
            ref.append(reference_logprobs(ac, ids[chunk], mask[chunk], n, cfg.temperature, trunk=trunk))
            trunks.append(trunk)
    raw = torch.as_tensor([float(s) for s in reward_fn(meta, _cut(responses, r_mask))], device=device)
    if not torch.isfinite(raw).all():
        raise FloatingPointError(f"the reward function returned non-finite scores: {raw.tolist()}")
    scores = raw
    if cfg.missing_eos_penalty is not None:
        scores = torch.where(finished, raw, torch.full_like(raw, cfg.missing_eos_penalty))
    m = r_mask.float()
    return Rollout(ids, mask, n, m, finished, torch.cat(logprobs) * m, torch.cat(ref) * m,
                   torch.cat(values) * m, scores, raw, None if trunks[0] is None else torch.cat(trunks))


def _cut(responses: torch.Tensor, mask: torch.Tensor) -> list[list[int]]:
    return [row[:int(k)].tolist() for row, k in zip(responses.cpu(), mask.sum(1).cpu(), strict=True)]


# ============================================================================ data parallelism
# Under `accelerate launch` or `torchrun` every process holds a whole actor-critic and rolls out its share of
# the global batch (`train`). Three things make N processes compute what one process computes on the same
# global batch: every process starts from rank 0's weights, statistics (advantage whitening, the token count
# of each minibatch, the logged means) are summed over the processes, and so are the gradients before each
# optimizer step. With one process (torch.distributed not initialised) each helper below does nothing.
def world() -> tuple[int, int]:
    """(rank, number of processes); (0, 1) when torch.distributed is not initialised."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def all_sum(x: torch.Tensor) -> torch.Tensor:
    """`x` summed over every process (a new tensor); `x` itself with one process."""
    if world()[1] == 1:
        return x
    x = x.clone()
    dist.all_reduce(x)
    return x


def sync_gradients(params: Sequence[nn.Parameter]) -> None:
    """Sum each gradient over the processes (a missing one counts as zero): the global loss's gradient."""
    if world()[1] == 1:
        return
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
        dist.all_reduce(p.grad)


def broadcast_parameters(params: Sequence[nn.Parameter]) -> None:
    """Give every process rank 0's values of `params` (e.g. the randomly initialised LoRA adapters)."""
    if world()[1] == 1:
        return
    with torch.no_grad():
        for p in params:
            dist.broadcast(p.data, src=0)


def mean_over_processes(stats: dict[str, float], device) -> dict[str, float]:
    """Each logged figure averaged over the processes (equal shares), so every process logs, and adapts β to,
    the same numbers."""
    n = world()[1]
    if n == 1:
        return stats
    keys = sorted(stats)
    values = all_sum(torch.tensor([float(stats[k]) for k in keys], dtype=torch.float64, device=device)) / n
    return dict(zip(keys, values.tolist(), strict=True))


# ============================================================================================= update
class NonFiniteLossError(FloatingPointError):
    """Training produced NaN/inf: stop with a message rather than keep optimising garbage."""


def ppo_update(ac: ActorCritic, optimizer: torch.optim.Optimizer, batch: Rollout, cfg: PPOConfig, beta: float,
               seed: int) -> dict[str, float]:
    """Turn one rollout batch into rewards, advantages and `cfg.epochs` passes of clipped PPO; returns its stats.

    Data parallel, `batch` is this process's share of the global batch: minibatches are drawn from the global
    batch (each process trains on its part of each), so N processes take the same steps as one process would.
    """
    m = batch.response_mask
    # 1. rewards: the score at the last token, a KL penalty at every token
    rewards, kl = kl_penalty_rewards(batch.scores, batch.logprobs, batch.ref_logprobs, m, beta)
    # 2. advantages and returns by GAE, advantages whitened over the batch
    advantages, returns = gae(rewards, batch.values, m, cfg.gamma, cfg.lam)
    advantages = whiten(advantages, m)
    # 3. epochs x minibatches of clipped policy + value loss
    params = ac.trainable_parameters()
    generator = torch.Generator().manual_seed(seed)
    device = batch.ids.device
    rank, n_proc = world()
    n_local = len(batch.scores)
    first = rank * n_local  # this process holds episodes [first, first + n_local) of the global batch
    logs: dict[str, list[float]] = {}
    for _ in range(cfg.epochs):
        for chunk in torch.randperm(n_local * n_proc, generator=generator).split(cfg.minibatch_size):
            idx = (chunk[(chunk >= first) & (chunk < first + n_local)] - first).to(device)  # my part of it
            n_tokens = all_sum(m[idx].sum())  # response tokens of the whole (global) minibatch
            optimizer.zero_grad(set_to_none=True)
            if len(idx):
                with models.autocast(device, cfg.autocast):
                    trunk = None if batch.trunk is None else batch.trunk[idx]
                    logprobs, values, entropy = evaluate_actions(ac, batch.ids[idx], batch.mask[idx], batch.n_prompt,
                                                                 cfg.temperature, with_entropy=True, trunk=trunk)
                pg_loss, pg_stats = policy_loss(logprobs, batch.logprobs[idx], advantages[idx], m[idx], cfg.clip_eps)
                vf_loss, vf_stats = value_loss(values, batch.values[idx], returns[idx], m[idx], cfg.clip_value)
                loss = pg_loss + cfg.vf_coef * vf_loss
                if not torch.isfinite(loss):
                    raise NonFiniteLossError(f"PPO loss is {loss.item()} (policy {pg_loss.item()}, value "
                                             f"{vf_loss.item()}); lower the learning rate or check the reward scores")
                # token mean over the GLOBAL minibatch: my tokens' share of it (1 with one process)
                (loss * (m[idx].sum() / n_tokens)).backward()
                logs_now = {"loss/policy": pg_loss.item(), "loss/value": vf_loss.item(),
                            "policy/entropy": float(masked_mean(entropy, m[idx])), **pg_stats, **vf_stats}
            sync_gradients(params)  # summed over processes: the gradient of the global minibatch's loss
            grad_norm = nn.utils.clip_grad_norm_(params, cfg.max_grad_norm)
            optimizer.step()
            if len(idx):
                for key, value in {**logs_now, "grad_norm": float(grad_norm)}.items():
                    logs.setdefault(key, []).append(value)
    kl_per_seq = kl.sum(1)
    stats = {key: float(np.mean(values)) for key, values in logs.items()}
    stats.update({
        "objective/scores": float(batch.scores.mean()),         # reward-model score (normalised)
        "objective/raw_scores": float(batch.raw_scores.mean()),
        "objective/kl": float(kl_per_seq.mean()),                 # Σ_t k1, nats per response
        "objective/entropy": float((-batch.logprobs).sum(1).mean()),  # Σ_t −log π(y_t), nats per response
        "objective/non_score_reward": float((-beta * kl_per_seq).mean()),
        "objective/rlhf_reward": float((batch.scores - beta * kl_per_seq).mean()),
        "val/mean": float(masked_mean(batch.values, m)),
        "response/length": float(m.sum(1).mean()),
        "response/finished": float(batch.finished.float().mean()),
        "beta": beta,
    })
    return mean_over_processes(stats, device)


# ====================================================================================== training loop
def batch_indices(n: int, batch_size: int, step: int, seed: int) -> list[int]:
    """The prompts of one step: passes over a seeded shuffle of all `n`, so any step can be recomputed on resume."""
    out, pos = [], step * batch_size
    while len(out) < batch_size:
        epoch, offset = divmod(pos, n)
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 7919 + epoch)).tolist()
        take = perm[offset:offset + batch_size - len(out)]
        out += take
        pos += len(take)
    return out


def train(ac: ActorCritic, prompts: list[Sequence[int]], meta: list, reward_fn: RewardFn, cfg: PPOConfig,
          eos_id: int, pad_id: int, ckpt_dir: str | Path | None = None, progress: bool = True,
          callback: Callable[[int, dict, Rollout], None] | None = None,
          restart_if_changed: bool = False) -> list[dict]:
    """PPO with a KL penalty: `cfg.steps` x (rollout -> rewards -> advantages -> clipped updates); returns the log.

    `prompts` are token-id lists (chat template applied), `meta` anything the reward function needs about each
    prompt. With `ckpt_dir` a checkpoint is written every `cfg.save_every` steps and training resumes from the
    last one: on the CPU the resumed run equals an uninterrupted one. A checkpoint made with other settings (another
    reward model among them) is refused, or, with `restart_if_changed`, ignored and replaced by a fresh run.

    Data parallel (under `accelerate launch` / `torchrun`): `cfg.batch_size` is the GLOBAL batch; each process
    rolls out its share of it, and the update equals one process's on the same batch (see `ppo_update`).
    """
    if not prompts or len(prompts) != len(meta):
        raise ValueError(f"PPO needs a non-empty list of prompts with one meta record each "
                         f"(got {len(prompts)} prompts, {len(meta)} meta records)")
    if any(len(p) == 0 for p in prompts):
        raise ValueError("an empty prompt (0 tokens) cannot be continued; drop it from the prompt list")
    if cfg.minibatch_size > cfg.batch_size or cfg.batch_size % cfg.minibatch_size:
        raise ValueError(f"minibatch_size {cfg.minibatch_size} must divide batch_size {cfg.batch_size}")
    rank, n_proc = world()
    if cfg.batch_size % n_proc:
        raise ValueError(f"batch_size {cfg.batch_size} must be a multiple of the number of processes ({n_proc})")
    params = ac.trainable_parameters()
    if not params:
        raise ValueError("the actor-critic has no trainable parameters (add LoRA adapters or unfreeze the policy)")
    broadcast_parameters(params)  # every process starts from rank 0's adapters
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, eps=1e-5, weight_decay=0.0)
    kl_ctl = cfg.kl_controller()
    history: list[dict] = []
    ckpt_dir = Path(ckpt_dir) if ckpt_dir else None
    if ckpt_dir and (ckpt_dir / "state.json").is_file():
        try:
            history = load_checkpoint(ckpt_dir, ac, optimizer, kl_ctl, cfg)
        except CheckpointMismatchError as err:
            if not restart_if_changed:
                raise
            print(f"the checkpoint in {ckpt_dir} was made with other settings ({', '.join(err.changed)}): starting afresh")
    bar = tqdm(range(len(history), cfg.steps), desc="PPO", disable=not progress or rank > 0, initial=len(history),
               total=cfg.steps)
    share = cfg.batch_size // n_proc
    for step in bar:
        t_step = time.perf_counter()
        idx = batch_indices(len(prompts), cfg.batch_size, step, cfg.seed)[rank * share:(rank + 1) * share]
        batch = rollout(ac, [prompts[i] for i in idx], [meta[i] for i in idx], reward_fn, cfg, eos_id, pad_id,
                        seed=cfg.seed * 1_000_003 + step + 7_919 * rank)
        stats = ppo_update(ac, optimizer, batch, cfg, kl_ctl.beta, seed=cfg.seed * 1_000_003 + step)
        kl_ctl.update(stats["objective/kl"], cfg.batch_size)
        stats["step"], stats["episodes"] = step + 1, (step + 1) * cfg.batch_size
        stats["seconds"] = time.perf_counter() - t_step  # this step's wall time, kept in the checkpoint's log
        history.append(stats)
        bar.set_postfix(score=f"{stats['objective/scores']:+.2f}", kl=f"{stats['objective/kl']:.2f}",
                        beta=f"{stats['beta']:.3f}")
        if ckpt_dir and rank == 0 and ((step + 1) % cfg.save_every == 0 or step + 1 == cfg.steps):
            save_checkpoint(ckpt_dir, ac, optimizer, kl_ctl, cfg, history)
        if callback:
            callback(step, stats, batch)
    return history


# ======================================================================================== checkpoints
def trainable_state(ac: ActorCritic) -> dict[str, torch.Tensor]:
    return {name: p.detach().cpu().contiguous() for name, p in ac.named_parameters() if p.requires_grad}


def save_checkpoint(folder: Path, ac: ActorCritic, optimizer, kl_ctl, cfg: PPOConfig, history: list[dict]) -> None:
    """Trainable weights (safetensors), optimizer state, β and the log; written to a temp folder, then renamed."""
    tmp = folder.with_name(folder.name + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    save_file(trainable_state(ac), tmp / "trainable.safetensors")
    torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
    (tmp / "state.json").write_text(json.dumps({"beta": kl_ctl.beta, "config": asdict(cfg), "history": history}))
    if folder.exists():
        old = folder.with_name(folder.name + ".old")
        folder.rename(old)
        tmp.rename(folder)
        for f in old.iterdir():
            f.unlink()
        old.rmdir()
    else:
        tmp.rename(folder)


class CheckpointMismatchError(ValueError):
    """A checkpoint was made by a run with other settings (`changed`): resuming it would mix two runs."""

    def __init__(self, message: str, changed: Sequence[str]):
        super().__init__(message)
        self.changed = tuple(changed)


def load_checkpoint(folder: Path, ac: ActorCritic, optimizer, kl_ctl, cfg: PPOConfig) -> list[dict]:
    """Restore weights, optimizer and β from `folder`; returns the log so far (its length is the next step)."""
    state = json.loads((folder / "state.json").read_text())
    free = ("steps", "save_every")  # a run may be extended or checkpointed more often; nothing else may change
    saved = {**asdict(PPOConfig()), **state["config"]}  # a setting newer than the checkpoint: its default
    changed = sorted(k for k, v in asdict(cfg).items() if k not in free and saved.get(k) != v)
    if changed:
        raise CheckpointMismatchError(f"the checkpoint in {folder} was made with other settings ({', '.join(changed)}); "
                         "delete the folder to start afresh or restore those settings to resume", changed)
    weights = load_file(folder / "trainable.safetensors")
    params = dict(ac.named_parameters())
    missing = [k for k in weights if k not in params]
    if missing:
        raise ValueError(f"the checkpoint in {folder} holds weights this model does not have: {missing[:3]}")
    with torch.no_grad():
        for name, value in weights.items():
            params[name].copy_(value)
    optimizer.load_state_dict(torch.load(folder / "optimizer.pt", weights_only=True))
    kl_ctl.beta = state["beta"]
    return state["history"]


# ================================================================================ building and saving
LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def lora_config(n_layers: int, r: int = 16, top_layers: int | None = None, targets: Sequence[str] = LORA_TARGETS):
    """peft's LoraConfig for a causal LM: adapters on the top `top_layers` of `n_layers` (all when None)."""
    from peft import LoraConfig

    layers = list(range(n_layers - top_layers, n_layers)) if top_layers else None
    return LoraConfig(r=r, lora_alpha=2 * r, lora_dropout=0.0, target_modules=list(targets),
                      layers_to_transform=layers, task_type="CAUSAL_LM")


def with_lora(model, r: int = 16, top_layers: int | None = None, targets: Sequence[str] = LORA_TARGETS):
    """Wrap a causal LM with LoRA adapters (on the top `top_layers` decoder layers only, if given).

    Adapters on the top layers only mean the backward pass stops there: the bottom of the network runs
    forward only, which is most of the speed-up on a CPU.
    """
    from peft import get_peft_model

    return get_peft_model(model, lora_config(model.config.num_hidden_layers, r, top_layers, targets))


def save_policy(ac: ActorCritic, tokenizer, path: str | Path, info: dict | None = None) -> Path:
    """`save_pretrained` (safetensors) of the policy with its LoRA merged in, plus tokenizer and run info."""
    path = Path(path)
    policy = copy.deepcopy(ac.policy)
    if hasattr(policy, "merge_and_unload"):
        policy = policy.merge_and_unload()
    policy.save_pretrained(path, safe_serialization=True)
    if tokenizer is not None:
        tokenizer.save_pretrained(path)
    (path / "ppo_info.json").write_text(json.dumps(info or {}, indent=1, default=str))
    return path


# =============================================================================== text policies, glue
def chat_prompt_ids(tokenizer, records: Sequence[dict], max_tokens: int = 256) -> list[list[int]]:
    """Token ids of each record's `prompt` in the chat template, ready for `train` (left-cut to `max_tokens`)."""
    out = []
    for i, rec in enumerate(records):
        if not isinstance(rec.get("prompt"), str) or not rec["prompt"].strip():
            raise ValueError(f"prompt record {i} (id {rec.get('id')!r}): field 'prompt' must be a non-empty string")
        ids = tokenizer(models.chat_prompt(tokenizer, rec["prompt"]), add_special_tokens=False)["input_ids"]
        out.append(ids[-max_tokens:])
    return out


def text_reward_fn(rm, rm_tokenizer, tokenizer, mean: float = 0.0, std: float = 1.0, max_length: int = 512,
                   batch_size: int = 16) -> RewardFn:
    """A RewardFn for a text policy: decode each response, score it with the reward model, normalise.

    `rm` is a sequence-classification reward model (chapter 2's); the prompt records carry the user's words.
    """
    from .reward import score

    def fn(meta: list[dict], responses: list[list[int]]) -> list[float]:
        texts = [tokenizer.decode(r, skip_special_tokens=True).strip() for r in responses]
        raw = score(rm, rm_tokenizer, [m["prompt"] for m in meta], texts, batch_size=batch_size, max_length=max_length)
        return [(x - mean) / std for x in raw]

    return fn


def trl_reward_fn(rm, rm_tokenizer, mean: float = 0.0, std: float = 1.0, max_length: int = 512):
    """The same reward-model score, normalised, in the signature of TRL's online trainers (GRPO, RLOO).

    TRL passes conversational prompts and completions (lists of messages); we score the last user turn and the
    completion's text.
    """
    from .reward import score

    def fn(prompts, completions, **kwargs) -> list[float]:
        user = [p[-1]["content"] if isinstance(p, list) else p for p in prompts]
        texts = [c[-1]["content"] if isinstance(c, list) else c for c in completions]
        return [(x - mean) / std for x in score(rm, rm_tokenizer, user, texts, max_length=max_length)]

    return fn


# ========================================================================================= evaluation
def win_rate(a: Sequence[float], b: Sequence[float], tie: float = 1e-9) -> float:
    """Share of prompts where `a` beats `b`, ties counted as half a win each."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.size == 0:
        raise ValueError(f"win_rate needs two equal, non-empty score lists (got {a.shape} and {b.shape})")
    return float(np.mean(np.where(np.abs(a - b) <= tie, 0.5, (a > b).astype(float))))


@torch.no_grad()
def sample_with_kl(ac: ActorCritic, prompts: list[Sequence[int]], cfg: PPOConfig, eos_id: int, pad_id: int,
                   seed: int = 12345, reference: bool = False, batch_size: int = 32, progress: bool = False):
    """Sample one response per prompt from π (or from π_ref) and measure Σ_t log π − log π_ref of each.

    Returns (response ids, finished flags, KL per response). For the reference's own samples the KL is ~0 only
    in expectation, so it is reported for the policy's samples.
    """
    device = next(ac.parameters()).device
    out_ids, out_done, out_kl = [], [], []
    for b, start in enumerate(tqdm(range(0, len(prompts), batch_size), desc="sampling", disable=not progress)):
        p_ids, p_mask = (t.to(device) for t in models.pad_batch(prompts[start:start + batch_size], pad_id, side="left"))
        ctx = ac.policy.disable_adapter() if reference and ac.ref_policy is None else contextlib.nullcontext()
        with ctx:
            lm = ac.ref_policy if reference and ac.ref_policy is not None else ac.policy
            responses = sample(lm, p_ids, p_mask, cfg.max_new_tokens, cfg.temperature, eos_id, pad_id, seed + b,
                               cfg.autocast)
        r_mask, finished = response_mask(responses.cpu(), eos_id)
        ids, mask = torch.cat([p_ids, responses], 1), torch.cat([p_mask, r_mask.to(device)], 1)
        n = p_ids.shape[1]
        with models.autocast(device, cfg.autocast):
            trunk = trunk_states(ac, ids, mask)
            logprobs = evaluate_actions(ac, ids, mask, n, cfg.temperature, trunk=trunk)[0]
            ref = reference_logprobs(ac, ids, mask, n, cfg.temperature, trunk=trunk)
        out_kl += ((logprobs - ref) * r_mask.to(device)).sum(1).tolist()
        out_ids += _cut(responses, r_mask)
        out_done += finished.tolist()
    return out_ids, out_done, out_kl


@torch.no_grad()
def sample_reference(ac: ActorCritic, prompts: Sequence[Sequence[int]], cfg: PPOConfig, eos_id: int,
                     pad_id: int, seed: int = 12345, batch_size: int = 32):
    """The answers `sample_with_kl(..., reference=True)` draws (same seeds), without its two scoring passes.

    The reference's KL to itself is 0, so (ids, finished, zeros) comes back at the cost of sampling alone.
    """
    device = next(ac.parameters()).device
    out_ids, out_done = [], []
    for b, start in enumerate(range(0, len(prompts), batch_size)):
        p_ids, p_mask = (t.to(device) for t in models.pad_batch(prompts[start:start + batch_size], pad_id, side="left"))
        ctx = ac.policy.disable_adapter() if ac.ref_policy is None else contextlib.nullcontext()
        with ctx:
            lm = ac.ref_policy if ac.ref_policy is not None else ac.policy
            responses = sample(lm, p_ids, p_mask, cfg.max_new_tokens, cfg.temperature, eos_id, pad_id, seed + b,
                               cfg.autocast).cpu()
        r_mask, finished = response_mask(responses, eos_id)
        out_ids += [row[:int(k)].tolist() for row, k in zip(responses, r_mask.sum(1), strict=True)]
        out_done += finished.tolist()
    return out_ids, out_done, [0.0] * len(out_ids)


def episodes_per_second(history: Sequence[dict]) -> float:
    """Training speed from the log: episodes over the seconds the steps took when they ran (a resumed, finished
    run reports the speed of its original steps, not episodes / checkpoint-load time); nan without timings."""
    episodes, seconds, before = 0, 0.0, 0
    for h in history:  # "episodes" is cumulative; a step's own episodes are the difference
        if "seconds" in h:
            episodes, seconds = episodes + h["episodes"] - before, seconds + h["seconds"]
        before = h["episodes"]
    return float(episodes / seconds) if seconds > 0 else float("nan")


def reward_normaliser(scores: Sequence[float]) -> tuple[float, float]:
    """Mean and std of reward-model scores on reference samples: the policy is trained on (s − mean) / std."""
    scores = np.asarray(scores, dtype=float)
    if scores.size < 2 or not np.isfinite(scores).all():
        raise ValueError(f"need at least two finite scores to normalise rewards (got {scores.size})")
    return float(scores.mean()), float(scores.std() + 1e-8)
