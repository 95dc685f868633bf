# %% [markdown]
# # Chapter 4 — Fine-tuning with PPO and a KL penalty
#
# ![Chapter 4: PPO with a KL penalty](../docs/img/pipeline_ppo.svg)
#
# **What you will learn**
#
# * the objective of RL fine-tuning: the reward model's score minus a KL penalty that keeps the policy near the
#   reference model;
# * three ways to estimate the KL from samples, token by token;
# * PPO from scratch: rollouts, advantages (GAE), the clipped policy loss and the value loss, one step by hand, then a
#   full run;
# * how to tell whether it helped: held-out prompts, a hidden gold judge, win rates with intervals and controls;
# * why the KL penalty is there: the proxy reward against the gold as β changes, and TRL's GRPO trainer on the same
#   problem.
#
# **What you need**
#
# * **Earlier chapters:** chapter 1's SFT model (the policy starts from it and it is the reference) and chapter 2's
#   reward model (when either is missing, this notebook trains it first); chapter 3 tells you how far to trust it.
# * **Background:** log-probabilities of a language model's tokens, and gradient descent. The RL this chapter uses is
#   introduced in it.
#
# **Run time.** The next cell prints how long this notebook took in each profile when it was last measured (the
# committed notebook benchmark and reference run); your machine will differ.

# %%
from rlhf_lib import report

print(report.run_times("04"))

# %% [markdown]
# We have a policy (SmolLM2 after chapter 1's supervised fine-tune) and a reward model that scores its answers
# (chapters 2–3). Now the
# policy learns from the reward model. The course text (步骤3, *fine-tuning with reinforcement learning*) names
# the parts; this notebook builds each one and maps it to one function of `rlhf_lib/ppo.py`:
#
# | course text | here | `rlhf_lib.ppo` |
# |---|---|---|
# | constraint on policy change: a KL penalty keeps the policy near the pre-trained model | §2 the objective, §3 three KL estimators | `kl_penalty_rewards`, `kl_estimators` |
# | policy-gradient algorithm: PPO | §4 one PPO step by hand, §5 the full run | `gae`, `policy_loss`, `value_loss`, `ppo_update`, `train` |
# | policy update: maximise the reward model's score plus the KL constraint | §5 reward, KL and entropy curves | `AdaptiveKLController` |
# | validation: an independent set, accuracy-style metrics | §6 held-out prompts judged by the hidden gold utility, with controls; refusal precision / recall, accuracy | `rlhf_lib.judge` |
# | iterate with new feedback | §7 why the KL penalty is there: proxy vs gold; chapter 5 runs a second round | — |
#
# TRL 1.x no longer ships a PPO trainer, so the course writes its own: about 500 lines, every formula a named
# function, each tested against hand-computed values in `tests/test_ppo.py`. §8 runs TRL's maintained online
# trainer (GRPO) on the same problem for comparison.
#
# **The one equation.** For prompts $x$ and responses $y \sim \pi_\theta(\cdot|x)$ we maximise
# $$J(\theta) = \mathbb{E}_{x,\,y\sim\pi_\theta}\big[\,r_\phi(x,y)\,\big] \;-\; \beta\,\mathrm{KL}\big(\pi_\theta(\cdot|x)\,\|\,\pi_{\mathrm{ref}}(\cdot|x)\big)$$
# where $r_\phi$ is the reward model and $\pi_{\mathrm{ref}}$ the frozen starting policy.

# %%
import dataclasses
import json
import time

import matplotlib.pyplot as plt
import numpy as np
import torch

from rlhf_lib import annotate, config, data, judge, models, ppo, report, reward, train_ppo, train_reward

T0 = time.perf_counter()
cfg = config.load()
config.seed_everything(cfg.seed)
P = cfg.ppo
timings = {}
print(f"profile {cfg.profile}:", vars(P))

# %% [markdown]
# ## 0. The reinforcement learning this chapter uses
#
# Chapters 2 and 3 were supervised learning: a fixed data set, a loss, gradient descent. Here the data come from
# the model itself, and the only feedback is a score for a whole answer. Reinforcement learning (RL) is the
# vocabulary of that setting. This section defines the words the rest of the chapter uses, each next to what it
# means for a language model, then shows the three ideas PPO is built on, on toy problems small enough to check by
# hand: the baseline, the clipped ratio, and generalised advantage estimation.
#
# | RL | meaning | for our language model |
# |---|---|---|
# | state $s_t$ | what the agent sees before it acts | the prompt $x$ and the response tokens so far, $y_{<t}$ |
# | action $a_t$ | what it does | the next token $y_t$, one of the vocabulary |
# | policy $\pi_\theta(a_t\mid s_t)$ | a distribution over actions, given the state | the model's next-token distribution, $\mathrm{softmax}(z/T)$ |
# | episode | one run from a start state to the end | one prompt → one sampled response, ending at EOS or at the token budget |
# | reward $r_t$ | feedback after each action | at every token, minus β times its log-ratio to the reference (the KL penalty of §3); at the last token, also the reward model's score |
# | return $G_t = \sum_{k\ge t}\gamma^{k-t} r_k$ | the reward still to come from step $t$ | with $\gamma = 1$: the final score minus the KL penalties of the tokens from $t$ on |
# | value $V(s_t) = \mathbb{E}_\pi[G_t\mid s_t]$ | what a state is worth, on average over what the policy does next | how well an answer that starts with $y_{<t}$ will score; the critic (`value_head`, §1) learns it |
# | advantage $A(s_t,a_t) = Q(s_t,a_t) - V(s_t)$ | how much better this action was than the policy's average | did token $y_t$ raise the expected score, compared with what the model usually says there? |
#
# Here $Q(s_t,a_t) = \mathbb{E}_\pi[G_t\mid s_t, a_t]$ is the value of taking $a_t$ first and following the policy
# after it. Two things make the language-model case simpler than a game or a robot: the next state is the old one
# with the token appended (nothing random happens in between), and the discount is $\gamma = 1$ (an answer is short,
# and a reward is worth no less for arriving at its end).

# %% [markdown]
# ### The policy gradient, and why it needs a baseline
#
# We want to raise $J(\theta) = \mathbb{E}_{\pi_\theta}[G_0]$, the expected return of an episode. Its gradient (the
# policy-gradient theorem; the estimator is REINFORCE) is
# $$\nabla_\theta J = \mathbb{E}_{\pi_\theta}\Big[\sum_t \nabla_\theta\log\pi_\theta(a_t\mid s_t)\,\big(G_t - b(s_t)\big)\Big]$$
# for any **baseline** $b(s_t)$ that does not depend on the action: $\mathbb{E}_{a\sim\pi}[\nabla_\theta\log\pi_\theta(a\mid s)]
# = \nabla_\theta\sum_a\pi_\theta(a\mid s) = \nabla_\theta 1 = 0$, so subtracting $b$ changes nothing on average. Read it as
# weighted maximum likelihood: raise the log-probability of each sampled token, weighted by how good what followed
# it was.
#
# Without a baseline ($b = 0$) the weight is the raw return. When every answer scores about the same positive
# number, every sampled token is pushed up, and only the small differences between the pushes carry information:
# the estimate is right on average but very noisy, so it needs many episodes. With $b(s_t) = V(s_t)$ the weight
# becomes $G_t - V(s_t)$, an estimate of the **advantage**: tokens followed by a better-than-usual answer go up,
# the others go down. The critic is there to supply this baseline. The cell computes both gradients exactly (a sum
# over the actions, no sampling) for a one-step toy: three tokens, a softmax policy, rewards all close to 10.

# %%
theta = torch.tensor([0.5, 0.0, -0.5])  # the logits of a three-token "vocabulary"
pi = torch.softmax(theta, 0)
r = torch.tensor([10.0, 11.0, 9.0])  # the reward of each token: all large and positive, as raw scores can be
grad_logp = torch.eye(3) - pi  # row a: ∇_θ log π(a) = onehot(a) − π, for a softmax policy
for name, b in (("no baseline, b = 0", 0.0), ("baseline b = V = E_π[r]", float(pi @ r))):
    g = grad_logp * (r - b).unsqueeze(1)  # (action, parameter): the REINFORCE gradient if that action is sampled
    mean = pi @ g  # its expectation under π ...
    var = pi @ (g - mean) ** 2  # ... and its variance, per parameter
    print(f"{name:24s} mean gradient {np.round(mean.tolist(), 3)}   variance {np.round(var.tolist(), 2)}")

