"""Chapter 4's exercises: the KL-penalised reward per token, GAE, PPO's clipped loss, the three KL estimators.

`kl_rewards_04` and `kl_pairs_04` give exercises 04.1 and 04.4 their data.
"""

from __future__ import annotations

import numpy as np
import torch

from .registry import Wrong, _call, _exercise, _expect, _number, _tensor


def kl_rewards_04() -> dict:
    """Exercise 04.1: a rollout of two responses (the second ends after 3 tokens; the rest of its row is padding).

    {"scores" (2,), "logprobs" (2, 5) log π_θ, "ref_logprobs" (2, 5) log π_ref, "mask" (2, 5), "beta"}
    """
    return {
        "scores": torch.tensor([1.5, -0.5]),
        "logprobs": torch.tensor([[-1.2, -0.4, -2.0, -0.1, -0.3], [-0.7, -1.5, -0.2, -2.5, -0.8]]),
        "ref_logprobs": torch.tensor([[-1.0, -0.9, -1.8, -0.1, -0.6], [-0.9, -1.1, -0.5, -2.0, -0.4]]),
        "mask": torch.tensor([[1.0, 1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 0.0, 0.0]]),
        "beta": 0.1,
    }


def _last_token(mask: torch.Tensor) -> torch.Tensor:
    """Index of each row's last response token (the mask is a prefix of 1s)."""
    return (mask.sum(1).long() - 1).clamp(min=0)


def _kl_rewards_variants(d: dict) -> dict[str, torch.Tensor]:
    """The right per-token rewards of `kl_rewards_04`, and those of common mistakes (for hints)."""
    s, lp, ref, m, beta = (d[k].double() if k != "beta" else d[k]
                           for k in ("scores", "logprobs", "ref_logprobs", "mask", "beta"))
    rows, last = torch.arange(len(s)), _last_token(m)

    def with_score(penalty, at=last):
        out = penalty.clone()
        out[rows, at] += s
        return out

    k1 = lp - ref
    return {
        "right": with_score(-beta * k1 * m),
        "sign": with_score(beta * k1 * m),
        "no beta": with_score(-k1 * m),
        "no score": -beta * k1 * m,
        "score at the row's end": with_score(-beta * k1 * m, at=torch.full_like(last, m.shape[1] - 1)),
        "score at the first token": with_score(-beta * k1 * m, at=torch.zeros_like(last)),
        "no mask": with_score(-beta * k1),
    }


