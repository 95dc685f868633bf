# %% [markdown]
# # Chapter 4 — worked solutions to the exercises
#
# Try the exercises at the end of `04_ppo_kl.ipynb` before reading on. Every solution ends with the check the
# exercise gives you; CI runs this notebook, so each check here is known to accept a right answer. Each solution
# is also compared with the function of `rlhf_lib.ppo` that the training loop uses.

# %%
import numpy as np
import torch

from rlhf_lib import exercises, ppo

torch.set_num_threads(1)  # tensors this small are faster on one thread

# %% [markdown]
# ## 04.1 The KL-penalised reward of each token
#
# Every response token pays $-\beta\,(\log\pi_\theta(y_t) - \log\pi_{\mathrm{ref}}(y_t))$; the padding pays nothing;
# the reward model's score is added to the reward of each response's **last** token, which for the second response
# is token 2 (its mask is `[1, 1, 1, 0, 0]`), not the last column.

# %%
d = exercises.kl_rewards_04()
rewards = -d["beta"] * (d["logprobs"] - d["ref_logprobs"]) * d["mask"]
last = d["mask"].sum(1).long() - 1  # the index of each response's last token
rewards[torch.arange(2), last] += d["scores"]
print(rewards)
print("ppo.kl_penalty_rewards gives the same:",
      torch.allclose(rewards, ppo.kl_penalty_rewards(d["scores"], d["logprobs"], d["ref_logprobs"], d["mask"],
                                                     d["beta"])[0]))
assert exercises.check("04.1", rewards)

# %% [markdown]
# ## 04.2 Generalised advantage estimation
#
# Right to left: $\delta_t = r_t + \gamma V(s_{t+1}) - V(s_t)$ and $A_t = \delta_t + \gamma\lambda A_{t+1}$, which
# unrolls to $A_t = \sum_l (\gamma\lambda)^l \delta_{t+l}$. After the last response token the episode is over:
# $V = 0$ and $A = 0$ there, whatever the padding holds. Multiplying by the mask of the *next* position does
# both at once, for a whole batch of responses of different lengths.

# %%
def gae(rewards, values, mask, gamma, lam):
    B, R = rewards.shape
    advantages = torch.zeros_like(rewards)
    next_value, next_adv = torch.zeros(B), torch.zeros(B)
    for t in reversed(range(R)):
        alive = mask[:, t + 1] if t + 1 < R else torch.zeros(B)  # does the response go on after token t?
        delta = rewards[:, t] + gamma * next_value * alive - values[:, t]
        advantages[:, t] = (delta + gamma * lam * next_adv * alive) * mask[:, t]
        next_value, next_adv = values[:, t], advantages[:, t]
    return advantages


r, v = torch.randn(3, 6), torch.randn(3, 6)
m = (torch.arange(6) < torch.tensor([[6], [3], [1]])).float()
print("same as ppo.gae:", torch.allclose(gae(r, v, m, 1.0, 0.95), ppo.gae(r, v, m, 1.0, 0.95)[0], atol=1e-6))
assert exercises.check("04.2", gae)

# %% [markdown]
# ## 04.3 The clipped surrogate loss of PPO
#
# $\rho_t = \exp(\log\pi_\theta - \log\pi_{old})$; the objective is the masked mean of
# $\min(\rho_t A_t,\ \mathrm{clip}(\rho_t, 1-\epsilon, 1+\epsilon) A_t)$ and the loss its negative. Where the clipped
# term is the smaller one, it is a constant (clamp has zero gradient outside its range), so that token stops
# pulling: the update cannot push $\rho$ further than $1 \pm \epsilon$ in the direction the advantage favours.
# Where moving back is what the advantage asks, the unclipped term is the minimum and the gradient flows.

# %%
def ppo_clip_loss(logprobs, old_logprobs, advantages, mask, eps=0.2):
    ratio = torch.exp(logprobs - old_logprobs)
    objective = torch.minimum(ratio * advantages, ratio.clamp(1 - eps, 1 + eps) * advantages)
    return -(objective * mask).sum() / mask.sum()


logp = torch.log(torch.tensor([[1.5, 0.5, 1.5, 1.0]])).requires_grad_(True)  # ratios, with π_old = 1
adv = torch.tensor([[1.0, -1.0, -1.0, 1.0]])
loss = ppo_clip_loss(logp, torch.zeros(1, 4), adv, torch.ones(1, 4))
loss.backward()
print("ρ = [1.5, 0.5, 1.5, 1.0], A = [+1, −1, −1, +1]  ->  gradient", logp.grad.tolist())
print("  (0: clipped, ρ already past 1+ε with A > 0 or below 1−ε with A < 0; nonzero: the update may still move)")
print("same as ppo.policy_loss:", torch.allclose(loss, ppo.policy_loss(logp, torch.zeros(1, 4), adv, torch.ones(1, 4))[0]))
assert exercises.check("04.3", ppo_clip_loss)

# %% [markdown]
# ## 04.4 Bias and spread of the three KL estimators
#
# One sampled token $y \sim p$ gives the log-ratio $\ell = \log p(y) - \log q(y)$ of §3 and the three estimates
# $k_1 = \ell$, $k_2 = \tfrac12\ell^2$, $k_3 = (e^{-\ell} - 1) + \ell$; their mean and standard deviation are sums
# over the vocabulary weighted by $p(y)$ — no sampling needed.

# %%
def kl_estimator_stats(p, q):
    ell = np.log(p) - np.log(q)  # ℓ = log π_θ(y) − log π_ref(y)
    estimates = {"k1": ell, "k2": 0.5 * ell ** 2, "k3": np.expm1(-ell) + ell}
    out = {"kl": float(np.sum(p * np.log(p / q)))}
    for name, k in estimates.items():
        mean = np.sum(p * k)
        out[name] = (float(mean), float(np.sqrt(np.sum(p * (k - mean) ** 2))))
    return out


for name, (p, q) in exercises.kl_pairs_04().items():
    s = kl_estimator_stats(p, q)
    print(f"{name:6s} KL {s['kl']:.4f}   " + "   ".join(f"{k}: mean {s[k][0]:.4f} std {s[k][1]:.4f}"
                                                       for k in ("k1", "k2", "k3")))
assert exercises.check("04.4", kl_estimator_stats)

# %% [markdown]
# k1 and k3 average to the KL on every pair; k2 does not (it is a second-order approximation, good only while
# $\pi_\theta \approx \pi_{\mathrm{ref}}$). Near the reference, k3 spreads several times less than k1 (and, unlike k1,
# is never negative). Far from it, $r - 1$ becomes huge on the tokens the reference prefers and k3 spreads *more*
# than k1. Both k1 and k3 have the KL as their expectation, so that is not why PPO's per-token reward uses k1: paid
# as a reward with no gradient through it, k1 gives a policy gradient that is an unbiased gradient of the KL, and
# k3 does not; summed over the tokens of a response and averaged over a batch, k1's noise evens out. k3 is the usual choice where the KL is a
# loss term and the policy stays near the reference (GRPO: TRL's trainer in the chapter uses it).