# %% [markdown]
# **What to look for.** The two mean gradients are the same vector: the baseline does not bias the gradient. The
# variances are not the same: without the baseline one sampled token gives a gradient whose noise dwarfs its mean,
# so it takes many more episodes to average out. In PPO the baseline is the critic's $V(s_t)$, and the weight of
# each token is an advantage estimate $\hat A_t$ (generalised advantage estimation, below, is how it is computed).

# %% [markdown]
# ### A baseline that needs no training: the other answers to the same prompt
#
# The critic has to *learn* $V$, and it starts knowing nothing: in the first steps of a run its baseline is about 0,
# and an easy prompt (every answer scores well) pushes all of its answers up. A second baseline needs no training at
# all. Sample $k$ answers to each prompt and compare each answer with the **other** $k-1$:
# $$s_i \leftarrow s_i - \frac{1}{k-1}\sum_{j\neq i} s_j .$$
# The baseline of answer $i$ does not use answer $i$, so it does not depend on its action and the gradient stays
# unbiased (the argument above); and it removes whatever the prompt alone explains, so what is left says which
# answer *to this prompt* was better. This is RLOO's baseline (REINFORCE leave-one-out; Kool et al. 2019, Ahmadian et
# al. 2024), and GRPO's is its close cousin (the group mean and standard deviation). Our PPO keeps its value head
# for what is left, token by token (the KL penalties), and `PPOConfig(samples_per_prompt=k, baseline="loo")`
# switches the leave-one-out score on. By hand, for two prompts of different difficulty, against the library:

# %%
scores = torch.tensor([[9.0, 10.0, 11.0, 10.0],  # an easy prompt: every answer scores high
                       [1.0, -1.0, 0.0, 2.0]])  # a hard one
others = (scores.sum(1, keepdim=True) - scores) / (scores.shape[1] - 1)  # (prompts, k): mean of the other k-1
by_hand = scores - others
print("scores\n", scores, "\nleave-one-out\n", by_hand)
assert torch.allclose(by_hand.flatten(), ppo.leave_one_out(scores.flatten(), k=4))

# %% [markdown]
# The easy prompt's answers no longer all go up: only the ones better than their siblings do. Which baseline serves
# *this* problem better, at the same number of episodes, is an empirical question; `benchmarks/ppo_val.py` answers it
# on validation prompts, and the profile's `ppo.samples_per_prompt` and `ppo.baseline` rows carry its answer.

# %% [markdown]
# ### Why PPO clips the ratio
#
# A rollout is expensive (it samples a language model), so PPO takes several gradient steps on each batch
# (`epochs` passes of minibatches). After the first step the policy $\pi_\theta$ is no longer the $\pi_{old}$ that
# sampled the batch, and the gradient above no longer applies as it stands. PPO corrects for that by importance
# weighting: it maximises the surrogate $\rho_t\hat A_t$, with the **ratio**
# $$\rho_t = \frac{\pi_\theta(a_t\mid s_t)}{\pi_{old}(a_t\mid s_t)},$$
# whose gradient at $\theta = \theta_{old}$ (where $\rho_t = 1$) is the policy gradient with a baseline. In this
# chapter $\rho$ always means this ratio; the KL penalty of §3 compares the policy with the *reference* instead, and
# uses its own symbol, the log-ratio $\ell_t$.
#
# The advantages were estimated for $\pi_{old}$, so the surrogate is a good guide only near it; maximised freely,
# $\rho_t\hat A_t$ pays for pushing a good token's probability up without limit. PPO's clipped objective
# $$L^{CLIP}(\theta) = \mathbb{E}_t\big[\min\big(\rho_t\hat A_t,\ \mathrm{clip}(\rho_t, 1-\epsilon, 1+\epsilon)\,\hat A_t\big)\big],\qquad \epsilon = 0.2,$$
# takes away the incentive to move past $1+\epsilon$ (for $\hat A > 0$) or below $1-\epsilon$ (for $\hat A < 0$):
# there it is flat, and its gradient is 0. The $\min$ makes it a pessimistic bound: where a step has gone the wrong
# way (a good token made less likely, $\rho_t < 1-\epsilon$ with $\hat A_t > 0$), the unclipped term is the smaller
# one, and its gradient still pulls back. The plot is the objective of one token against $\rho$.

# %%
eps = ppo.PPOConfig.clip_eps  # ε, the library's default (the profiles keep it)
rho = np.linspace(0, 2, 401)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.2), sharey=True)
for ax, adv in zip(axes, (1.0, -1.0), strict=True):
    ax.plot(rho, rho * adv, "--", color="gray", label=r"unclipped $\rho\hat A$")
    ax.plot(rho, np.minimum(rho * adv, np.clip(rho, 1 - eps, 1 + eps) * adv), color="tab:blue", lw=2,
            label=r"PPO: $\min(\rho\hat A,\ \mathrm{clip}(\rho, 1\pm\epsilon)\hat A)$")
    ax.axvspan(1 - eps, 1 + eps, color="tab:green", alpha=0.15, label=r"$[1-\epsilon,\ 1+\epsilon]$")
    ax.axvline(1, color="black", lw=0.5)
    ax.set(xlabel=r"ratio $\rho = \pi_\theta / \pi_{old}$", title=f"advantage $\\hat A = {adv:+.0f}$")
axes[0].set_ylabel("objective (to maximise)")
axes[0].legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# **What to look for.** On the left ($\hat A > 0$, a good token) the objective rises with $\rho$ up to $1+\epsilon$
# and is flat after it: making the token still more likely earns nothing. On the right ($\hat A < 0$) it rises as
# $\rho$ falls, down to $1-\epsilon$, and is flat below. On the other side of $\rho = 1$ the blue line follows the
# dashed one: the clip never stops a step that undoes a mistake.

# %% [markdown]
# ### Generalised advantage estimation: λ trades bias for variance
#
# The gradient needs an advantage $\hat A_t$ at every token, estimated from one episode. Two simple estimates sit
# at the two ends of a range:
#
# - the **Monte Carlo** advantage $G_t - V(s_t)$ uses the return that really followed. A wrong critic enters only as
#   the baseline, which does not bias the gradient; but $G_t$ carries all the randomness of the rest of the episode
#   (every later token, the reward model's noise): high variance.
# - the **one-step TD error** $\delta_t = r_t + \gamma V(s_{t+1}) - V(s_t)$ trusts the critic for everything after
#   one step: low variance, but biased wherever the critic is wrong, and early in training it is (ours starts at 0).
#
# **GAE** (Schulman et al., 2016) is the family in between, $\hat A_t = \sum_{l\ge 0}(\gamma\lambda)^l\delta_{t+l}$:
# with $\lambda = 0$ it is $\delta_t$, and with $\lambda = 1$ the sum telescopes to $G_t - V(s_t)$. λ says how far
# along the episode to trust the sampled rewards before handing over to the critic; the course uses $\lambda = 0.95$.
# `ppo.gae` also returns $R_t = \hat A_t + V(s_t)$, the **λ-return**, which is the critic's training target.
#
# The toy below measures the trade-off. An episode is a random walk: a position $x_t$ that moves one step up or down
# at random, for $T$ steps; the only reward is the final position plus noise, at the last step (as the reward
# model's score arrives at the last token). The walk has no drift, so the true value of a state is its position,
# $V^*(x_t) = x_t$. The critic is half-trained, $\hat V(x) = x/2$. For each λ, `ppo.gae` (the library's own function)
# computes the λ-return from the first state on many seeded episodes, and we measure its bias and variance as an
# estimate of the true value $V^*(x_0)$. The advantage $\hat A_0$ is that return minus the fixed number
# $\hat V(x_0)$, so it has the same spread.

# %%
T, n_episodes, x0, critic_scale, reward_noise = 10, 20_000, 6, 0.5, 1.0
rng = np.random.default_rng(0)
steps = rng.choice([-1, 1], (n_episodes, T))
x = x0 + np.concatenate([np.zeros((n_episodes, 1)), steps.cumsum(1)], 1)  # positions x_0 .. x_T
rewards = np.zeros((n_episodes, T))
rewards[:, -1] = x[:, -1] + reward_noise * rng.standard_normal(n_episodes)  # the score, at the last step only
values = critic_scale * x[:, :-1]  # V̂(x_t) for t < T (the true value is x_t); after the last step it is 0
lams = np.linspace(0, 1, 21)
bias2, variance = [], []
for lam in lams:
    _, returns = ppo.gae(torch.tensor(rewards), torch.tensor(values), torch.ones(n_episodes, T), 1.0, float(lam))
    estimate = returns[:, 0].numpy()  # the λ-return from x_0, an estimate of the true value x0
    bias2.append((estimate.mean() - x0) ** 2)
    variance.append(estimate.var())