@_exercise("04.1", "the KL-penalised reward of each token")
def _kl_rewards(answer) -> str:
    d = kl_rewards_04()
    try:
        got = torch.as_tensor(answer.detach() if isinstance(answer, torch.Tensor) else answer, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        raise Wrong(f"answer with a tensor (or nested list) of shape (2, 5), got {type(answer).__name__}") from None
    _expect(tuple(got.shape) == (2, 5), f"the rewards have shape {tuple(got.shape)}: one per token of the rollout, "
                                        f"(2, 5), zeros on the padding")
    variants = _kl_rewards_variants(d)
    want = variants["right"]
    if torch.allclose(got, want, atol=1e-6):
        return (f"rewards {(want.numpy().round(3) + 0.0).tolist()}: -β·(log π − log π_ref) on every response token, "
                f"the score on the last one")
    hints = {
        "sign": "the penalty has the wrong sign: r_t = −β·(log π_θ − log π_ref), so a token the policy likes MORE "
                "than the reference costs reward",
        "no beta": "the penalty is not scaled by β = 0.1",
        "no score": "the reward model's score is missing: it is added to the reward of each response's last token",
        "score at the row's end": "the second response ends after 3 tokens: its score belongs on its last response "
                                  "token (the last 1 of its mask), not on the last column",
        "score at the first token": "the score goes on the LAST response token (it judges the whole response)",
        "no mask": "the padding after the second response earns a reward: multiply the penalty by the mask",
    }
    for name, hint in hints.items():
        _expect(not torch.allclose(got, variants[name], atol=1e-6), hint)
    b, t = divmod(int((got - want).abs().flatten().argmax()), 5)
    raise Wrong(f"at response {b}, token {t} the reward is {got[b, t].item():.4f}, expected {want[b, t].item():.4f} "
                f"(= -β·(log π − log π_ref){', + the score' if t == _last_token(d['mask'])[b] else ''})")


def _prefix_masks(lengths: list[int], width: int) -> torch.Tensor:
    return (torch.arange(width)[None, :] < torch.tensor(lengths)[:, None]).float()


def _gae_reference(rewards, values, mask, gamma: float, lam: float, *, bootstrap_padding: bool = False,
                   discount: float | None = None) -> np.ndarray:
    """A_t = Σ_l (γλ)^l δ_{t+l} summed explicitly (no recursion), over each response's own tokens.

    `bootstrap_padding` and `discount` reproduce two mistakes, for hints.
    """
    r, v, m = (x.double().numpy() for x in (rewards, values, mask))
    discount = gamma * lam if discount is None else discount
    out = np.zeros_like(r)
    for b in range(r.shape[0]):
        n = int(m[b].sum())
        def next_v(t, b=b, n=n):
            if t + 1 < n or (bootstrap_padding and t + 1 < r.shape[1]):
                return v[b, t + 1]
            return 0.0
        delta = [r[b, t] + gamma * next_v(t) - v[b, t] for t in range(n)]
        for t in range(n):
            out[b, t] = sum(discount ** k * delta[t + k] for k in range(n - t))
    return out


@_exercise("04.2", "generalised advantage estimation")
def _gae(fn) -> str:
    g = torch.Generator().manual_seed(42)
    width = 7
    masks = _prefix_masks([7, 4, 1, 6, 2], width)
    for gamma, lam in ((1.0, 0.95), (0.9, 0.8), (1.0, 0.0), (1.0, 1.0), (0.99, 0.5)):
        rewards = torch.randn(5, width, generator=g) * 0.3
        values = torch.randn(5, width, generator=g)  # the padding holds junk too, as in a real rollout
        out = _call(fn, rewards.clone(), values.clone(), masks.clone(), gamma, lam,
                    name=f"gae(rewards, values, mask, gamma={gamma}, lam={lam})")
        if isinstance(out, tuple | list) and len(out) == 2:
            out = out[0]  # (advantages, returns), like ppo.gae
        got = _tensor(out, (5, width), f"gae(..., gamma={gamma}, lam={lam})").numpy()
        want = _gae_reference(rewards, values, masks, gamma, lam)
        where = f"with gamma={gamma}, lam={lam}"
        returns = want + values.double().numpy()
        _expect(not any(np.abs(got - x).max() < 1e-4 for x in (returns, returns * masks.numpy())),
                f"{where} that is the return A_t + V(s_t): return the advantages")
        _expect(np.abs(got * (1 - masks.numpy())).max() < 1e-6,
                f"{where} the advantages outside the mask are not 0: the padding after a response is no episode step")
        if np.abs(got - want).max() > 1e-4 * max(1.0, np.abs(want).max()):
            def like(x, got=got):
                return np.abs(got - x).max() < 1e-4 * max(1.0, np.abs(x).max())
            m = masks.numpy()
            leaky = (_gae_reference(rewards, values, masks, gamma, lam, bootstrap_padding=True),  # V(s_n) of the padding
                     _gae_reference(rewards, values, torch.ones_like(masks), gamma, lam) * m)  # the whole row
            _expect(not any(like(x) for x in leaky),
                    f"{where} the padding leaks into the advantages: the episode ends at the last response token, so "
                    f"V = 0 after it, and neither the rewards nor the values of the padding count")
            _expect(lam == 0 or not like(_gae_reference(rewards, values, masks, gamma, 0.0)),
                    f"{where} that is δ_t alone: A_t = Σ_l (γλ)^l δ_(t+l) adds the later δs, discounted by γλ per step")
            _expect(gamma == 1 or not like(_gae_reference(rewards, values, masks, gamma, lam, discount=lam)),
                    f"{where} the later δs must be discounted by γλ per step, not by λ alone")
            _expect(gamma == 1 or not like(_gae_reference(rewards, values, masks, 1.0, lam)),
                    f"{where} γ is missing from δ_t = r_t + γ V(s_(t+1)) − V(s_t)")
            b, t = divmod(int(np.abs(got - want).argmax()), width)
            raise Wrong(f"{where}, response {b} (length {int(m[b].sum())}), token {t}: A_t = {got[b, t]:.5f}, "
                        f"expected {want[b, t]:.5f}; δ_t = r_t + γ V(s_(t+1)) − V(s_t), with V = 0 after the last "
                        f"response token, and A_t = Σ_l (γλ)^l δ_(t+l)")
    return "matches Σ_l (γλ)^l δ_(t+l) for 5 settings of γ and λ, on responses of lengths 1 to 7 with junk in the padding"


def _clip_loss_reference(logprobs, old_logprobs, advantages, mask, eps) -> dict[str, float]:
    """The right loss and those of common mistakes (for hints), in float64."""
    lp, old, a, m = (x.double() for x in (logprobs, old_logprobs, advantages, mask))
    ratio = torch.exp(lp - old)
    unclipped, clipped = ratio * a, ratio.clamp(1 - eps, 1 + eps) * a

    def mean(x):
        return ((x * m).sum() / m.sum()).item()

    return {
        "right": -mean(torch.minimum(unclipped, clipped)),
        "objective": mean(torch.minimum(unclipped, clipped)),
        "clipped only": -mean(clipped),
        "max": -mean(torch.maximum(unclipped, clipped)),
        "unclipped": -mean(unclipped),
        "unmasked": -torch.minimum(unclipped, clipped).mean().item(),
        "per response": -((torch.minimum(unclipped, clipped) * m).sum(1) / m.sum(1)).mean().item(),
        "inverse ratio": -mean(torch.minimum(a / ratio, (1 / ratio).clamp(1 - eps, 1 + eps) * a)),
        "eps ignored": -mean(torch.minimum(unclipped, ratio.clamp(0.8, 1.2) * a)),
    }


@_exercise("04.3", "the clipped surrogate loss of PPO")
def _clip_loss(fn) -> str:
    g = torch.Generator().manual_seed(7)
    mask = _prefix_masks([6, 3, 5, 1], 6)
    for eps in (0.2, 0.1):
        old = -torch.rand(4, 6, generator=g) * 3
        logprobs = old + (torch.rand(4, 6, generator=g) - 0.5)  # ratios from 0.6 to 1.65: some inside, some clipped
        adv = torch.randn(4, 6, generator=g)
        name = f"ppo_clip_loss(logprobs, old_logprobs, advantages, mask, eps={eps})"
        got = _number(_call(fn, logprobs.clone(), old.clone(), adv.clone(), mask.clone(), eps, name=name), name)
        ref = _clip_loss_reference(logprobs, old, adv, mask, eps)
        if abs(got - ref["right"]) > 1e-5:
            hints = {
                "objective": "that is the objective to MAXIMISE: the loss is its negative",
                "clipped only": "that uses only the clipped term: take the minimum of ρ·A and clip(ρ, 1−ε, 1+ε)·A "
                                "(pessimistic: clipping may remove an incentive, never a penalty)",
                "max": "take the MINIMUM of ρ·A and clip(ρ)·A (the pessimistic bound), not the maximum",
                "unclipped": "nothing is clipped: clip ρ to [1 − ε, 1 + ε] in the second term",
                "unmasked": "the padding counts: average over the response tokens only (the mask)",
                "per response": "that averages each response, then the responses: average over all response tokens "
                                "of the batch at once",
                "inverse ratio": "the ratio is upside down: ρ = π_θ / π_old = exp(logprobs − old_logprobs)",
                "eps ignored": "that clips to [0.8, 1.2] whatever ε is asked for: clip to [1 − eps, 1 + eps]",
            }
            for key, hint in hints.items():
                _expect(abs(got - ref[key]) > 1e-5, f"with eps={eps}: {hint}")
            raise Wrong(f"with eps={eps} the loss is {got:.5f}, expected {ref['right']:.5f} = −(masked mean of "
                        f"min(ρ·A, clip(ρ, 1−ε, 1+ε)·A)), ρ = exp(logprobs − old_logprobs)")
    # the gradient: −A·ρ/n where the unclipped term is the minimum, exactly 0 where clipping took over
    logprobs = logprobs.clone().requires_grad_(True)
    loss = _call(fn, logprobs, old.clone(), adv.clone(), mask.clone(), 0.1, name="ppo_clip_loss")
    _expect(isinstance(loss, torch.Tensor) and loss.requires_grad,
            "the loss carries no gradient with respect to logprobs: build it with torch operations (no .item(), "
            "no NumPy) so that backward() reaches the policy")
    loss.backward()
    _expect(logprobs.grad is not None, "no gradient reached logprobs")
    ratio = torch.exp(logprobs.detach().double() - old.double())
    a = adv.double()
    active = (ratio * a <= ratio.clamp(0.9, 1.1) * a) & mask.bool()
    want = torch.where(active, -a * ratio / mask.sum(), torch.zeros_like(a))
    grad = logprobs.grad.double()
    clipped = mask.bool() & ~active
    _expect(grad[clipped].abs().max() < 1e-7,
            f"the gradient is not 0 at the {int(clipped.sum())} tokens where clipping took over (ρ > 1 + ε with A > 0, "
            f"or ρ < 1 − ε with A < 0): clamp ρ itself, so that the clipped term is constant there")
    _expect(grad[~mask.bool()].abs().max() < 1e-7, "the padding gets a gradient: it must not count")
    _expect(torch.allclose(grad, want, atol=1e-6),
            f"the gradient at the unclipped tokens is off by up to {(grad - want).abs().max().item():.2g}: "
            f"it should be −A·ρ / (number of response tokens)")
    return (f"the loss for ε = 0.2 and 0.1, and its gradient: 0 at the {int(clipped.sum())} of {int(mask.sum())} "
            f"tokens where clipping took over, −A·ρ/n elsewhere")


def _estimator_moments(p: np.ndarray, q: np.ndarray) -> dict[str, tuple[float, float]]:
    """Exact mean and std of k1, k2, k3 for one token y ~ p (chapter 4 §3: ℓ = log p(y) − log q(y) = −log_r)."""
    log_r = np.log(q) - np.log(p)
    out = {}
    for name, k in (("k1", -log_r), ("k2", 0.5 * log_r ** 2), ("k3", np.expm1(log_r) - log_r)):
        mean = float(np.sum(p * k))
        out[name] = (mean, float(np.sqrt(max(np.sum(p * (k - mean) ** 2), 0.0))))
    return out


def kl_pairs_04() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Exercise 04.4: pairs (p, q) of categorical distributions over tokens, p = π_θ and q = π_ref.

    "close": one next-token distribution at temperature 0.6 and at 0.7 (as in §3); "far": a policy that put
    most of its mass on tokens the reference finds unlikely; "three": three outcomes, to work out by hand.
    """
    rng = np.random.default_rng(4)
    logits = rng.normal(0, 2, 200)

    def softmax(z):
        e = np.exp(z - z.max())
        return e / e.sum()

    far_q = softmax(logits)
    far_p = softmax(-0.5 * logits)
    return {"three": (np.array([0.5, 0.3, 0.2]), np.array([0.2, 0.5, 0.3])),
            "close": (softmax(logits / 0.6), softmax(logits / 0.7)), "far": (far_p, far_q)}


@_exercise("04.4", "bias and spread of the three KL estimators")
def _kl_estimators(fn) -> str:
    pairs = kl_pairs_04()
    summary = {}
    for name, (p, q) in pairs.items():
        out = _call(fn, p.copy(), q.copy(), name=f"kl_estimator_stats(p, q) on the {name!r} pair")
        _expect(isinstance(out, dict) and {"kl", "k1", "k2", "k3"} <= set(out),
                'return a dict {"kl": KL(p‖q), "k1": (mean, std), "k2": (mean, std), "k3": (mean, std)}')
        kl = _number(out["kl"], f"kl on the {name!r} pair")
        want_kl = float(np.sum(p * np.log(p / q)))
        if abs(kl - want_kl) > 1e-6 * max(1.0, want_kl):
            _expect(abs(kl - np.sum(q * np.log(q / p))) > 1e-6, f"on the {name!r} pair that is KL(q‖p): the policy's "
                                                                f"KL to the reference is Σ p·log(p/q), p = π_θ")
            raise Wrong(f"on the {name!r} pair KL(p‖q) = {want_kl:.5f}, you got {kl:.5f}")
        want = _estimator_moments(p, q)
        for k in ("k1", "k2", "k3"):
            _expect(isinstance(out[k], tuple | list) and len(out[k]) == 2, f'out["{k}"] should be (mean, std)')
            mean, std = (_number(v, f"the {k} {w} on the {name!r} pair") for v, w in zip(out[k], ("mean", "std"),
                                                                                        strict=True))
            w_mean, w_std = want[k]
            where = f"on the {name!r} pair, {k}"
            if abs(mean - w_mean) > 1e-6 * max(1.0, abs(w_mean)):
                def estimate(log_r, k=k):
                    return {"k1": -log_r, "k2": 0.5 * log_r ** 2, "k3": np.expm1(log_r) - log_r}[k]
                upside_down = float(np.sum(p * estimate(np.log(p / q))))  # r = p / q
                by_q = [float(np.sum(q * estimate(x))) for x in (np.log(q / p), np.log(p / q))]
                _expect(abs(mean - w_mean) > 0.05 * max(abs(w_mean), 1e-3),
                        f"{where}: mean {mean:.5f} is close to but not exactly {w_mean:.5f}. Did you sample? Compute "
                        f"the expectation exactly: Σ_y p(y)·k(y)")
                _expect(abs(mean - upside_down) > 1e-6, f"{where}: the log-ratio is upside down: ℓ = log p(y) − "
                                                        f"log q(y) (policy over reference), k1 = ℓ")
                _expect(all(abs(mean - x) > 1e-6 for x in by_q), f"{where}: the tokens are sampled from the policy p, "
                                                                 f"so weight by p, not q")
                raise Wrong(f"{where}: the mean is {w_mean:.5f}, you got {mean:.5f}; with ℓ = log p(y) − log q(y): "
                            f"k1 = ℓ, k2 = ½ℓ², k3 = (e^−ℓ − 1) + ℓ")
            if abs(std - w_std) > 1e-6 * max(1.0, w_std):
                _expect(abs(std - w_std ** 2) > 1e-6, f"{where}: that is the variance; give the standard deviation")
                raise Wrong(f"{where}: the standard deviation of one token's estimate is {w_std:.5f}, you got "
                            f"{std:.5f}: sqrt(Σ_y p(y)·(k(y) − mean)²)")
        summary[name] = want
    close, far = summary["close"], summary["far"]
    return (f"exact on all three pairs. k1 and k3 are unbiased, k2 is not (far pair: KL {far['k1'][0]:.2f}, mean k2 "
            f"{far['k2'][0]:.2f}). Close to the reference k3 spreads far less than k1 (std {close['k3'][1]:.3f} vs "
            f"{close['k1'][1]:.3f}); far from it, more ({far['k3'][1]:.1f} vs {far['k1'][1]:.1f})")
