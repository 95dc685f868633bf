"""Chapter 6: PPO, best-of-n, DPO and RLOO on one problem (their time and memory metered by `meters`).

Every method is judged the same way, by `rlhf_lib.judge` (the one judge of the course): sample it on the stratified
held-out prompts, score each answer with the hidden gold utility, count wins against the reference's answers to the
same prompts (ties split, 95% CI by prompt), and measure the KL it spent. The formulas here:

    KL(best-of-n ‖ π_ref)     = log n − (n−1)/n                      best_of_n_kl  (an upper bound; exact for
                                                                       continuous rewards without ties)
    P(i-th lowest of N is the best of a random n-subset) = C(i−1, n−1) / C(N, n)      best_of_n_weights
    L_DPO = −log σ(β[(log π − log π_ref)(y_w) − (log π − log π_ref)(y_l)])            dpo_loss
    r̂(x, y) = β (log π(y|x) − log π_ref(y|x))                        implicit_rewards  (DPO's implicit reward)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from . import models


# ============================================================================================ best-of-n
def best_of_n_kl(n: int) -> float:
    """KL(π_best-of-n ‖ π_ref) ≤ log n − (n−1)/n nats, whatever the reward (Stiennon et al. 2020, appendix).

    Exact only when the reference never draws the same answer twice (no ties among the n); answers that repeat,
    such as a small model's terse ones, make the true KL smaller, so this overstates it (Beirami et al. 2024).
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"best-of-n needs an integer n >= 1 (got {n!r})")
    return math.log(n) - (n - 1) / n


def best_of_n_weights(n_pool: int, n: int) -> np.ndarray:
    """w[i] = P(the sample of rank i (0 = lowest) of `n_pool` is the best of a random n-subset) = C(i, n−1)/C(N, n).

    With N samples per prompt scored once, Σ_i w[i]·value[i] is the exact average of "pick the best of n" over
    every n-subset of the pool: an unbiased, low-variance estimate for every n <= N from one set of samples.
    """
    if not 1 <= n <= n_pool:
        raise ValueError(f"best-of-{n} needs 1 <= n <= the pool size {n_pool}")
    w = np.array([math.comb(i, n - 1) for i in range(n_pool)], dtype=float)  # i = rank from 0 (lowest)
    return w / math.comb(n_pool, n)