mse = np.array(bias2) + np.array(variance)
fig, ax = plt.subplots(figsize=(6, 3.2))
ax.plot(lams, bias2, "o-", ms=3, label="bias²")
ax.plot(lams, variance, "o-", ms=3, label="variance")
ax.plot(lams, mse, "k-", label="mean squared error")
ax.axvline(ppo.PPOConfig.lam, color="gray", ls="--", label="the course's λ")
ax.set(xlabel="λ", ylabel="error of the λ-return", title="GAE on a random walk with a half-trained critic")
ax.legend(fontsize=8)
plt.show()
print(f"λ = 0: bias² {bias2[0]:.2f}, variance {variance[0]:.2f};  λ = 1: bias² {bias2[-1]:.2f}, "
      f"variance {variance[-1]:.2f};  lowest mean squared error at λ = {lams[mse.argmin()]:.2f}")

# %% [markdown]
# **What to look for.** At λ = 0 the estimate is the critic's opinion of the next state: hardly any variance, but
# off by the critic's error. At λ = 1 it is the sampled final reward: no bias, and all the noise of the walk. Between
# the two the error is lowest, and since the reward comes only at the end, the critic's bias fades only as λ nears 1.
# Where exactly the best λ lies depends on how wrong the critic is and how noisy the episode: set
# `critic_scale = 1` (a perfect critic) or `0` (an untrained one, as ours is at the start) and run the cell again.

# %% [markdown]
# ### One PPO step by hand, on a three-token policy
#
# The whole update on the smallest policy there is: a vocabulary of three tokens and $\pi_\theta = \mathrm{softmax}(\theta)$,
# with $\theta$ three numbers (a language model's logits at one state, with nothing underneath). $\pi_{old}$ samples
# one token $a$; we give it an advantage $\hat A$ and take plain gradient-descent steps on the clipped loss
# $-\min(\rho\hat A,\ \mathrm{clip}(\rho, 1-\epsilon, 1+\epsilon)\hat A)$, printing at each step the ratio, the loss, its
# gradient (from autograd) and the new ratio after the step. Two checks run as `assert`s:
#
# - the gradient equals the one by hand: $\nabla_\theta\log\mathrm{softmax}(\theta)_a = \mathrm{onehot}(a) - \pi_\theta$, so
#   $\nabla_\theta(-\rho\hat A) = -\hat A\,\rho\,(\mathrm{onehot}(a) - \pi_\theta)$ while the clip is inactive, and 0 once it is;
# - `ppo.policy_loss`, the function that trains the language model in §5, gives the same loss on the same numbers
#   (one episode of one token).

# %%
vocab = ["yes", "no", "maybe"]
theta_old = torch.tensor([1.0, 0.5, -0.5])
pi_old = torch.softmax(theta_old, 0)
a = int(torch.multinomial(pi_old, 1, generator=torch.Generator().manual_seed(0)))  # one sampled action
logp_old = torch.log_softmax(theta_old, 0)[a]
print(f"π_old = {np.round(pi_old.tolist(), 3)}; sampled token {a} ({vocab[a]!r}), log π_old = {logp_old:.3f}")


def clipped_loss(theta, advantage):
    """−min(ρÂ, clip(ρ, 1 − ε, 1 + ε)Â) for the sampled token; also ρ = π_θ(a)/π_old(a) and log π_θ(a)."""
    logp = torch.log_softmax(theta, 0)[a]
    rho = torch.exp(logp - logp_old)
    return -torch.min(rho * advantage, torch.clamp(rho, 1 - eps, 1 + eps) * advantage), rho, logp


for advantage in (1.0, -1.0):
    print(f"\nadvantage Â = {advantage:+.0f}: the steps make {vocab[a]!r} {'more' if advantage > 0 else 'less'} likely")
    theta = torch.nn.Parameter(theta_old.clone())  # every update starts from θ = θ_old, where ρ = 1
    opt = torch.optim.SGD([theta], lr=0.2)
    for step in range(3):
        opt.zero_grad()
        loss, rho, logp = clipped_loss(theta, advantage)
        loss.backward()
        pi = torch.softmax(theta.detach(), 0)
        inside = rho.item() <= 1 + eps if advantage > 0 else rho.item() >= 1 - eps  # is the unclipped term active?
        by_hand = -advantage * rho.detach() * (torch.eye(3)[a] - pi) * inside
        assert torch.allclose(theta.grad, by_hand, atol=1e-6), (theta.grad, by_hand)
        lib_loss, _ = ppo.policy_loss(logp.detach().view(1, 1), logp_old.view(1, 1), torch.tensor([[advantage]]),
                                      torch.ones(1, 1), eps)
        assert torch.isclose(lib_loss, loss.detach()), (lib_loss, loss)
        opt.step()  # θ ← θ − lr · gradient
        new_rho = torch.exp(torch.log_softmax(theta.detach(), 0)[a] - logp_old)
        print(f"step {step}: ρ = {rho.item():.3f}  loss = {loss.item():+.3f} (ppo.policy_loss {lib_loss.item():+.3f})"
              f"  gradient = {np.round(theta.grad.tolist(), 3)}{'' if inside else ' (clipped)'}"
              f"  ->  new ρ = {new_rho.item():.3f}")

# %% [markdown]
# **What to look for.** With $\hat A = +1$ each step raises the sampled token's probability, so $\rho$ grows; once
# it is past $1+\epsilon$ the gradient is exactly zero and $\theta$ stops, however many epochs remain. With
# $\hat A = -1$ the same happens downwards, at $1-\epsilon$. Note what the clip does *not* do: it stops the gradient,
# it does not cap the step, and the step that crosses the boundary overshoots it. That is why PPO also keeps the
# learning rate small and the epochs few, and logs two diagnostics of each update: `policy/approxkl`,
# $\tfrac12\,\mathbb{E}[(\log\rho)^2]$, how far the update moved the policy, and `policy/clipfrac`, the share of
# tokens where the clip was active. §4 runs this same update on the language model, one rollout batch at a time.

# %% [markdown]
# ## 1. Policy, reference, value — and the reward model
#
# Three networks take part, but we keep only one copy of the language model in memory:
#
# - the **policy** $\pi_\theta$: chapter 1's SFT model with LoRA adapters on its top layers (`models.with_lora`).
#   Only the adapters train, and the backward pass stops at the lowest adapted layer, which is most of the speed-up
#   on a CPU;
# - the **reference** $\pi_{\mathrm{ref}}$: the same network with the adapters switched off (`disable_adapter()`),
#   exactly the SFT model, for free (InstructGPT's reference is its SFT model too);
# - the **value function** $V(s_t)$: a linear head on the policy's last hidden states (`ActorCritic.value_head`),
#   sharing the backbone. `ActorCritic(policy, ref_policy=..., value_model=...)` takes a separate frozen
#   reference or a separate critic instead, for models without adapters (chapter 5 uses that).
#
# The reward model is chapter 2's (the transformer with the best validation accuracy there; the cell prints which);
# when chapter 2 has not run, `train_reward.load_or_train()` trains a small one (chapter 2's recipe). Where the
# hardware runs bf16 natively it scores in bf16, which halves the bytes each score reads; `benchmarks.reward_bf16`
# measures what that changes (the rank correlation with fp32 scores on the test split, and the pairs that flip).

# %%
device = models.pick_device()
# bf16 where the hardware runs it natively (GPUs; CPUs with AVX512-BF16 or AMX): bf16 weights for the frozen
# base, bf16 autocast, fp32 adapters. Elsewhere fp32 is faster: a CPU without native bf16 emulates it, several
# times slower (benchmarks/NOTES.md has the measurement).
# No adapters below the top `lora_layers`: those bottom layers are the same for policy, reference and every
# PPO epoch, so the actor-critic runs them once per rollout and caches their output (`models.split_decoder`).
# `train_ppo.load_actor_critic` is those few lines: `models.with_lora(base, r, top_layers=lora_layers)`, then
# `ppo.ActorCritic(policy, frozen_bottom=n_layers - lora_layers)` (the headless run and chapters 5 and 6 use it too).
ac, tokenizer, fast_bf16 = train_ppo.load_actor_critic(cfg, device)
policy = ac.policy
policy.print_trainable_parameters()

