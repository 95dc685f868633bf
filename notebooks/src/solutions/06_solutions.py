# %% [markdown]
# # Chapter 6 — worked solutions to the exercises
#
# Try the exercises at the end of `06_beyond_ppo.ipynb` before reading on. Every solution ends with the check the
# exercise gives you; CI runs this notebook, so each check here is known to accept a right answer. No model is
# loaded: each method's core fits in a few lines of tensor or array code.

# %%
import math

import numpy as np
import torch
import torch.nn.functional as F

from rlhf_lib import compare, exercises

# %% [markdown]
# ## 06.1 The DPO loss from log-probabilities
#
# The implicit reward of an answer is $\hat r = \beta\,(\log\pi_\theta(y|x) - \log\pi_{\mathrm{ref}}(y|x))$; the loss is
# Bradley-Terry on the difference of the chosen and rejected answers' implicit rewards, averaged over the pairs.
# `F.logsigmoid` stays exact where `torch.log(torch.sigmoid(x))` underflows to $-\infty$.

# %%
def dpo_loss(logp_chosen, logp_rejected, ref_chosen, ref_rejected, beta):
    margin = beta * ((logp_chosen - ref_chosen) - (logp_rejected - ref_rejected))
    return -F.logsigmoid(margin).mean()


lc, lr, rc, rr = torch.tensor([-12.0, -30.0]), torch.tensor([-15.0, -28.0]), torch.tensor([-13.0, -29.0]), \
    torch.tensor([-14.0, -29.0])
print(f"{dpo_loss(lc, lr, rc, rr, 0.1).item():.5f}, compare.dpo_loss: {compare.dpo_loss(lc, lr, rc, rr, 0.1)[0].item():.5f}"
      f", log 2 (no preference): {math.log(2):.5f}")
assert exercises.check("06.1", dpo_loss)

# %% [markdown]
# ## 06.2 Best-of-n's exact KL for a discrete reference
#
# List the answers from the lowest reward to the highest and let $F$ be the reference's CDF in that order. The best
# of $n$ independent samples is at most answer $i$ exactly when all $n$ are, with probability $F(i)^n$; so
# $\pi_{\mathrm{BoN}}(y_i) = F(i)^n - F(i-1)^n$, and the KL is a sum over the answers. When the reference gives the same
# answer again and again, the best of $n$ is often that answer anyway, and the KL is well below $\log n - (n-1)/n$.

# %%
def best_of_n_kl_exact(p, n):
    cdf = np.cumsum(p)
    q = cdf ** n - (cdf - p) ** n
    keep = q > 0
    return float(np.sum(q[keep] * np.log(q[keep] / p[keep])))


for name, p in exercises.bon_cases_06().items():
    print(f"{name:6s} " + "  ".join(f"n={n}: {best_of_n_kl_exact(p, n):.3f} (formula {compare.best_of_n_kl(n):.3f})"
                                    for n in (2, 4, 16)))
assert exercises.check("06.2", best_of_n_kl_exact)

# %% [markdown]
# ## 06.3 RLOO's leave-one-out advantages
#
# Each row is one prompt's group of $G$ answers. The baseline of answer $i$ is the mean reward of the other $G-1$:
# it does not depend on $y_i$, so the policy gradient stays unbiased.

# %%
def rloo_advantages(rewards):
    rewards = np.asarray(rewards, dtype=float)
    g = rewards.shape[1]
    others = (rewards.sum(1, keepdims=True) - rewards) / (g - 1)
    return rewards - others


r = np.array([[1.0, 0.0, 0.5, 0.5], [3.0, 2.0, 2.0, 1.0]])
print(rloo_advantages(r))
print("= G/(G−1)·(R − group mean):", np.allclose(rloo_advantages(r), 4 / 3 * (r - r.mean(1, keepdims=True))))
assert exercises.check("06.3", rloo_advantages)

# %% [markdown]
# ## 06.4 GRPO's per-token weights and its length bias
#
# GRPO's objective is the mean over the $G$ answers of each answer's **mean over its own tokens** of
# $A_i\,\rho_{i,t}$; at $\rho = 1$ the gradient multiplies $\nabla\log\pi(y_{i,t})$ by $A_i/(G\,|y_i|)$. A long answer
# spreads its advantage over more tokens, so each of them is pushed less: a long wrong answer is punished less per
# token than a short one, and lengths drift up on what the model gets wrong. Dr. GRPO divides by a constant
# instead of $|y_i|$, which removes that bias; the std normalisation is a separate matter (it reweights prompts).

# %%
def grpo_token_weights(rewards, lengths, max_len, eps=1e-4):
    rewards, lengths = np.asarray(rewards, dtype=float), np.asarray(lengths)
    adv = (rewards - rewards.mean()) / (rewards.std() + eps)
    mask = np.arange(max_len)[None, :] < lengths[:, None]
    return (adv / (len(rewards) * lengths))[:, None] * mask


w = grpo_token_weights([1.0, 0.0, 0.0, 1.0], [4, 12, 3, 9], 12)
print("weight of each answer's first token:", w[:, 0].round(4), " total per answer:", w.sum(1).round(4))
assert exercises.check("06.4", grpo_token_weights)

# %% [markdown]
# The totals per answer are the same for equal rewards, whatever the length: per token, the long answers pay
# less. With Dr. GRPO's constant normaliser every token of a wrong answer pays the same.
