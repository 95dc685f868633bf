"""PPO with a KL penalty for causal language models, written out from scratch: the file to read top to bottom.

TRL 1.x no longer ships a PPO trainer; this module is the course's own, following the recipe of Ziegler et al.
(2019), Stiennon et al. (2020) and Ouyang et al. (2022). Each line of the recipe is one named function, in order:

    s_i   = RM(x, y_i) − 1/(k−1) Σ_{j≠i} RM(x, y_j)                leave_one_out  (k samples per prompt; optional)
    r_t   = -β · (log π_θ(y_t|x,y_<t) − log π_ref(y_t|x,y_<t))      kl_penalty_rewards  (the k1 estimator)
    r_T  += s                                                        ... added at the last response token
    A_t   = Σ_l (γλ)^l δ_{t+l},  δ_t = r_t + γ V(s_{t+1}) − V(s_t)   gae
    Â_t   = (A_t − mean) / std                                       whiten
    L_π   = −E[min(ρ_t Â_t, clip(ρ_t, 1−ε, 1+ε) Â_t)],  ρ_t = π_θ/π_old      policy_loss
    L_V   = ½ E[max((V−R)², (clip(V, V_old ± ε_v) − R)²)]            value_loss
    β    ← β · (1 + clip(KL/KL_target − 1, −0.2, 0.2) · n/horizon)   AdaptiveKLController

then the pieces that run them: the actor-critic (π_θ, π_ref, V_φ around one LM) -> `PPOConfig` -> `rollout`
(sample, score, record log π_old, log π_ref, V_old) -> `ppo_update` (the equations above, then clipped minibatch
steps) -> `train` (rollout, update, β, repeat).

A policy is any `transformers`-style causal LM: it has `generate()`, `get_decoder()` (token ids -> hidden states)
and `get_output_embeddings()` (hidden states -> logits). The embedded SmolLM2 and the small custom models of
chapter 5 both qualify, so nothing below special-cases either.

The engineering lives in siblings, called in one line each: `distributed` (data parallelism: under `torchrun` or
`accelerate launch` each process rolls out its share of the global batch, and N processes take the same steps as
one, docs/scaling.md), `checkpoint` (resumable runs), `models` (LoRA set-up, prompt ids, the shared frozen
layers), `decode` (a faster rollout sampler: LoRA merged into a plain copy, bf16 where native, which in fp32 also
hands the rollout the frozen trunk; `PPOConfig(sampler="decode")`). Judging a tuned policy is `judge`'s; the reward
model as PPO's score is `reward.text_reward_fn`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from . import checkpoint, distributed, models


# ======================================================================================= the formulas
def masked_mean(x: torch.Tensor, mask: torch.Tensor, dim=None) -> torch.Tensor:
    """Mean of `x` over the positions where `mask` is 1 (response tokens), optionally along `dim`."""
    mask = mask.to(x.dtype)
    if dim is None:
        return (x * mask).sum() / mask.sum().clamp(min=1)
    return (x * mask).sum(dim) / mask.sum(dim).clamp(min=1)


def kl_estimators(logprobs: torch.Tensor, ref_logprobs: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-token estimators of KL(π‖π_ref) from samples of π (Schulman, "Approximating KL divergence").

    With the log-ratio ℓ = log π − log π_ref (chapter 4 §3; not PPO's ratio ρ = π_θ/π_old of `policy_loss`):
    k1 = ℓ (unbiased, can be negative), k2 = ½ ℓ² (biased, low variance), k3 = (e^−ℓ − 1) + ℓ (unbiased, ≥ 0,
    lower variance than k1 when π is close to π_ref). k1 and k3 both have the KL as their expectation; only k1,
    paid as a reward with no gradient through it, gives a policy gradient E[k1 ∇log π] that is an unbiased
    gradient of the KL (E[∇log π] = 0). That is why `kl_penalty_rewards` pays k1; k3 is for measuring the KL.
    """
    log_ratio = logprobs - ref_logprobs  # ℓ
    return {"k1": log_ratio, "k2": 0.5 * log_ratio ** 2, "k3": torch.expm1(-log_ratio) + log_ratio}


def leave_one_out(scores: torch.Tensor, k: int) -> torch.Tensor:
    """Each score minus the mean score of the other k−1 answers to the same prompt (RLOO's baseline).

    scores (B,), the k answers of each prompt consecutive (B = prompts · k) -> centred scores (B,). The baseline
    uses no answer's own score, so subtracting it leaves the policy gradient unbiased, and it removes what the
    prompt alone explains (an easy prompt scores high whatever the answer): the advantage says which answer to
    *this* prompt was better. The value head still learns what is left, token by token.
    """
    if k < 2:
        raise ValueError(f"a leave-one-out baseline needs at least 2 samples per prompt, got {k}")
    if len(scores) % k:
        raise ValueError(f"{len(scores)} scores are not whole groups of {k} samples per prompt")
    groups = scores.view(-1, k)  # (prompts, k)
    others = (groups.sum(1, keepdim=True) - groups) / (k - 1)  # mean of the other k−1
    return (groups - others).view(-1)