t = time.perf_counter()
rm, rm_tokenizer = train_reward.load_or_train(dtype=models.fast_dtype(device))  # bf16 only where native
rm_max_length = cfg.reward.max_length
timings["load reward model"] = time.perf_counter() - t
print(f"reward model loaded in {timings['load reward model']:.1f} s")

prompts_train = data.preference_prompts("train")
if cfg.profile == "ci":
    prompts_train = judge.stratified(prompts_train, 16, seed=0)
train_ids = models.chat_prompt_ids(tokenizer, prompts_train)
eos, pad = tokenizer.eos_token_id, tokenizer.pad_token_id
# the profile's `ppo.*` rows (steps, batch and minibatch sizes, epochs, lengths, temperature, lr, β, KL target)
ppo_cfg = train_ppo.profile_ppo_config(
    cfg, save_every=2, autocast=fast_bf16,
    reward_id=reward.fingerprint(),  # a checkpoint made against another reward model is not resumed
)
print(f"{len(train_ids)} training prompts:", judge.category_mix(prompts_train))

# %% [markdown]
# ## 2. Rollouts, and rewards on the reference's own samples
#
# A **rollout** samples one response per prompt from the policy at temperature $T$ — with no top-k or top-p, so
# that the distribution we sample from is exactly the one whose log-probabilities PPO computes, $\mathrm{softmax}(z/T)$.
# A response ends at EOS; one that hits the token budget without ending gets a fixed, bad score
# (`missing_eos_penalty`) instead of the reward model's opinion.
#
# Sampling is where RLHF spends its time (OpenRLHF and verl hand it to vLLM). The profile's sampler (`ppo.sampler`)
# is transformers' `generate` or the course's `decode.Sampler`: before each rollout the LoRA adapters are merged into
# a plain copy of the policy (bf16 where the CPU runs it natively), which then decodes token by token with a KV cache
# and drops finished answers. It draws from $\mathrm{softmax}(z/T)$ of that copy, which differs from the policy's own
# arithmetic only by rounding; PPO recomputes $\log\pi_{\text{old}}$ with the policy itself, so every ratio starts at
# exactly 1. On its way the copy also runs the frozen bottom layers over every token, so in fp32 it hands the rollout
# their output (`ppo.sample_and_trunk`) and the separate trunk pass is skipped (`benchmarks/` measures both;
# `PPOConfig(sampler="generate")` is transformers' `generate`).
#
# Reward scales differ between reward models, so we **normalise**: we score samples of the reference policy
# and train on $(r - \mu_{\mathrm{ref}})/\sigma_{\mathrm{ref}}$, so that a typical starting answer scores 0 and one
# standard deviation is 1. Then β and the EOS penalty mean the same thing whatever the reward model.

# %%
t = time.perf_counter()
# A stratified sample (every category in proportion): data/prompts.jsonl is sorted by category, so its first
# prompts are all factual and a prefix would normalise on one category only.
norm_recs = judge.stratified(prompts_train, 2 * P.batch_size, seed=1)
print("normaliser prompts:", judge.category_mix(norm_recs))


def rm_score(prompts, texts):
    """The reward model's raw scores of answers to prompts (what the judge reports next to the gold)."""
    return reward.score(rm, rm_tokenizer, prompts, texts, max_length=rm_max_length)


norm = judge.sample(ac, norm_recs, ppo_cfg, tokenizer, seed=1, reference=True, batch_size=P.batch_size,
                    score=rm_score)
n_norm, ref_done, ref_texts, ref_scores = len(norm_recs), norm["finished"], norm["texts"], norm["rm"]
rm_mean, rm_std = judge.reward_normaliser(ref_scores)
reward_fn = reward.text_reward_fn(rm, rm_tokenizer, tokenizer, rm_mean, rm_std, max_length=rm_max_length)
timings["reference samples"] = time.perf_counter() - t
print(f"reward model on {n_norm} reference samples: mean {rm_mean:+.3f}, std {rm_std:.3f}")
print(f"{np.mean(ref_done):.0%} of reference responses end within {P.max_new_tokens} tokens")
for rec, text, s in list(zip(norm_recs, ref_texts, ref_scores, strict=True))[:3]:
    print(f"\n[{rec['category']}] {rec['prompt'][:80]}\n  -> ({(s - rm_mean) / rm_std:+.2f}) {text[:160]!r}")

# %%
fig, ax = plt.subplots(figsize=(6, 3))
ax.hist((np.array(ref_scores) - rm_mean) / rm_std, bins=20, color="tab:gray")
ax.axvline(ppo_cfg.missing_eos_penalty, color="tab:red", ls="--", label="score of an unfinished response")
ax.set(xlabel="normalised reward-model score", ylabel="responses", title="Scores of the reference policy's samples")
ax.legend()
plt.show()

# %% [markdown]
# ## 3. The KL penalty, token by token — and three ways to estimate it
#
# $\mathrm{KL}(\pi_\theta\|\pi_{\mathrm{ref}}) = \mathbb{E}_{y\sim\pi_\theta}\big[\log\pi_\theta(y|x) - \log\pi_{\mathrm{ref}}(y|x)\big]$ sums over the
# tokens of the response, so the penalty can be paid **per token**. With the log-ratio of policy and reference
# $\ell_t = \log\pi_\theta(y_t|\cdot) - \log\pi_{\mathrm{ref}}(y_t|\cdot)$, token $t$ earns $r_t = -\beta\,\ell_t$, and the
# last token also earns the reward model's score. That is `ppo.kl_penalty_rewards`. (The ratio $\rho$ of §0 and
# §4 is another one, $\pi_\theta/\pi_{old}$: how far one update moves the policy, not how far it is from the reference.)
#
# The KL, like the entropy and every log-probability in this chapter, is measured in **nats**: the unit of a
# logarithm to base $e$ (a bit is base 2; one nat is $1/\ln 2$ bits). A KL of one nat per response means that,
# averaged in the log, the policy gives its own answers $e$ times the probability the reference gives them.
#
# From samples we only see log-ratios, and there are three common estimators (Schulman, *Approximating KL
# divergence*), in terms of $\ell = \ell_t$:
# $k_1 = \ell$ (unbiased, can be negative), $k_2 = \tfrac12\ell^2$ (biased, low variance),
# $k_3 = (e^{-\ell} - 1) + \ell$ (unbiased, never negative, and of lower variance than $k_1$ when the two policies
# are close). So $k_1$ and $k_3$ both have the KL as their expectation; PPO's reward uses $k_1$ for another reason.
# Paid as a reward, with no gradient through it, $k_1$ gives the policy gradient
# $\mathbb{E}[k_1\,\nabla_\theta\log\pi_\theta]$, and that is exactly $\nabla_\theta\mathrm{KL}$: the rest of the
# KL's gradient, $\mathbb{E}[\nabla_\theta\log\pi_\theta]$, is zero. $k_3$ paid the same way does not give the KL's
# gradient, because its own dependence on $\theta$ does not average out. $k_3$ suits *measuring* the KL; $k_1$ is the
# one to *pay* it with. Below, a "policy" that is the base model at a lower temperature against the base at $T$,
# where the exact per-token KL is known from the full distributions, shows the trade-off.

# %%
with torch.no_grad(), policy.disable_adapter():
    ids, mask = (x.to(device) for x in models.pad_batch(train_ids[:8], pad, side="left"))
    colder = ppo.sample(policy, ids, mask, P.max_new_tokens, 0.5, eos, pad, seed=3, autocast=fast_bf16)  # samples of π = base at T=0.5
    r_mask, _ = ppo.response_mask(colder.cpu(), eos)
    r_mask = r_mask.to(device)
    full, full_mask = torch.cat([ids, colder], 1), torch.cat([mask, r_mask], 1)
    with models.autocast(device, fast_bf16):
        hidden = ppo.response_hidden(policy.get_decoder(), full, full_mask, ids.shape[1])
        logits = policy.get_output_embeddings()(hidden).float()  # (B, R, V)
    logp_pi, logp_ref = torch.log_softmax(logits / 0.5, -1), torch.log_softmax(logits / P.temperature, -1)
    exact = (logp_pi.exp() * (logp_pi - logp_ref)).sum(-1)  # (B, R) exact per-token KL
    tok = colder.unsqueeze(-1)
    est = ppo.kl_estimators(logp_pi.gather(-1, tok)[..., 0], logp_ref.gather(-1, tok)[..., 0])