def best_of_n_mean(proxy: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Expected `values` of the best-of-n answer (by `proxy`) per prompt: proxy, values (P, N) -> (P,)."""
    proxy, values = np.asarray(proxy, dtype=float), np.asarray(values, dtype=float)
    if proxy.shape != values.shape or proxy.ndim != 2:
        raise ValueError(f"proxy and values must both be (prompts, samples); got {proxy.shape} and {values.shape}")
    order = np.argsort(proxy, axis=1, kind="stable")  # ascending: the last is the best
    ranked = np.take_along_axis(values, order, axis=1)
    return ranked @ best_of_n_weights(proxy.shape[1], n)


def best_of_n_win_rate(proxy: np.ndarray, gold: np.ndarray, ref_gold: np.ndarray, n: int,
                       tie: float = 1e-9) -> float:
    """Expected gold win rate of best-of-n over reference answers to the same prompts, ties split.

    proxy, gold (P, N): reward-model score and gold utility of N candidates per prompt; ref_gold (P, M): gold
    utility of M independent reference answers per prompt.
    """
    gold, ref_gold = np.asarray(gold, dtype=float), np.asarray(ref_gold, dtype=float)
    if ref_gold.ndim != 2 or ref_gold.shape[0] != gold.shape[0]:
        raise ValueError(f"ref_gold must be (prompts, answers) with {gold.shape[0]} prompts; got {ref_gold.shape}")
    diff = gold[:, :, None] - ref_gold[:, None, :]  # (P, N, M)
    wins = np.where(np.abs(diff) <= tie, 0.5, (diff > 0).astype(float)).mean(2)  # (P, N) vs all M references
    return float(best_of_n_mean(proxy, wins, n).mean())


# ================================================================================================= DPO
def dpo_loss(logp_chosen: torch.Tensor, logp_rejected: torch.Tensor, ref_chosen: torch.Tensor,
             ref_rejected: torch.Tensor, beta: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The DPO loss (mean over pairs) and the implicit rewards β·log(π/π_ref) of chosen and rejected; (B,) inputs.

    Bradley-Terry on the implicit reward: P(y_w ≻ y_l) = σ(r̂(y_w) − r̂(y_l)); the loss is its negative log.
    """
    r_chosen = beta * (logp_chosen - ref_chosen)  # (B,)
    r_rejected = beta * (logp_rejected - ref_rejected)
    return -F.logsigmoid(r_chosen - r_rejected).mean(), r_chosen, r_rejected


def conversation_ids(tokenizer, prompt: str, response: str) -> tuple[list[int], list[int]]:
    """(prompt ids, response ids) in the chat template, split the way TRL's DPOTrainer splits them.

    The response part ends with the template's end-of-turn tokens, so log π(y|x) includes "and then stop".
    """
    user = [{"role": "user", "content": prompt}]
    p_ids = tokenizer.apply_chat_template(user, add_generation_prompt=True, tokenize=True, return_dict=False)
    full = tokenizer.apply_chat_template(user + [{"role": "assistant", "content": response}], tokenize=True,
                                         return_dict=False)
    cut = next((i for i, (a, b) in enumerate(zip(p_ids, full, strict=False)) if a != b), min(len(p_ids), len(full)))
    return list(full[:cut]), list(full[cut:])


@torch.no_grad()
def sequence_logprobs(model, tokenizer, prompts: Sequence[str], responses: Sequence[str], batch_size: int = 8,
                      max_length: int = 512, progress: bool = False) -> torch.Tensor:
    """log π(y|x) = Σ_t log π(y_t | x, y_<t) of each response (temperature 1), as a float tensor (N,).

    Sequences longer than `max_length` keep their start (the prompt and the first response tokens), as TRL does.
    """
    if len(prompts) != len(responses):
        raise ValueError(f"{len(prompts)} prompts but {len(responses)} responses")
    device = next(model.parameters()).device
    pairs = [conversation_ids(tokenizer, p, r) for p, r in zip(prompts, responses, strict=True)]
    out = torch.zeros(len(pairs))
    for start in tqdm(range(0, len(pairs), batch_size), desc="log-probs", disable=not progress):
        chunk = pairs[start:start + batch_size]
        seqs = [(p + r)[:max_length] for p, r in chunk]
        ids, mask = models.pad_batch(seqs, tokenizer.pad_token_id, side="right")  # (B, L)
        labels_mask = torch.zeros_like(mask)
        for i, (p, _) in enumerate(chunk):
            labels_mask[i, len(p):len(seqs[i])] = 1  # response tokens only
        logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits.float()  # (B, L, V)
        logp = torch.log_softmax(logits[:, :-1], -1).gather(-1, ids[:, 1:, None].to(device))[..., 0]  # (B, L-1)
        out[start:start + len(chunk)] = (logp.cpu() * labels_mask[:, 1:]).sum(1)
    return out


def implicit_rewards(model, tokenizer, prompts: Sequence[str], chosen: Sequence[str], rejected: Sequence[str],
                     beta: float, batch_size: int = 8, progress: bool = False) -> dict[str, np.ndarray]:
    """DPO's implicit reward β·log(π/π_ref) of both answers of each pair; π_ref = the peft model, adapters off."""
    if not hasattr(model, "disable_adapter"):
        raise ValueError("implicit_rewards needs a peft model: its reference is the model with the adapters off")
    logp = {k: sequence_logprobs(model, tokenizer, prompts, ys, batch_size, progress=progress)
            for k, ys in (("chosen", chosen), ("rejected", rejected))}
    with model.disable_adapter():
        ref = {k: sequence_logprobs(model, tokenizer, prompts, ys, batch_size, progress=progress)
               for k, ys in (("chosen", chosen), ("rejected", rejected))}
    return {k: (beta * (logp[k] - ref[k])).numpy() for k in logp}


def pair_subset(dataset, max_rows: int | None = None, seed: int = 0):
    """`max_rows` pairs drawn at random (the files are ordered by prompt, so the first rows are one category)."""
    if max_rows is None or max_rows >= len(dataset):
        return dataset
    return dataset.shuffle(seed=seed).select(range(max_rows))


def conversational_pairs(dataset, max_rows: int | None = None, seed: int = 0):
    """Chapter 1's prompt/chosen/rejected rows in TRL's conversational format (so the chat template is applied)."""
    from datasets import Dataset

    rows = pair_subset(dataset, max_rows, seed)
    return Dataset.from_dict({
        "prompt": [[{"role": "user", "content": p}] for p in rows["prompt"]],
        "chosen": [[{"role": "assistant", "content": c}] for c in rows["chosen"]],
        "rejected": [[{"role": "assistant", "content": r}] for r in rows["rejected"]],
    })


# ================================================================================== online (TRL) glue
def eos_penalised(reward_fn, eos_id: int, penalty: float | None):
    """A TRL reward function that scores an answer cut by the token budget `penalty`, as `ppo.rollout` does.

    TRL hands the completion's token ids (ending with EOS when the model stopped by itself) to reward functions.
    """
    if penalty is None:
        return reward_fn

    def fn(prompts, completions, completion_ids, **kwargs) -> list[float]:
        scores = reward_fn(prompts, completions, **kwargs)
        return [s if len(ids) and ids[-1] == eos_id else penalty for s, ids in zip(scores, completion_ids, strict=True)]

    fn.__name__ = getattr(reward_fn, "__name__", "reward")
    return fn


# ========================================================================================= evaluation
# ===================================================================================== the method table
@dataclass
class MethodRow:
    """One line of the comparison: what a method reached on the test prompts and what it cost to get there."""

    method: str
    win_rate: float
    kl: float                    # nats per response to the reference (analytic for best-of-n)
    gold: float
    rm: float
    seconds: float | None        # wall time of training (best-of-n: of the extra samples and scores)
    peak_mb: float | None
    delta_mb: float | None
    note: str = ""
    extra: dict = field(default_factory=dict)
    ci: tuple[float, float] | None = None  # 95% CI of the win rate, resampled by prompt (`judge.versus`)


def table(rows: Sequence[MethodRow]) -> str:
    """The rows as a markdown table."""
    def fmt(x, spec):
        return "—" if x is None else format(x, spec)

    lines = ["| method | gold win rate vs base | KL (nats) | gold | RM | wall time (s) | peak RSS (MiB) | "
             "added RSS (MiB) | note |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        win = f"{r.win_rate:.1%}" + (f" [{r.ci[0]:.1%}, {r.ci[1]:.1%}]" if r.ci else "")
        lines.append(f"| {r.method} | {win} | {r.kl:.2f} | {r.gold:+.3f} | {r.rm:+.3f} | "
                     f"{fmt(r.seconds, '.0f')} | {fmt(r.peak_mb, '.0f')} | {fmt(r.delta_mb, '.0f')} | {r.note} |")
    return "\n".join(lines)