def kl_penalty_rewards(scores: torch.Tensor, logprobs: torch.Tensor, ref_logprobs: torch.Tensor,
                       mask: torch.Tensor, beta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token rewards: −β·k1 at every response token, plus the sequence's score at its last token.

    k1 rather than k3 (`kl_estimators`): as a reward with no gradient through it, k1's policy gradient is an
    unbiased gradient of KL(π‖π_ref); k3's, though k3 is an unbiased estimate of the KL's value, is not.

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


def global_masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """`masked_mean` over the masked positions of EVERY process (data parallelism); the same with one process."""
    mask = mask.to(x.dtype)
    total = distributed.all_sum(torch.stack([(x * mask).sum(), mask.sum()]))
    return total[0] / total[1].clamp(min=1)


def whiten(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(x − mean) / std over the masked positions (the advantages, so that each batch's steps have one scale).

    Under data parallelism the mean and std are those of the whole global batch, not of one process's share.
    """
    mean = global_masked_mean(x, mask)
    var = global_masked_mean((x - mean) ** 2, mask)
    return (x - mean) * torch.rsqrt(var + 1e-8)


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
      top layers run again: the same numbers, at a fraction of the cost (see `models.split_decoder`).
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
        self.frozen_bottom = frozen_bottom
        if frozen_bottom:
            if ref_policy is not None or value_model is not None:
                raise ValueError("frozen_bottom needs the shared-backbone set-up (LoRA policy, no separate models)")
            self.bottom, self.top = models.split_decoder(policy, frozen_bottom)
            if any(p.requires_grad for p in self.bottom.parameters()):
                raise ValueError(f"frozen_bottom={frozen_bottom}: the bottom layers have trainable weights "
                                 "(put the LoRA adapters on the top layers only: models.with_lora(top_layers=...))")

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]

    def sampler(self, reference: bool = False):
        """`decode.Sampler` of the current policy (or of π_ref): built on first use, refreshed on every call.

        The refresh merges the LoRA adapters again; for the reference of a peft policy it runs with the adapters
        switched off, so the same plain copy then holds the base weights (the next call merges them back).
        """
        from .decode import Sampler

        if reference and self.ref_policy is not None:  # a separate frozen reference: its own copy, never refreshed
            if getattr(self, "_ref_sampler", None) is None:
                self._ref_sampler = Sampler(self.ref_policy)
            return self._ref_sampler
        with self.policy.disable_adapter() if reference else contextlib.nullcontext():
            if getattr(self, "_sampler", None) is None:
                self._sampler = Sampler(self.policy)  # not a Module: not saved, not trained
            else:
                self._sampler.refresh()
        return self._sampler



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
    samples_per_prompt: int = 1       # k answers to each prompt in a rollout (batch_size / k prompts per step)
    baseline: str = "value"           # "value": GAE's value head only | "loo": also the leave-one-out mean score
    max_grad_norm: float = 1.0
    seed: int = 0
    autocast: bool = True             # bf16 autocast: ~2x faster on a modern CPU, the norm on GPUs
    sampler: str = "generate"         # "generate" (transformers) or "decode" (`decode.Sampler`: LoRA merged)
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


@torch.no_grad()
def sample_responses(ac: ActorCritic, prompt_ids, prompt_mask, cfg: PPOConfig, eos_id: int, pad_id: int, seed: int,
                     reference: bool = False) -> torch.Tensor:
    """Responses (B, R) of π (or of π_ref) by the sampler `cfg.sampler` names: "generate" (`sample`) or "decode"
    (`decode.Sampler`, LoRA merged into a bf16 copy). What the rollout and the judge both draw with."""
    if cfg.sampler == "decode":
        return ac.sampler(reference).sample(prompt_ids, prompt_mask, cfg.max_new_tokens, cfg.temperature, eos_id,
                                            pad_id, seed)[0]
    if cfg.sampler != "generate":
        raise ValueError(f"PPOConfig.sampler is {cfg.sampler!r}: use 'generate' or 'decode'")
    lm = ac.ref_policy if reference and ac.ref_policy is not None else ac.policy
    with ac.policy.disable_adapter() if reference and ac.ref_policy is None else contextlib.nullcontext():
        return sample(lm, prompt_ids, prompt_mask, cfg.max_new_tokens, cfg.temperature, eos_id, pad_id, seed,
                      cfg.autocast)


@torch.no_grad()
def sample_and_trunk(ac: ActorCritic, prompt_ids, prompt_mask, cfg: PPOConfig, eos_id: int, pad_id: int, seed: int,
                     reference: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Responses (B, R) as `sample_responses` draws them, and the frozen trunk over [prompt, response] (B, P+R, H).

    The decode sampler runs the bottom layers over every position anyway, so when it does so in the policy's own
    arithmetic (same dtype, no autocast) its states are the trunk and `trunk_states` need not run again. Otherwise
    the trunk is None and the caller runs `trunk_states`. The bottom layers carry no adapters, so π and π_ref share it.
    """
    shared = cfg.sampler == "decode" and ac.bottom is not None and not cfg.autocast
    if not shared:
        return sample_responses(ac, prompt_ids, prompt_mask, cfg, eos_id, pad_id, seed, reference), None
    sampler = ac.sampler(reference)
    keep = ac.frozen_bottom if sampler.dtype == next(ac.bottom.parameters()).dtype else None
    responses, _ = sampler.sample(prompt_ids, prompt_mask, cfg.max_new_tokens, cfg.temperature, eos_id, pad_id, seed,
                                  keep_layer=keep)
    return responses, sampler.states if keep is not None else None


# What PPO maximises: (prompt records, response token ids) -> one score per response (e.g. `reward.text_reward_fn`)
ResponseScoreFn = Callable[[list, list[list[int]]], Sequence[float]]


@torch.no_grad()
def rollout(ac: ActorCritic, prompts: list[Sequence[int]], meta: list, reward_fn: ResponseScoreFn, cfg: PPOConfig,
            eos_id: int, pad_id: int, seed: int) -> Rollout:
    """Sample a response to each prompt, score it, and record log π_old, log π_ref and V_old (no gradients)."""
    device = next(ac.parameters()).device
    p_ids, p_mask = (t.to(device) for t in models.pad_batch(prompts, pad_id, side="left"))
    responses, sampled_trunk = sample_and_trunk(ac, p_ids, p_mask, cfg, eos_id, pad_id, seed)
    r_mask, finished = response_mask(responses.cpu(), eos_id)
    r_mask, finished = r_mask.to(device), finished.to(device)
    ids, mask = torch.cat([p_ids, responses], 1), torch.cat([p_mask, r_mask], 1)
    n = p_ids.shape[1]
    logprobs, values, ref, trunks = [], [], [], []
    with models.autocast(device, cfg.autocast):
        for chunk in torch.arange(len(prompts)).split(cfg.minibatch_size):
            trunk = sampled_trunk[chunk] if sampled_trunk is not None else trunk_states(ac, ids[chunk], mask[chunk])
            lp, v, _ = evaluate_actions(ac, ids[chunk], mask[chunk], n, cfg.temperature, trunk=trunk)
            logprobs.append(lp)
            values.append(v)
            ref.append(reference_logprobs(ac, ids[chunk], mask[chunk], n, cfg.temperature, trunk=trunk))
            trunks.append(trunk)
    raw = torch.as_tensor([float(s) for s in reward_fn(meta, trim(responses, r_mask))], device=device)
    if not torch.isfinite(raw).all():
        raise FloatingPointError(f"the reward function returned non-finite scores: {raw.tolist()}")
    scores = raw
    if cfg.missing_eos_penalty is not None:
        scores = torch.where(finished, raw, torch.full_like(raw, cfg.missing_eos_penalty))
    m = r_mask.float()
    return Rollout(ids, mask, n, m, finished, torch.cat(logprobs) * m, torch.cat(ref) * m,
                   torch.cat(values) * m, scores, raw, None if trunks[0] is None else torch.cat(trunks))


def trim(responses: torch.Tensor, mask: torch.Tensor) -> list[list[int]]:
    """Response ids (B, R) as token lists, each cut where its `mask` ends (after EOS)."""
    return [row[:int(k)].tolist() for row, k in zip(responses.cpu(), mask.sum(1).cpu(), strict=True)]


# ============================================================================================= update
def ppo_update(ac: ActorCritic, optimizer: torch.optim.Optimizer, batch: Rollout, cfg: PPOConfig, beta: float,
               seed: int) -> dict[str, float]:
    """Turn one rollout batch into rewards, advantages and `cfg.epochs` passes of clipped PPO; returns its stats.

    Data parallel, `batch` is this process's share of the global batch: minibatches are drawn from the global
    batch (each process trains on its part of each), so N processes take the same steps as one process would.
    """
    m = batch.response_mask
    # 0. (optional) the per-prompt baseline: each score against the other answers to its prompt
    scores = leave_one_out(batch.scores, cfg.samples_per_prompt) if cfg.baseline == "loo" else batch.scores
    # 1. rewards: the score at the last token, a KL penalty at every token
    rewards, kl = kl_penalty_rewards(scores, batch.logprobs, batch.ref_logprobs, m, beta)
    # 2. advantages and returns by GAE, advantages whitened over the batch
    advantages, returns = gae(rewards, batch.values, m, cfg.gamma, cfg.lam)
    advantages = whiten(advantages, m)
    # 3. epochs x minibatches of clipped policy + value loss
    params = ac.trainable_parameters()
    generator = torch.Generator().manual_seed(seed)
    device = batch.ids.device
    n_local = len(batch.scores)
    logs: dict[str, list[float]] = {}
    for _ in range(cfg.epochs):
        for chunk in torch.randperm(distributed.global_size(n_local), generator=generator).split(cfg.minibatch_size):
            idx = distributed.local_rows(chunk, n_local).to(device)  # the episodes of this minibatch I hold
            n_tokens = distributed.all_sum(m[idx].sum())  # response tokens of the whole (global) minibatch
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
                    raise checkpoint.NonFiniteLossError(
                        f"PPO loss is {loss.item()} (policy {pg_loss.item()}, value {vf_loss.item()}); lower the "
                        f"learning rate or check the reward scores")
                # token mean over the GLOBAL minibatch: my tokens' share of it (1 with one process)
                (loss * (m[idx].sum() / n_tokens)).backward()
                logs_now = {"loss/policy": pg_loss.item(), "loss/value": vf_loss.item(),
                            "policy/entropy": float(masked_mean(entropy, m[idx])), **pg_stats, **vf_stats}
            distributed.sync_gradients(params)  # summed over processes: the gradient of the global minibatch's loss
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
    return distributed.mean_over_processes(stats, device)


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


def train(ac: ActorCritic, prompts: list[Sequence[int]], meta: list, reward_fn: ResponseScoreFn, cfg: PPOConfig,
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
    rank, n_proc = distributed.world()
    k = cfg.samples_per_prompt
    if cfg.batch_size % n_proc or (cfg.batch_size // n_proc) % k:
        raise ValueError(f"batch_size {cfg.batch_size} must be a multiple of the number of processes ({n_proc}) "
                         f"times samples_per_prompt ({k}): a prompt's answers stay in one process")
    if cfg.baseline not in ("value", "loo"):
        raise ValueError(f"PPOConfig.baseline is {cfg.baseline!r}: use 'value' or 'loo'")
    if cfg.baseline == "loo" and k < 2:
        raise ValueError("baseline='loo' needs samples_per_prompt >= 2 (the other answers to the same prompt)")
    params = ac.trainable_parameters()
    if not params:
        raise ValueError("the actor-critic has no trainable parameters (add LoRA adapters or unfreeze the policy)")
    distributed.broadcast_parameters(params)  # every process starts from rank 0's adapters
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, eps=1e-5, weight_decay=0.0)
    kl_ctl = cfg.kl_controller()
    history = resume(ckpt_dir, ac, optimizer, kl_ctl, cfg, restart_if_changed)
    bar = tqdm(range(len(history), cfg.steps), desc="PPO", disable=not progress or rank > 0, initial=len(history),
               total=cfg.steps)
    for step in bar:
        t_step = time.perf_counter()
        chosen = batch_indices(len(prompts), cfg.batch_size // k, step, cfg.seed)  # the step's prompts ...
        idx = distributed.local_share([i for i in chosen for _ in range(k)])  # ... k times each: my episodes
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
            checkpoint.save(ckpt_dir, ac, optimizer, cfg, {"beta": kl_ctl.beta, "history": history}, WEIGHTS_FILE)
        if callback:
            callback(step, stats, batch)
    return history


# ============================================================================== resuming (checkpoint.py)
WEIGHTS_FILE = "trainable.safetensors"  # LoRA adapters and the value head
FREE_FIELDS = ("steps", "save_every")  # a run may be extended or checkpointed more often; nothing else may change


def resume(ckpt_dir: str | Path | None, ac: ActorCritic, optimizer, kl_ctl, cfg: PPOConfig,
           restart_if_changed: bool = False) -> list[dict]:
    """The log of the run checkpointed in `ckpt_dir`, its weights, optimizer and β restored (its length is the next
    step); [] without one. A checkpoint made with other settings raises `checkpoint.CheckpointMismatchError`, or
    with `restart_if_changed` is ignored (and replaced at the next save)."""
    if not checkpoint.exists(ckpt_dir):
        return []
    try:
        state = checkpoint.load(ckpt_dir, ac, optimizer, cfg, WEIGHTS_FILE, free=FREE_FIELDS)
    except checkpoint.CheckpointMismatchError as err:
        if not restart_if_changed:
            raise
        print(f"the checkpoint in {ckpt_dir} was made with other settings ({', '.join(err.changed)}): starting afresh")
        return []
    kl_ctl.beta = state["beta"]
    return state["history"]