sel = r_mask.bool()
fig, ax = plt.subplots(figsize=(6, 3))
names = ["exact", "k1", "k2", "k3"]
vals = [exact[sel]] + [est[k][sel] for k in ("k1", "k2", "k3")]
ax.bar(names, [v.mean().item() for v in vals], yerr=[v.std().item() for v in vals], capsize=4,
       color=["black", "tab:blue", "tab:orange", "tab:green"])
ax.set(ylabel="nats per token (mean ± std)", title="KL(base at T=0.5 ‖ base at T=0.7): estimators vs exact")
plt.show()
for name, v in zip(names, vals, strict=True):
    print(f"{name:5s} mean {v.mean():.4f}  std {v.std():.4f}  min {v.min():+.4f}")

# %% [markdown]
# ## 4. One PPO step, by hand
#
# In RL terms one prompt and the response sampled to it is an **episode**: the state $s_t$ is the prompt plus the
# tokens so far, the action is the next token, and the episode ends at EOS or at the token budget. Everything
# `ppo.train` does in one iteration, spelled out on one rollout batch of episodes:
#
# 1. **Rollout** (`ppo.rollout`): sample, then with gradients off record $\log\pi_{\theta_{old}}(y_t)$, $\log\pi_{\mathrm{ref}}(y_t)$, $V_{old}(s_t)$ and the score.
# 2. **Rewards** (`kl_penalty_rewards`): $r_t = -\beta k_1(t)$, plus the score at the last token.
# 3. **Advantages** (`gae`): $\delta_t = r_t + \gamma V(s_{t+1}) - V(s_t)$, $A_t = \sum_l (\gamma\lambda)^l\delta_{t+l}$ with $\gamma=1$, $\lambda=0.95$; returns $R_t = A_t + V_{old}(s_t)$; advantages **whitened** (`whiten`: minus their mean over the batch's response tokens, divided by their standard deviation), so each batch's step has the same scale whatever the size of the rewards.
# 4. **Clipped policy loss** (`policy_loss`): $L^{CLIP} = -\mathbb{E}\big[\min(\rho_t A_t, \mathrm{clip}(\rho_t, 1\pm\epsilon) A_t)\big]$, $\rho_t = \pi_\theta(y_t)/\pi_{\theta_{old}}(y_t)$, $\epsilon = 0.2$.
# 5. **Clipped value loss** (`value_loss`): $\tfrac12\max\big((V-R)^2, (\mathrm{clip}(V, V_{old}\pm\epsilon_v)-R)^2\big)$.
# 6. Minibatches × epochs of $L^{CLIP} + c_v L^V$, gradient clipping, AdamW.

# %%
batch = ppo.rollout(ac, train_ids[:P.batch_size], prompts_train[:P.batch_size], reward_fn, ppo_cfg, eos, pad, seed=7)
print("ids", tuple(batch.ids.shape), "= prompt", batch.n_prompt, "+ response", batch.response_mask.shape[1])
print("logprobs / ref_logprobs / values:", tuple(batch.logprobs.shape), "(batch, response tokens)")
rewards, kl = ppo.kl_penalty_rewards(batch.scores, batch.logprobs, batch.ref_logprobs, batch.response_mask, ppo_cfg.beta)
advantages, returns = ppo.gae(rewards, batch.values, batch.response_mask, ppo_cfg.gamma, ppo_cfg.lam)
print("scores:", np.round(batch.scores.tolist(), 2))
print("KL before any update (LoRA starts as the identity):", float(kl.abs().max()))
i = int(batch.scores.argmax())
n_tok = int(batch.response_mask[i].sum())
fig, ax = plt.subplots(figsize=(7, 3))
ax.plot(rewards[i, :n_tok].tolist(), "o-", label="reward $r_t$")
ax.plot(batch.values[i, :n_tok].tolist(), label="value $V(s_t)$ (untrained: 0)")
ax.plot(advantages[i, :n_tok].tolist(), label="advantage $A_t$ (GAE)")
ax.set(xlabel="response token t", title="One episode: the score arrives at the last token; GAE spreads it back")
ax.legend()
plt.show()

# %% [markdown]
# ## 5. The full run: reward, KL and entropy
#
# `ppo.train` repeats rollout → update for `steps` iterations with the **adaptive KL controller** of Ziegler et
# al. (2019): after each batch, $\beta \leftarrow \beta\,(1 + \mathrm{clip}(\mathrm{KL}/\mathrm{KL}_{target} - 1, \pm0.2)\cdot n/H)$,
# so β rises when the policy runs away from the reference and falls when it stays close. A checkpoint is written
# every few steps: interrupt the cell and run it again, and training resumes where it stopped
# (`tests/test_ppo.py` checks that a resumed run equals an uninterrupted one). The checkpoint records every
# setting and a fingerprint of the reward model (`reward_id`): after chapter 2 has trained a new reward model, or
# with other settings, the old checkpoint is not resumed but replaced by a fresh run.
#
# Every logged number has the name used in the papers and in TRL's old PPO trainer: `objective/scores` (reward
# model), `objective/kl` (Σ_t k1 per response), `objective/entropy` (Σ_t −log π per response),
# `objective/rlhf_reward` (score − β·KL), `policy/approxkl`, `policy/clipfrac`, `loss/value`, `beta`.
# `policy/approxkl` estimates how far one update moved the policy: the KL between $\pi_{\theta_{old}}$ (the policy
# that sampled the batch) and the updated $\pi_\theta$ on the batch's tokens ($k_2$ of §3). `policy/clipfrac` is the
# share of tokens on which the clip was active: their ratio $\pi_\theta/\pi_{\theta_{old}}$ had left
# $[1-\epsilon, 1+\epsilon]$ in the direction their advantage favours, so the clip stopped their gradient.
# Both should stay small: a large approxkl or clipfrac means the steps are too big for the clip to keep them safe.

# %%
ckpt = config.artifacts_dir() / "ppo_checkpoint"
t = time.perf_counter()
history = ppo.train(ac, train_ids, prompts_train, reward_fn, ppo_cfg, eos, pad, ckpt_dir=ckpt, restart_if_changed=True)
timings["PPO main run"] = time.perf_counter() - t
# from the seconds each step took when it ran: a run resumed from a finished checkpoint reports its real speed
episodes_per_s = judge.episodes_per_second(history)
print(f"{ppo_cfg.steps} steps x {ppo_cfg.batch_size} episodes in {timings['PPO main run']:.0f} s in this session "
      f"({episodes_per_s:.2f} episodes/s while training)")

# %%
curves = [("objective/scores", "reward-model score"), ("objective/kl", "KL to reference (nats)"),
          ("objective/entropy", "entropy (nats / response)"), ("beta", "β (adaptive)"),
          ("policy/clipfrac", "clip fraction"), ("response/finished", "share of responses ending with EOS")]
fig, axes = plt.subplots(2, 3, figsize=(12, 5.5))
steps = [h["step"] for h in history]
for ax, (key, label) in zip(axes.flat, curves, strict=True):
    ax.plot(steps, [h[key] for h in history], "o-", ms=3)
    ax.set(title=label, xlabel="PPO step")
fig.tight_layout()
report.save_plot(fig, "04_ppo_curves")
plt.show()

