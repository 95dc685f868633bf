"""Chapter 6's exercises: the DPO loss, best-of-n's exact KL, RLOO's baseline, GRPO's per-token weights.

Every check builds its own small inputs (seeded tensors, or a few discrete distributions): no model is loaded.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from .registry import Wrong, _call, _exercise, _expect, _number


# ------------------------------------------------------------------------------------------------ 06.1
def _dpo_variants(lc, lr, rc, rr, beta: float) -> dict[str, float]:
    """The DPO loss (mean over pairs) and those of common mistakes (for hints), in float64."""
    lc, lr, rc, rr = (x.double() for x in (lc, lr, rc, rr))

    def loss(margin, reduce=torch.mean):
        return float(reduce(-F.logsigmoid(margin)))

    right = beta * ((lc - rc) - (lr - rr))
    return {
        "right": loss(right),
        "no reference": loss(beta * (lc - lr)),
        "reference added": loss(beta * ((lc + rc) - (lr + rr))),
        "no beta": loss((lc - rc) - (lr - rr)),
        "divided by beta": loss(((lc - rc) - (lr - rr)) / beta),
        "swapped": loss(-right),
        "sum": loss(right, torch.sum),
        "no minus": -loss(right),
    }


@_exercise("06.1", "the DPO loss from log-probabilities")
def _dpo(fn) -> str:
    g = torch.Generator().manual_seed(6)
    for beta in (0.1, 0.5):
        lc, lr = -torch.rand(8, generator=g) * 40 - 5, -torch.rand(8, generator=g) * 40 - 5  # log π_θ(y|x), summed
        rc, rr = lc + torch.randn(8, generator=g) * 3, lr + torch.randn(8, generator=g) * 3  # log π_ref(y|x)
        name = f"dpo_loss(logp_chosen, logp_rejected, ref_chosen, ref_rejected, beta={beta})"
        args = [x.clone().requires_grad_(i < 2) for i, x in enumerate((lc, lr, rc, rr))]
        out = _call(fn, *args, beta, name=name)
        got = _number(out, name)
        v = _dpo_variants(lc, lr, rc, rr, beta)
        if abs(got - v["right"]) > 1e-5 * max(1.0, abs(v["right"])):
            hints = {
                "no reference": "the reference model's log-probs are missing: the implicit reward is "
                                "β·(log π_θ − log π_ref), for the chosen and for the rejected answer",
                "reference added": "the reference's log-probs are added; they are subtracted: β·(log π_θ − log π_ref)",
                "no beta": f"the margin is not scaled by β = {beta}",
                "divided by beta": "the margin is divided by β; it is multiplied: r̂ = β·log(π_θ/π_ref)",
                "swapped": "chosen and rejected are swapped: the loss is −log σ(r̂_chosen − r̂_rejected)",
                "sum": "that is the sum over the pairs: take the mean",
                "no minus": "that is the log-likelihood to maximise: the loss is its negative",
            }
            for key, hint in hints.items():
                _expect(abs(got - v[key]) > 1e-5 * max(1.0, abs(v[key])), f"with beta={beta}: {hint}")
            raise Wrong(f"with beta={beta} the loss is {got:.5f}, expected {v['right']:.5f} = mean of "
                        f"−log σ(β·[(log π_θ − log π_ref)(y_w) − (log π_θ − log π_ref)(y_l)])")
        _expect(isinstance(out, torch.Tensor) and out.requires_grad,
                "the loss carries no gradient to the policy's log-probs: build it with torch operations "
                "(no .item(), no NumPy) so that backward() reaches the policy")
    # a pair the policy has got badly wrong: a margin of −2000 nats must give a finite, linear loss
    big = [torch.tensor([-2010.0]), torch.tensor([-10.0]), torch.tensor([-10.0]), torch.tensor([-2010.0])]
    out = _call(fn, *big, 1.0, name="dpo_loss on a margin of −4000 nats")
    value = out.item() if isinstance(out, torch.Tensor) and out.numel() == 1 else out
    _expect(isinstance(value, int | float) and math.isfinite(value) and abs(value - 4000.0) < 1e-2,
            f"on a pair with an implicit-reward margin of −4000 the loss is {value}, expected 4000: log(sigmoid(x)) "
            f"underflows to log 0 = −inf; use F.logsigmoid, which is exact for any x")
    return ("matches compare.dpo_loss for β = 0.1 and 0.5 and stays finite on a huge margin; the gradient reaches "
            "the policy's log-probs only, the reference's are constants")


# ------------------------------------------------------------------------------------------------ 06.2
def _bon_probs(p: np.ndarray, n: int) -> np.ndarray:
    """π_BoN(y_i) = F(i)^n − F(i−1)^n for answers listed from the lowest reward to the highest."""
    cdf = np.cumsum(p)
    return cdf ** n - (cdf - p) ** n


def _kl(a: np.ndarray, b: np.ndarray) -> float:
    keep = a > 0
    return float(np.sum(a[keep] * np.log(a[keep] / b[keep])))


def bon_cases_06() -> dict[str, np.ndarray]:
    """Exercise 06.2: reference distributions over a few answers, listed from the lowest reward to the highest.

    "terse": a reference that gives the same short answer, the best one, four times in five (its samples repeat);
    "three": three
    answers, to work out by hand; "many": 2000 equally likely answers (samples almost never repeat).
    """
    return {"terse": np.array([0.05, 0.1, 0.05, 0.8]), "three": np.array([0.5, 0.3, 0.2]),
            "many": np.full(2000, 1 / 2000)}


@_exercise("06.2", "best-of-n's exact KL for a discrete reference")
def _bon_kl(fn) -> str:
    cases = bon_cases_06()
    rows = {}
    for name, p in cases.items():
        for n in (1, 2, 4, 16):
            call = f"best_of_n_kl_exact(p, n={n}) on the {name!r} reference"
            got = _number(_call(fn, p.copy(), n, name=call), call)
            q = _bon_probs(p, n)
            want = _kl(q, p)
            if abs(got - want) > 1e-6 * max(1.0, want):
                bound = math.log(n) - (n - 1) / n
                _expect(abs(got - bound) > 1e-6,
                        f"{call} = {got:.4f} is the formula log n − (n−1)/n, exact only when samples never repeat; "
                        f"compute π_BoN of each answer and the KL exactly (here it is smaller)")
                _expect(abs(got - _kl(p, q)) > 1e-6, f"{call}: that is KL(π_ref‖π_BoN); the KL best-of-n spends is "
                                                     f"KL(π_BoN‖π_ref) = Σ π_BoN·log(π_BoN/π_ref)")
                _expect(abs(got - _kl(_bon_probs(p[::-1], n)[::-1], p)) > 1e-6,
                        f"{call}: your best-of-n picks the LOWEST reward; the answers are listed from the lowest "
                        f"reward to the highest, so the best is the last")
                dens = n * np.cumsum(p) ** (n - 1) * p
                _expect(abs(got - float(np.sum(dens * np.log(dens / p)))) > 1e-6,
                        f"{call}: n·F^(n−1)·p is the continuous formula; with repeated answers it does not even sum to "
                        f"1 (here {dens.sum():.3f}). π_BoN(y_i) = P(best ≤ i) − P(best ≤ i−1) = F(i)^n − F(i−1)^n")
                raise Wrong(f"{call} = {got:.5f}, expected {want:.5f}: Σ π_BoN·log(π_BoN/π_ref) with "
                            f"π_BoN(y_i) = F(i)^n − F(i−1)^n, F the reference's CDF from the lowest reward up")
            rows[(name, n)] = (want, math.log(n) - (n - 1) / n)
    exact, bound = rows[("terse", 16)]
    many, _ = rows[("many", 16)]
    return (f"exact for every case. At n = 16 the formula says {bound:.3f} nats; the terse reference spends only "
            f"{exact:.3f} (its samples repeat, so the best of 16 is often an answer it gives anyway); 2000 equally "
            f"likely answers spend {many:.3f}, close to the formula")


# ------------------------------------------------------------------------------------------------ 06.3
@_exercise("06.3", "RLOO's leave-one-out advantages")
def _rloo(fn) -> str:
    rng = np.random.default_rng(3)
    for shape in ((3, 4), (2, 2), (5, 8)):
        rewards = np.round(rng.normal(0, 1, shape) + rng.normal(0, 2, (shape[0], 1)), 2)  # prompts differ in level
        call = f"rloo_advantages(rewards of shape {shape})"
        out = _call(fn, rewards.copy(), name=call)
        got = np.asarray(out.detach() if isinstance(out, torch.Tensor) else out, dtype=float)
        _expect(got.shape == shape, f"{call} returned shape {got.shape}: one advantage per answer, {shape}")
        g = shape[1]
        others = (rewards.sum(1, keepdims=True) - rewards) / (g - 1)
        want = rewards - others
        if np.abs(got - want).max() > 1e-6:
            centred = rewards - rewards.mean(1, keepdims=True)
            variants = {
                "the baseline includes the answer's own reward (R − group mean): leave answer i out of its own "
                "baseline, b_i = mean of the OTHER G − 1 rewards, so that it does not depend on y_i": centred,
                "the baseline is the mean of the whole batch; it is the mean of the other answers to the SAME "
                "prompt (each row is one prompt's group)": rewards - (rewards.sum() - rewards) / (rewards.size - 1),
                "that divides by the group's std (GRPO); RLOO only subtracts the leave-one-out mean":
                    centred / (rewards.std(1, keepdims=True) + 1e-8),
                "the sum of the others is divided by G; there are G − 1 others":
                    rewards - (rewards.sum(1, keepdims=True) - rewards) / g,
            }
            for hint, x in variants.items():
                _expect(np.abs(got - x).max() > 1e-6, f"{call}: {hint}")
            raise Wrong(f"{call}: expected A_i = R_i − (Σ_j R_j − R_i)/(G − 1) per row; off by up to "
                        f"{np.abs(got - want).max():.3g}")
    return "A_i = R_i − mean of the others = G/(G−1)·(R_i − group mean): RLOO is a rescaled, unbiased group baseline"


# ------------------------------------------------------------------------------------------------ 06.4
def _grpo_weights(rewards, lengths, max_len, ddof=0, per="response", std=True) -> np.ndarray:
    r, n = np.asarray(rewards, float), np.asarray(lengths, int)
    a = r - r.mean()
    if std:
        a = a / (r.std(ddof=ddof) + 1e-4)
    mask = np.arange(max_len)[None, :] < n[:, None]
    scale = {"response": 1 / (len(r) * n), "max_len": np.full(len(r), 1 / (len(r) * max_len)),
             "tokens": np.full(len(r), 1 / n.sum()), "none": np.ones(len(r))}[per]
    return (a * scale)[:, None] * mask


def _close(x: np.ndarray, y: np.ndarray) -> bool:
    """Equal up to the choice of ε in std + ε (and rounding): relative to the largest weight."""
    return bool(np.abs(x - y).max() <= 1e-3 * np.abs(y).max() + 1e-9)


@_exercise("06.4", "GRPO's per-token weights and its length bias")
def _grpo(fn) -> str:
    cases = [([1.0, 0.0, 0.0, 1.0], [4, 12, 3, 9], 12), ([0.3, 0.9, -0.5], [2, 5, 8], 8),
             ([0.5, 0.5, 0.5], [3, 6, 2], 6)]  # the last group is all ties: std 0
    for rewards, lengths, max_len in cases:
        call = f"grpo_token_weights(rewards={rewards}, lengths={lengths}, max_len={max_len})"
        out = _call(fn, np.array(rewards), np.array(lengths), max_len, name=call)
        got = np.asarray(out.detach() if isinstance(out, torch.Tensor) else out, dtype=float)
        shape = (len(rewards), max_len)
        _expect(got.shape == shape, f"{call} returned shape {got.shape}, expected {shape}: one weight per token slot")
        _expect(np.isfinite(got).all(), f"{call} has NaN or inf: when every answer of a group gets the same reward "
                                        f"the std is 0; add a small ε to it (the advantages are then 0)")
        if any(_close(got, _grpo_weights(rewards, lengths, max_len, d)) for d in (0, 1)):
            continue
        mask = np.arange(max_len)[None, :] < np.array(lengths)[:, None]
        _expect(np.abs(got[~mask]).max() < 1e-9, f"{call}: the padding after each answer gets a weight; it must be 0")
        hints = {
            "max_len": "that divides by G·max_len for every answer: Dr. GRPO's constant normaliser. GRPO averages each "
                       "answer over its OWN tokens, 1/(G·|y_i|)",
            "tokens": "that divides by the total number of tokens of the group (a token-level mean, as DAPO does). "
                      "GRPO averages each answer over its own tokens, 1/(G·|y_i|)",
            "none": "the weights are not averaged at all: GRPO's loss is the mean over the G answers of each answer's "
                    "mean over its tokens, so a token of answer i weighs A_i/(G·|y_i|)",
        }
        for per, hint in hints.items():
            for d in (0, 1):
                _expect(not _close(got, _grpo_weights(rewards, lengths, max_len, d, per=per)),
                        f"{call}: {hint}")
        _expect(not _close(got, _grpo_weights(rewards, lengths, max_len, std=False)),
                f"{call}: the advantage is not divided by the group's std: A_i = (R_i − mean)/(std + ε)")
        raise Wrong(f"{call}: expected w[i, t] = A_i/(G·|y_i|) on answer i's tokens and 0 after them, "
                    f"A_i = (R_i − mean(R))/(std(R) + ε)")
    w = _grpo_weights(*cases[0][:2], cases[0][2])
    return (f"right. In the first group both wrong answers have A < 0, but each token of the 12-token one weighs "
            f"{w[1, 0]:+.3f}, of the 3-token one {w[2, 0]:+.3f}: per-answer averaging makes long wrong answers cheap, a "
            f"length bias that comes from 1/|y_i|, not from the std (Dr. GRPO)")