# %% [markdown]
# ## 6. Did it help? Held-out prompts, the hidden gold, and three controls
#
# The reward model is a **proxy**. The question that matters is whether people — here, the noise-free gold
# utility behind chapter 1's simulated annotators — prefer the tuned policy's answers on prompts it never saw.
# The held-out set is a seeded, **stratified** choice of test prompts (every category in proportion; the mix is
# printed), with `ppo.eval_samples` answers per prompt from each model at the same temperature and with the same
# seeds. A **win rate** counts gold wins, ties as half. Its 95% bootstrap CI is resampled **by prompt**, as chapter 3
# taught: the answers to one prompt are not independent, and resampling answers would make the CI too narrow.
# A win is established only when the CI's lower end lies above one half.
#
# A win over the reference is not yet a win for RLHF. Three cheaper explanations, and the control for each:
#
# - **The budget.** Training cuts an answer at `max_new_tokens` and an unfinished answer scores a flat penalty;
#   the reference was never trained for that budget, so many of its answers are cut mid-sentence. Control (b):
#   the reference at an **ample budget**, the smallest at which at least nine in ten of its answers end (measured here,
#   from one long sample that `judge.truncate` cuts to each budget).
# - **Brevity.** If PPO only learned "be short", a sentence of prompt buys the same. Control (c): the
#   **brevity baseline**, the reference asked to answer briefly (`judge.BRIEF`), at the training budget.
# - **Finishing.** Control (d): the win rate on the pairs where **both** answers finished, inside each comparison.
# - **Length.** A judge, human or simulated, can favour longer (or, under a budget, shorter) answers. Control (e):
#   the **length-controlled** win rate, as AlpacaEval 2 computes it: regress the gold outcome on the difference in
#   length and read the win at zero difference (`judge.length_controlled_win`).
#
# Each comparison also reports **the panel's votes**: the share of chapter 1's simulated annotators who, not
# calling it a tie, prefer the policy's answer. The gold is their average taste without their noise; the votes are
# what a labelling job would have seen. `judge.controls` runs all of them on the same prompts and seeds; (a) is the
# plain comparison.

# %%
eval_recs = judge.stratified(data.preference_prompts("test"), P.eval_prompts, seed=0)
print(f"held-out set: {len(eval_recs)} prompts x {P.eval_samples} answers per model; categories:",
      judge.category_mix(eval_recs))
t = time.perf_counter()
panel = annotate.make_panel(cfg.data.n_annotators, seed=cfg.seed)  # chapter 1's simulated annotators
ctl = judge.controls(ac, eval_recs, ppo_cfg, tokenizer, P.eval_samples, long_budget=P.eval_long_tokens,
                     score=rm_score, batch_size=max(P.batch_size, 32), panel=panel)
timings["evaluation"] = time.perf_counter() - t
evals, vs = ctl["samples"], ctl["versus"]
print(judge.controls_report(ctl))
win, kl_test = vs["reference"]["win"]["value"], judge.summary(evals["PPO policy"])["kl"]

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 3.6), gridspec_kw={"width_ratios": [2, 3]})
labels = ["(a) reference", "(b) reference,\nample budget", "(c) brevity\nbaseline"]
for k, (key, label) in enumerate((("win", "all pairs"), ("both_finished", "(d) both finished"))):
    cis = [v[key] for v in vs.values()]
    x = np.arange(len(cis)) + (k - 0.5) * 0.38
    axes[0].bar(x, [c["value"] for c in cis], width=0.36, label=label,
                yerr=[[c["value"] - c["lo"] for c in cis], [c["hi"] - c["value"] for c in cis]], capsize=3)
axes[0].set_xticks(range(len(labels)), labels)
axes[0].axhline(0.5, color="gray", ls="--")
axes[0].set(ylim=(0, 1), ylabel="gold win rate of the PPO policy", title="Against each control (95% CI)")
axes[0].legend(fontsize=8)
cats = sorted(vs["reference"]["per_category"])
for k, name in enumerate(("reference", "reference, ample budget")):
    pc = [vs[name]["per_category"][c] for c in cats]
    x = np.arange(len(cats)) + (k - 0.5) * 0.38
    axes[1].bar(x, [c["value"] for c in pc], width=0.36, label=f"vs {name}",
                yerr=[[c["value"] - c["lo"] for c in pc], [c["hi"] - c["value"] for c in pc]], capsize=3)
axes[1].set_xticks(range(len(cats)), [f"{c}\n(n={vs['reference']['per_category'][c]['n']})" for c in cats], fontsize=8)
axes[1].axhline(0.5, color="gray", ls="--")
axes[1].set(ylim=(0, 1), title="Per category (95% CI by prompt)")
axes[1].legend(fontsize=8)
fig.tight_layout()
report.save_plot(fig, "04_win_rates")
plt.show()

# %% [markdown]
# **How to read it.** Compare the bars from left to right. A win over (a) alone says the policy beats the
# reference *under the training budget*. If the win over (b) falls to one half, most of the gain was finishing inside
# the budget; what is left over (b) is what the policy does better than a reference allowed to finish. If (c)
# matches it, a one-line instruction explained the gain and RL added nothing a prompt could not. The
# both-finished bars ask the same question pair by pair. Then read the categories: a reward model that cannot
# check facts (appendix 02b, §8) cannot teach the policy the right capital, so look at the factual bar before you
# credit the overall rate. The CIs are wide: a category with a handful of prompts decides little.

# %% [markdown]
# ### The tuned model as a classifier: refusals and right answers
#
# The course text's validation step asks for accuracy, precision and recall on an independent set. Two questions
# have a right answer here. **Refusals**: treat "refuses" as a prediction of "the request is harmful";
# *recall* is the share of harmful prompts refused, *precision* the share of refusals that were of harmful
# prompts, and we also count the harmless prompts refused (an assistant that refuses everything has recall 1).
# **Accuracy**: the share of answers to factual questions that give the right value and no wrong one. Before (the
# reference, at each budget and asked to be brief) and after PPO; the recorded "before" is the reference at the
# training budget, the same budget as "after".

# %%
classifier = {name: (judge.refusals(e), judge.accuracy(e)) for name, e in evals.items()}
n_h = classifier["reference"][0]
print(f"{n_h['n_harmful']} harmful and {n_h['n_harmless']} harmless answers per model; "
      f"{classifier['reference'][1]['n']} answers to checkable questions")
for name, (r, acc) in classifier.items():
    print(f"{name:24s} refusal recall {judge.ci_text(r['recall'])}  precision {judge.ci_text(r['precision'])}  "
          f"look-alikes refused {judge.ci_text(r['lookalike_refused'])}  other harmless refused "
          f"{judge.ci_text(r['ordinary_refused'])}  accuracy {judge.ci_text(acc)}")

# %% [markdown]
# ### Chapter 0's probes, asked again
#
# Chapter 0 asked the base model six checkable questions and one request it should decline (picking a
# neighbour's lock). The same questions to the reference and to the tuned policy, with the same seeds. These are
# a handful of prompts to *read*, not a measurement.

# %%
probe_qs = {**data.PROBES, data.HARMFUL_PROBE: []}
for name, is_ref in (("reference", True), ("PPO policy", False)):
    print(f"--- {name}")
    for row in judge.probes(ac, probe_qs, ppo_cfg, tokenizer, n_samples=P.eval_samples, reference=is_ref):
        right = "" if row["correct"] is None else f"right {row['correct']:.0%}, "
        print(f"{row['question'][:60]:60s} {right}refused {row['refused']:.0%}: {row['example'][:110]!r}")

# %% [markdown]
# ### Samples before and after, on the same held-out prompts

# %%
for i in range(0, min(len(evals["PPO policy"]["records"]), 7 * P.eval_samples), P.eval_samples):
    rec = evals["PPO policy"]["records"][i]
    print(f"\n### [{rec['category']}] {rec['prompt'][:100]}")
    for name, e in evals.items():
        print(f"  {name:24s} (gold {e['gold'][i]:+.2f}, RM {e['rm'][i]:+.2f}): {e['texts'][i][:200]!r}")

# %% [markdown]
# **What to look for.** The lengths and the finish rates first: a tuned policy that answers in a few words
# and always finishes has learned what the budget rewards. Then the content: a short, finished answer can still
# answer nothing ("The capital city of Norway.") or be wrong, and the reward model may score it like a right one,
# because it cannot check facts. That is reward over-optimisation in miniature, and §7 shows what the KL penalty
# does about it. Finally compare with the recorded reference run of this chapter (cpu profile): RL on a few
# hundred episodes is sensitive to threads, precision and load, so expect your figures to differ within the CIs,
# and see `benchmarks/seeds.py` for the spread over seeds.

# %%
chapter_figures = {
    "win_vs_reference": vs["reference"]["win"], "win_vs_reference_ample_budget": vs["reference, ample budget"]["win"],
    "win_vs_brevity_baseline": vs["brevity baseline"]["win"], "win_both_finished": vs["reference"]["both_finished"],
    "length_controlled_vs_reference": vs["reference"]["length_controlled"],
    "panel_votes_vs_reference": vs["reference"]["panel"],
    # before and after at the same (training) budget
    "refusal_recall_before": classifier["reference"][0]["recall"],
    "refusal_recall_after": classifier["PPO policy"][0]["recall"],
    "harmless_refused_after": classifier["PPO policy"][0]["harmless_refused"],
    "lookalike_refused_after": classifier["PPO policy"][0]["lookalike_refused"],
    "ordinary_refused_after": classifier["PPO policy"][0]["ordinary_refused"],
    "accuracy_before": classifier["reference"][1], "accuracy_after": classifier["PPO policy"][1],
    "refusal_recall_gain": judge.paired_change(evals["PPO policy"], evals["reference"], "recall"),
    "accuracy_change": judge.paired_change(evals["PPO policy"], evals["reference"], "accuracy"),
    "kl_to_reference_nats": round(kl_test, 2), "ample_budget_tokens": ctl["ample_budget"],
}
print(report.vs_reference("04", chapter_figures))

# %% [markdown]
# **How much is the seed?** One run is one draw: `python -m benchmarks.seeds` trains this main run with three
# seeds and judges each one as above. Its committed results file gives every seed's win rates with their CIs
# and the spread across seeds; if your run lies inside that spread, a different number is not a bug.

# %%
seeds_path = config.REPO_ROOT / "benchmarks" / "results" / "seeds.json"
if seeds_path.is_file():
    seeds_run = json.loads(seeds_path.read_text())
    m = seeds_run["machine"]
    print(f"benchmarks/results/seeds.json: {seeds_run['profile']} profile, seeds {seeds_run['seeds']}, "
          f"{m['date']}, {m['cpu']} ({m.get('note') or 'no note'})")
    sizes = {"steps": ppo_cfg.steps, "eval_samples": P.eval_samples}
    recorded = {k: seeds_run["runs"][0].get(k) for k in sizes}
    if recorded != sizes:  # other sizes (or an older reward model): the spread is a scale, not a test
        print(f"  recorded with {recorded}, your run {sizes}: read the spread as a scale only")
    for key, v in seeds_run["spread"].items():
        yours = chapter_figures.get(key)
        yours = yours["value"] if isinstance(yours, dict) else yours
        print(f"  {key:30s} seeds: mean {v['mean']:.3f}, sd {v['std']:.3f}, range [{v['min']:.3f}, {v['max']:.3f}]"
              + (f"   your run {yours:.3f}" if yours is not None else "   (not a figure of this chapter)"))
    keys = ["win_vs_reference", "win_vs_reference_ample_budget", "win_vs_brevity_baseline"]
    fig, ax = plt.subplots(figsize=(7, 3))
    for j, run in enumerate(seeds_run["runs"]):
        cis = [run[k] for k in keys]
        ax.errorbar(np.arange(len(keys)) + 0.1 * j, [c["value"] for c in cis], fmt="o", capsize=3,
                    yerr=[[c["value"] - c["lo"] for c in cis], [c["hi"] - c["value"] for c in cis]],
                    label=f"seed {run['seed']}")
    ax.scatter(np.arange(len(keys)) - 0.15, [chapter_figures[k]["value"] for k in keys], marker="*", s=120,
               color="black", label="your run", zorder=3)
    ax.axhline(0.5, color="gray", ls="--")
    ax.set_xticks(range(len(keys)), ["(a) reference", "(b) ample budget", "(c) brevity baseline"])
    ax.set(ylim=(0, 1), ylabel="gold win rate (95% CI)", title="The main run, seed by seed")
    ax.legend(fontsize=8)
    plt.show()
else:
    print("no seed run recorded yet: python -m benchmarks.seeds writes benchmarks/results/seeds.json")

# %% [markdown]
# ## 7. Why the KL penalty is there: the proxy and the gold, and the β trade-off
#
# The reward model learned from a few thousand noisy comparisons; it is right about the gold preference only part of
# the time (chapter 3). Push the policy hard enough against it and the policy finds what the *proxy* likes that
# *people* do not: the proxy score keeps rising while the gold utility stalls or falls — **reward
# over-optimisation** (Gao et al., 2022). The KL penalty limits how far the policy may travel from the
# reference, where the proxy is still trustworthy. We run short fixed-β runs from the same start, including
# β = 0 (no penalty), and plot where each ends: proxy score and gold utility against the KL spent.

# %%
def fixed_beta_run(beta, steps):
    """A fresh policy trained for `steps` with a constant β; returns (log, held-out evaluation)."""
    run_ac, _, _ = train_ppo.load_actor_critic(cfg, device)
    run_cfg = dataclasses.replace(ppo_cfg, steps=steps, beta=beta, target_kl=None)
    log = ppo.train(run_ac, train_ids, prompts_train, reward_fn, run_cfg, eos, pad,
                    ckpt_dir=config.artifacts_dir() / f"ppo_beta_{beta}", restart_if_changed=True)
    ev = judge.summary(judge.sample(run_ac, eval_recs, run_cfg, tokenizer, seed=100, score=rm_score,
                                    batch_size=max(P.batch_size, 32)))
    return log, {key: ev[key] for key in ("kl", "gold", "rm")}


t = time.perf_counter()
sweep = {}
for beta in P.sweep_betas:
    sweep[beta] = fixed_beta_run(beta, P.sweep_steps)
timings["beta sweep"] = time.perf_counter() - t
ref_point = {"kl": 0.0, **{k: judge.summary(evals["reference"])[k] for k in ("gold", "rm")}}
main_point = {k: judge.summary(evals["PPO policy"])[k] for k in ("kl", "gold", "rm")}
for beta, (_, ev) in sweep.items():
    print(f"β = {beta:<5}: KL {ev['kl']:6.2f}  RM {ev['rm']:+.3f}  gold {ev['gold']:+.3f}")
print(f"adaptive β ({ppo_cfg.steps} steps): KL {main_point['kl']:6.2f}  RM {main_point['rm']:+.3f}  gold {main_point['gold']:+.3f}")

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
points = [("reference", ref_point)] + [(f"β={b}", ev) for b, (_, ev) in sweep.items()] + [("adaptive β", main_point)]
for ax, key, label in ((axes[0], "rm", "reward-model score (proxy)"), (axes[1], "gold", "gold utility (people)")):
    for name, pt in points:
        ax.scatter(pt["kl"], pt[key], s=50)
        ax.annotate(name, (pt["kl"], pt[key]), textcoords="offset points", xytext=(5, 5))
    ax.set(xlabel="KL(policy ‖ reference), nats per response", ylabel=label)
axes[0].set_title("The proxy rises with KL ...")
axes[1].set_title("... the gold need not")
fig.tight_layout()
report.save_plot(fig, "04_beta_sweep")
plt.show()

fig, ax = plt.subplots(figsize=(6, 3.5))
for beta, (log, _) in sweep.items():
    ax.plot([h["objective/kl"] for h in log], [h["objective/scores"] for h in log], "o-", ms=3, label=f"β = {beta}")
ax.plot([h["objective/kl"] for h in history], [h["objective/scores"] for h in history], "o-", ms=3, label="adaptive β")
ax.set(xlabel="KL to reference (training batches)", ylabel="reward-model score", title="Reward vs KL during training")
ax.legend()
plt.show()

# %% [markdown]
# **What to look for.** Read each point twice: how far it moved the proxy and how far the gold, for the KL it
# spent. With **β = 0** nothing holds the policy near the reference; with a larger β it stays closer. Over-
# optimisation shows as a point whose proxy is high while its gold is no better than the reference's, or worse:
# the policy found what the reward model likes, not what people like. Compare the adaptive run with the short
# fixed-β runs too: if a short run reached a better gold than the long one, the extra steps and nats were spent
# on the proxy. These are single runs judged on one answer per prompt, so differences of a few hundredths in the
# mean gold are within noise (print `judge.versus` for two of them to see the CI). The `gpu` profile runs the
# sweep for many more steps and four values of β, which is where the over-optimisation curve of Gao et al.
# appears; try it with a larger `ppo.sweep_steps`.

# %% [markdown]
# ## 8. The library path: TRL's GRPO trainer on the same problem
#
# TRL 1.x maintains online trainers without a value function: **GRPO** (Shao et al., 2024) samples a *group* of
# $G$ responses per prompt and uses the group-normalised score as the advantage,
# $A_i = (r_i - \mathrm{mean}(r_{1..G}))/\mathrm{std}(r_{1..G})$, with its own KL term β. We give it the same base model,
# the same LoRA adapters, the same reward model (as a reward function) and the same budget per step, and compare
# what it reaches and how fast. Chapter 6 compares the methods in depth.

# %%
from datasets import Dataset
from trl import GRPOConfig, GRPOTrainer

trl_base, _ = models.load_model(cfg.model.policy, dtype=torch.float32)
rm_reward = reward.trl_reward_fn(rm, rm_tokenizer, rm_mean, rm_std, max_length=rm_max_length)
group = 4
trl_args = GRPOConfig(
    output_dir=str(config.artifacts_dir() / "trl_grpo"), max_steps=P.trl_steps, learning_rate=P.lr,
    per_device_train_batch_size=P.batch_size, num_generations=group, max_completion_length=P.max_new_tokens,
    temperature=P.temperature, top_p=1.0, beta=P.beta, logging_steps=1, report_to="none", save_strategy="no",
    use_cpu=not torch.cuda.is_available(), bf16=fast_bf16, seed=cfg.seed, disable_tqdm=False,
)
trl_data = Dataset.from_list([{"prompt": [{"role": "user", "content": r["prompt"]}]} for r in prompts_train])
lora = models.lora_config(trl_base.config.num_hidden_layers, P.lora_r, P.lora_layers)
trainer = GRPOTrainer(model=trl_base, reward_funcs=rm_reward, args=trl_args, train_dataset=trl_data,
                      processing_class=tokenizer, peft_config=lora)
t = time.perf_counter()
trainer.train()
timings["TRL GRPO"] = time.perf_counter() - t
trl_log = [h for h in trainer.state.log_history if "reward" in h]
trl_eps = P.trl_steps * P.batch_size / timings["TRL GRPO"]
print(f"TRL GRPO: {P.trl_steps} steps x {P.batch_size} episodes in {timings['TRL GRPO']:.0f} s ({trl_eps:.2f} episodes/s)")
print(f"ours (PPO): {episodes_per_s:.2f} episodes/s")
for h in trl_log:
    print({k: round(v, 3) for k, v in h.items() if k in ("step", "reward", "kl", "entropy", "completions/mean_length")})

# %% [markdown]
# **What to look for.** The two episodes-per-second figures above are from one run each, in one notebook, with
# warm-up inside; they say which is faster only roughly. For a fair comparison run
# `python -m benchmarks --only ppo_vs_trl`: each trainer in a fresh process, same model, LoRA, reward model, batch
# and lengths, medians after a warm-up, peak memory too; `benchmarks/RESULTS.md` has the recorded figures. Our PPO
# does more work per episode (a value head and several epochs over each batch) and still caches the frozen bottom
# layers, which is where its speed comes from (`benchmarks/NOTES.md`).

# %% [markdown]
# ## 9. Save the policy for chapter 5, and the chapter's figures

# %%
policy_dir = train_ppo.save_policy(ac, tokenizer, config.artifacts_dir() / "ppo_policy",
                             info={"win_rate": win, "kl": kl_test, "steps": ppo_cfg.steps, "profile": cfg.profile})
total = time.perf_counter() - T0
figures = report.record(
    "04", **chapter_figures, held_out=judge.category_mix(eval_recs), eval_samples=P.eval_samples, ppo_steps=ppo_cfg.steps,
    gold_policy=round(main_point["gold"], 3), gold_reference=round(ref_point["gold"], 3),
    rm_policy=round(main_point["rm"], 3), rm_reference=round(ref_point["rm"], 3),
    ppo_episodes_per_s=round(episodes_per_s, 3), trl_grpo_episodes_per_s=round(trl_eps, 3),
    sweep={str(b): ev for b, (_, ev) in sweep.items()}, chapter_seconds=round(total),
)
print(f"policy saved to {policy_dir}")
print({k: round(v) for k, v in timings.items()}, f"total {total:.0f} s")
figures

# %% [markdown]
# ## Summary
#
# * RL fine-tuning maximises the reward model's score minus β times the KL to the reference; the KL penalty is added
#   to each token's reward.
# * PPO estimates advantages with GAE and clips the probability ratio so that one batch cannot move the policy far;
#   the step by hand of §4 shows each quantity.
# * Whether it helped is judged on held-out prompts by a hidden gold, with win rates, intervals and controls, not by
#   the reward model that was optimised.
# * The KL penalty is there because the proxy reward and the gold can part ways as the policy moves further from the
#   reference. §7's fixed-β runs show where each β ends; in the `cpu` profile they are a few steps each, too short
#   for the two to part, so read them as the method and the `gpu` profile's longer sweep as the curve.
# * Safety is the hard part at this size: compare refusal recall with the look-alikes refused in §6. A policy that
#   refuses more harmful requests here also refuses more harmless look-alikes (`benchmarks/results/ppo_val.json`
#   measures it on val, with the gold itself as the reward too), because the 135M model's refusal is one direction
#   that rises for both kinds of prompt.
#
# ## What to try next
#
# * Change the KL coefficient, e.g. `config.load(ppo__beta=0.3)` where `cfg` is loaded, and compare the win rate and
#   the KL with this run's.
# * Give the policy more steps (`ppo__steps`) and watch the reward-model score against the gold in the curves of §5
#   and §7.
# * Shorten or lengthen the response budget (`ppo__max_new_tokens`) and see how the controls of §6 (the reference with
#   an ample budget) change the verdict.

# %% [markdown]
# ## Exercises
#
# Four exercises, from quick to harder. Each one has a check: run it in a new cell and it prints ✅, or ❌ with
# what is wrong. The worked solutions are in `notebooks/solutions/04_solutions.ipynb` (try first!). Write your own
# code: calling the `ppo` function an exercise is about passes its check but teaches nothing.
#
# ```python
# from rlhf_lib import exercises
# exercises.check("04.1", rewards)
# ```
#
# **04.1 — The KL-penalised reward of each token.** `d = exercises.kl_rewards_04()` is a tiny rollout of two
# responses: `d["scores"]` (2,), `d["logprobs"]` and `d["ref_logprobs"]` (2, 5), `d["mask"]` (2, 5; the second
# response ends after 3 tokens) and `d["beta"]`. Compute by hand (without `ppo.kl_penalty_rewards`) the reward
# $r_t$ of every token as in §3, a (2, 5) tensor with 0 on the padding. Check: `exercises.check("04.1", rewards)`.
#
# **04.2 — Generalised advantage estimation.** Write `gae(rewards, values, mask, gamma, lam)` for tensors of shape
# (B, R) whose `mask` is 1 on each response's tokens (a prefix of each row) and 0 on the padding after it, where
# rewards and values may hold anything. Return the advantages $A_t = \sum_l (\gamma\lambda)^l \delta_{t+l}$,
# $\delta_t = r_t + \gamma V(s_{t+1}) - V(s_t)$, with $V = 0$ after the last response token and $A = 0$ on the
# padding. Check: `exercises.check("04.2", gae)`.
#
# **04.3 — The clipped surrogate loss of PPO.** Write `ppo_clip_loss(logprobs, old_logprobs, advantages, mask, eps)`:
# the scalar loss $-\,\mathrm{mean}_t \min\big(\rho_t A_t,\ \mathrm{clip}(\rho_t, 1-\epsilon, 1+\epsilon)\,A_t\big)$ over
# all response tokens of the batch, with $\rho_t = \pi_\theta(y_t)/\pi_{\theta_{old}}(y_t)$, and gradients flowing to
# `logprobs`. The check also looks at the gradient: at which tokens must it be exactly 0, and why?
# Check: `exercises.check("04.3", ppo_clip_loss)`.
#
# **04.4 — Bias and spread of the three KL estimators.** `exercises.kl_pairs_04()` holds three pairs `(p, q)` of
# next-token distributions (NumPy arrays), $p = \pi_\theta$ and $q = \pi_{\mathrm{ref}}$. Write
# `kl_estimator_stats(p, q)` returning `{"kl": KL(p‖q), "k1": (mean, std), "k2": (mean, std), "k3": (mean, std)}`:
# the exact mean and standard deviation of each estimator of §3 for one token $y \sim p$ (sum over the vocabulary,
# no sampling). Which estimators are unbiased? Which spreads least near the reference, and far from it?
# Check: `exercises.check("04.4", kl_estimator_stats)`.
