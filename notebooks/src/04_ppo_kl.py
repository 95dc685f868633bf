# %% [markdown]
# # Chapter 4 — Fine-tuning with PPO and a KL penalty
#
# We have a policy (SmolLM2, chapter 0) and a reward model that scores its answers (chapters 2–3). Now the
# policy learns from the reward model. The course text (步骤3, *fine-tuning with reinforcement learning*) names
# the parts; this notebook builds each one and maps it to one function of `rlhf_lib/ppo.py`:
#
# | course text | here | `rlhf_lib.ppo` |
# |---|---|---|
# | constraint on policy change: a KL penalty keeps the policy near the pre-trained model | §2 the objective, §3 three KL estimators | `kl_penalty_rewards`, `kl_estimators` |
# | policy-gradient algorithm: PPO | §4 one PPO step by hand, §5 the full run | `gae`, `policy_loss`, `value_loss`, `ppo_update`, `train` |
# | policy update: maximise the reward model's score plus the KL constraint | §5 reward, KL and entropy curves | `AdaptiveKLController` |
# | validation: an independent set, accuracy-style metrics | §6 held-out prompts judged by the hidden gold utility | `win_rate`, `sample_with_kl` |
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
import time

import matplotlib.pyplot as plt
import numpy as np
import torch

from rlhf_lib import annotate, compare, config, data, judge, models, ppo, report, reward

T0 = time.perf_counter()
cfg = config.load()
config.seed_everything(cfg.seed)
P = cfg.ppo
timings = {}
print(f"profile {cfg.profile}:", vars(P))

# %% [markdown]
# ## 1. Policy, reference, value — and the reward model
#
# Three networks take part, but we keep only one copy of the language model in memory:
#
# - the **policy** $\pi_\theta$: SmolLM2 with LoRA adapters on its top layers (`ppo.with_lora`). Only the
#   adapters train, and the backward pass stops at the lowest adapted layer, which is most of the speed-up on a CPU;
# - the **reference** $\pi_{\mathrm{ref}}$: the same network with the adapters switched off (`disable_adapter()`),
#   exactly the starting model, for free;
# - the **value function** $V(s_t)$: a linear head on the policy's last hidden states (`ActorCritic.value_head`),
#   sharing the backbone. `ActorCritic(policy, ref_policy=..., value_model=...)` takes a separate frozen
#   reference or a separate critic instead, for models without adapters (chapter 5 uses that).
#
# The reward model is chapter 2's (its transformer with the best validation accuracy: in the cpu run of 2026-12-01,
# LoRA through all 30 layers); when chapter 2 has not run, `reward.load_reward_model()` trains a small one.

# %%
device = models.pick_device()
# bf16 where the hardware runs it natively (GPUs; CPUs with AVX512-BF16 or AMX): bf16 weights for the frozen
# base, bf16 autocast, fp32 adapters. Elsewhere fp32 is faster: on a CPU without native bf16 one PPO update
# took 6.9 s in fp32 and 24.7 s in bf16 (8 episodes, 48 tokens, 1 thread).
fast_bf16 = reward.bf16_is_fast(device)
dtype = torch.bfloat16 if fast_bf16 else torch.float32
base, tokenizer = models.load_model(cfg.model.name, device=device, dtype=dtype)
policy = ppo.with_lora(base, r=P.lora_r, top_layers=P.lora_layers)
# No adapters below the top `lora_layers`: those bottom layers are the same for policy, reference and every
# PPO epoch, so the actor-critic runs them once per rollout and caches their output (`ppo.split_decoder`).
n_frozen = base.config.num_hidden_layers - P.lora_layers if P.lora_layers else 0
ac = ppo.ActorCritic(policy, frozen_bottom=n_frozen)
policy.print_trainable_parameters()

t = time.perf_counter()
rm, rm_tokenizer = reward.load_reward_model()
rm_max_length = cfg.reward.max_length
timings["load reward model"] = time.perf_counter() - t
print(f"reward model loaded in {timings['load reward model']:.1f} s")

prompts_train = data.load_prompts("train")
prompts_test = data.load_prompts("test")[:P.eval_prompts]
if cfg.profile == "ci":
    prompts_train = prompts_train[:16]
train_ids = ppo.chat_prompt_ids(tokenizer, prompts_train)
test_ids = ppo.chat_prompt_ids(tokenizer, prompts_test)
eos, pad = tokenizer.eos_token_id, tokenizer.pad_token_id
ppo_cfg = ppo.PPOConfig(
    steps=P.steps, batch_size=P.batch_size, minibatch_size=P.minibatch_size, epochs=P.epochs,
    max_new_tokens=P.max_new_tokens, temperature=P.temperature, lr=P.lr, beta=P.beta,
    target_kl=P.target_kl, kl_horizon=P.kl_horizon, seed=cfg.seed, save_every=2, autocast=fast_bf16,
    reward_id=reward.fingerprint(),  # a checkpoint made against another reward model is not resumed
)
print(f"{len(train_ids)} training prompts, {len(test_ids)} held-out test prompts")

# %% [markdown]
# ## 2. Rollouts, and rewards on the reference's own samples
#
# A **rollout** samples one response per prompt from the policy at temperature $T$ — with no top-k or top-p, so
# that the distribution we sample from is exactly the one whose log-probabilities PPO computes, $\mathrm{softmax}(z/T)$.
# A response ends at EOS; one that hits the token budget without ending gets a fixed, bad score
# (`missing_eos_penalty`) instead of the reward model's opinion.
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
norm = judge.sample(ac, norm_recs, ppo_cfg, tokenizer, seed=1, reference=True, batch_size=P.batch_size,
                    score=lambda prompts, texts: reward.score(rm, rm_tokenizer, prompts, texts, max_length=rm_max_length))
n_norm, ref_done, ref_texts, ref_scores = len(norm_recs), norm["finished"], norm["texts"], norm["rm"]
rm_mean, rm_std = ppo.reward_normaliser(ref_scores)
reward_fn = ppo.text_reward_fn(rm, rm_tokenizer, tokenizer, rm_mean, rm_std, max_length=rm_max_length)
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
# tokens of the response, so the penalty can be paid **per token**: token $t$ earns
# $r_t = -\beta\,(\log\pi_\theta(y_t|\cdot) - \log\pi_{\mathrm{ref}}(y_t|\cdot))$, and the last token also earns the
# reward model's score. That is `ppo.kl_penalty_rewards`.
#
# From samples we only see $\log$-ratios, and there are three common estimators (Schulman, *Approximating KL
# divergence*), with $\log \rho = \log\pi_{\mathrm{ref}} - \log\pi_\theta$:
# $k_1 = -\log\rho$ (unbiased, can be negative), $k_2 = \tfrac12(\log\rho)^2$ (biased, low variance),
# $k_3 = (\rho - 1) - \log\rho$ (unbiased, never negative). PPO's reward uses $k_1$, the one whose expectation *is*
# the objective's KL. Below, a "policy" that is the base model at a lower temperature against the base at $T$,
# where the exact per-token KL is known from the full distributions, shows the trade-off.

# %%
with torch.no_grad(), policy.disable_adapter():
    ids, mask = (x.to(device) for x in ppo.left_pad(train_ids[:8], pad))
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
# Everything `ppo.train` does in one iteration, spelled out on one rollout batch:
#
# 1. **Rollout** (`ppo.rollout`): sample, then with gradients off record $\log\pi_{\theta_{old}}(y_t)$, $\log\pi_{\mathrm{ref}}(y_t)$, $V_{old}(s_t)$ and the score.
# 2. **Rewards** (`kl_penalty_rewards`): $r_t = -\beta k_1(t)$, plus the score at the last token.
# 3. **Advantages** (`gae`): $\delta_t = r_t + \gamma V(s_{t+1}) - V(s_t)$, $A_t = \sum_l (\gamma\lambda)^l\delta_{t+l}$ with $\gamma=1$, $\lambda=0.95$; returns $R_t = A_t + V_{old}(s_t)$; advantages whitened.
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

# %%
ckpt = config.artifacts_dir() / "ppo_checkpoint"
t = time.perf_counter()
history = ppo.train(ac, train_ids, prompts_train, reward_fn, ppo_cfg, eos, pad, ckpt_dir=ckpt, restart_if_changed=True)
timings["PPO main run"] = time.perf_counter() - t
# from the seconds each step took when it ran: a run resumed from a finished checkpoint reports its real speed
episodes_per_s = ppo.episodes_per_second(history)
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
# ## 6. Did it help? The held-out test prompts, judged by the hidden gold utility
#
# The reward model is a **proxy**. The question that matters is whether people — here, the noise-free gold
# utility behind chapter 1's simulated annotators — prefer the tuned policy's answers on prompts it never saw.
# We sample from the tuned policy and from the reference (adapters off) on the held-out test prompts at the same
# temperature and budget, and count gold wins (ties split). We also measure the KL the policy spent.

# %%
def judge(records, ids, n_samples, seed=100):
    """Sample both models on the same prompts with the same seeds; gold utilities, RM scores, KL and texts per model."""
    out = {name: compare.sample_and_judge(ac, records, ids, ppo_cfg, tokenizer, rm, rm_tokenizer, n_samples, seed,
                                          reference=is_ref, rm_max_length=rm_max_length,
                                          batch_size=max(P.batch_size, 16))
           for name, is_ref in (("reference", True), ("PPO policy", False))}
    return out, out["reference"]["records"]


t = time.perf_counter()
evals, eval_recs = judge(prompts_test, test_ids, P.eval_samples)
timings["evaluation"] = time.perf_counter() - t
win = ppo.win_rate(evals["PPO policy"]["gold"], evals["reference"]["gold"])
kl_test = float(np.mean(evals["PPO policy"]["kl"]))
print(f"gold-judged win rate of the PPO policy over the reference: {win:.1%} "
      f"({len(eval_recs)} comparisons on {len(prompts_test)} held-out prompts, ties split)")
print(f"mean KL(policy ‖ reference) on held-out prompts: {kl_test:.2f} nats per response")
for name, e in evals.items():
    print(f"{name:10s}: gold {np.mean(e['gold']):+.3f}  RM {np.mean(e['rm']):+.3f}  "
          f"ends with EOS {np.mean(e['finished']):.0%}  length {np.mean([len(x.split()) for x in e['texts']]):.0f} words")

# %%
cats = sorted({r["category"] for r in eval_recs})
rows = []
for c in cats:
    idx = [i for i, r in enumerate(eval_recs) if r["category"] == c]
    rows.append((c, len(idx), ppo.win_rate([evals["PPO policy"]["gold"][i] for i in idx],
                                           [evals["reference"]["gold"][i] for i in idx])))
fig, ax = plt.subplots(figsize=(7, 3))
ax.bar([r[0] for r in rows], [r[2] for r in rows], color="tab:blue")
ax.axhline(0.5, color="gray", ls="--")
ax.set(ylim=(0, 1), ylabel="gold win rate vs reference", title=f"Per category (overall {win:.0%})")
plt.show()
for c, n, w in rows:
    print(f"{c:11s} n={n:3d}  win rate {w:.0%}")

# %% [markdown]
# ### Samples before and after, on the same held-out prompts

# %%
for i in range(0, min(len(eval_recs), 6 * P.eval_samples), P.eval_samples):
    print(f"\n### [{eval_recs[i]['category']}] {eval_recs[i]['prompt'][:100]}")
    for name in ("reference", "PPO policy"):
        e = evals[name]
        print(f"  {name:10s} (gold {e['gold'][i]:+.2f}, RM {e['rm'][i]:+.2f}): {e['texts'][i][:220]!r}")

# %% [markdown]
# **Measured (cpu profile).** Four complete runs of §5 with the same settings and seed (24 PPO steps of 16
# episodes, adaptive β from 0.1, KL target 6 nats), each judged on the 50 held-out test prompts × 2 samples. Runs A
# and B ran on 2 shared cores of a CPU without native bf16 (fp32), runs C and D on 2 free cores of a CPU with native
# bf16 (bf16 weights and autocast) after the LM-head speed-up of `benchmarks/NOTES.md`. Runs A–C optimised chapter
# 2's top-4 transformer reward model (gold agreement 0.65 on chapter 2's test pairs); **run D** optimised its new
# LoRA reward model (all 30 layers; gold agreement 0.71, test accuracy 0.63 against 0.58). Thread count, precision
# and load change floating-point sums and hence the samples: RL on 384 episodes is that sensitive, so read A–C as
# the spread to expect from one reward model, and D against them.
#
# | | reference (A, B / C, D) | PPO run A | PPO run B | PPO run C | **PPO run D** (LoRA RM) |
# |---|---|---|---|---|---|
# | gold-judged win rate over the reference (ties split) | — | **70.5%** | **62.5%** | **62.5%** | **66.5%** |
# | mean KL to the reference, nats per response | 0 | **7.2** | **9.0** | **6.9** | **8.5** |
# | mean gold utility | −0.568 / −0.479 | −0.315 | −0.394 | −0.427 | **−0.152** |
# | mean reward-model score (raw; D's is another model) | +0.08 / +0.06, −0.08 | +0.35 | +0.36 | +0.29 | +0.28 |
# | responses that end within 48 tokens | 41% / 41% | 93% | 98% | 88% | 97% |
# | mean length, words | 27 / 27 | 12 | 12 | 14 | 8 |
#
# Per category (run A / B / C / D): summarise 88/92/75/83%, harmful 84/59/78/84%, advice 83/67/67/50%, conversion
# 75/79/58/79%, arithmetic 64/58/69/75%, creative 60/60/60/60%, factual 58/46/44/42%. The course's aim (≥ 65% at
# < 10 nats) was met by runs A and D and missed by B and C; all four stay under 10 nats. The better reward model
# moved the gold most: run D's mean gold gain over the reference (+0.33) is larger than that of any of runs A–C
# (+0.25, +0.17, +0.05). Read the samples before you celebrate: most of the gain is the policy learning to **finish**
# inside the token budget (the reward model and the gold both dislike an answer cut mid-sentence), by becoming
# terse, in run D down to 8 words. Terseness is also where the proxy misleads: "The capital city of Norway." is short,
# finished and answers nothing, "The capital of Nigeria is Portimbabwe." is short, finished and wrong, and the
# reward model scores both like the reference's right answers (+0.34 and +0.32 against +0.27 and +0.32); in run C
# it scored "The capital city of Switzerland is **Zurich**." +0.24, the right answer +0.26. It cannot check facts
# (chapter 2 §8 shows why: its base model cannot either), so factual prompts lose in every run but A. That is
# reward over-optimisation in miniature, and §7 shows what the KL penalty does about it.
#
# **Run time.** Run D's whole chapter took **19.8 minutes** on 2 free cores (main run 536 s, 22 s per PPO step;
# evaluation 97 s; β sweep 413 s; TRL GRPO 106 s); run C's 19.2. Run B took 44 minutes on 2 cores shared with four
# other jobs, before the speed-up (a PPO step then took 39 s alone on the cores, 68 s shared).

# %% [markdown]
# ## 7. Why the KL penalty is there: the proxy and the gold, and the β trade-off
#
# The reward model learned from ~1,200 noisy comparisons; it is right about the gold preference only part of
# the time (chapter 3). Push the policy hard enough against it and the policy finds what the *proxy* likes that
# *people* do not: the proxy score keeps rising while the gold utility stalls or falls — **reward
# over-optimisation** (Gao et al., 2022). The KL penalty limits how far the policy may travel from the
# reference, where the proxy is still trustworthy. We run short fixed-β runs from the same start, including
# β = 0 (no penalty), and plot where each ends: proxy score and gold utility against the KL spent.

# %%
def fixed_beta_run(beta, steps):
    """A fresh policy trained for `steps` with a constant β; returns (log, held-out evaluation)."""
    run_base, _ = models.load_model(cfg.model.name, device=device, dtype=dtype)
    run_ac = ppo.ActorCritic(ppo.with_lora(run_base, r=P.lora_r, top_layers=P.lora_layers), frozen_bottom=n_frozen)
    run_cfg = dataclasses.replace(ppo_cfg, steps=steps, beta=beta, target_kl=None)
    log = ppo.train(run_ac, train_ids, prompts_train, reward_fn, run_cfg, eos, pad,
                    ckpt_dir=config.artifacts_dir() / f"ppo_beta_{beta}", restart_if_changed=True)
    ev = compare.sample_and_judge(run_ac, prompts_test, test_ids, run_cfg, tokenizer, rm, rm_tokenizer, seed=100,
                                  rm_max_length=rm_max_length, batch_size=max(P.batch_size, 16))
    return log, {key: float(np.mean(ev[key])) for key in ("kl", "gold", "rm")}


t = time.perf_counter()
sweep = {}
for beta in P.sweep_betas:
    sweep[beta] = fixed_beta_run(beta, P.sweep_steps)
timings["beta sweep"] = time.perf_counter() - t
ref_point = {"kl": 0.0, "gold": float(np.mean(evals["reference"]["gold"][::P.eval_samples])),
             "rm": float(np.mean(evals["reference"]["rm"][::P.eval_samples]))}
main_point = {"kl": kl_test, "gold": float(np.mean(evals["PPO policy"]["gold"])),
              "rm": float(np.mean(evals["PPO policy"]["rm"]))}
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
# **Measured (cpu profile, run D above; 6 steps per fixed-β run, 24 for the adaptive run).** On the held-out
# prompts (one sample each), the reference scores RM −0.10 and gold −0.440. With **β = 0** six steps raise the proxy
# to +0.11 at 3.8 nats while the gold barely moves (−0.467): the policy spent its KL on what the reward model likes,
# not on what people like. With **β = 0.3** the policy stays at 1.3 nats, the proxy rises less (+0.03) and the gold
# *rises* (−0.399): a policy kept close to the reference keeps what the reference did well. The longer adaptive run
# (8.5 nats) gained most (−0.152). Run C, against the top-4 reward model, gave the same ordering (β = 0: RM +0.11 at
# 3.2 nats with the gold falling to −0.594; β = 0.3: 1.6 nats, gold −0.553; adaptive 6.9 nats, −0.427). Six steps
# are few and these are single runs (a standard error of about 0.05 on each gold mean); the `gpu` profile runs the
# sweep for 60 steps and four values of β, which is where the over-optimisation curve of Gao et al. appears. Try
# it with a larger `ppo.sweep_steps`.

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

trl_base, _ = models.load_model(cfg.model.name, dtype=torch.float32)
rm_reward = ppo.trl_reward_fn(rm, rm_tokenizer, rm_mean, rm_std, max_length=rm_max_length)
group = 4
trl_args = GRPOConfig(
    output_dir=str(config.artifacts_dir() / "trl_grpo"), max_steps=P.trl_steps, learning_rate=P.lr,
    per_device_train_batch_size=P.batch_size, num_generations=group, max_completion_length=P.max_new_tokens,
    temperature=P.temperature, top_p=1.0, beta=P.beta, logging_steps=1, report_to="none", save_strategy="no",
    use_cpu=not torch.cuda.is_available(), bf16=fast_bf16, seed=cfg.seed, disable_tqdm=False,
)
trl_data = Dataset.from_list([{"prompt": [{"role": "user", "content": r["prompt"]}]} for r in prompts_train])
lora = ppo.lora_config(trl_base.config.num_hidden_layers, P.lora_r, P.lora_layers)
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
# **Measured (cpu profile, run D, 2 free cores).** TRL's GRPO took 106 s for 3 steps of 16 episodes (0.45
# episodes/s; 87 s in run C); our PPO's main run averaged 0.72 episodes/s with 4 epochs over each batch (its first
# step includes warm-up, GRPO's 3 steps too). Side by side in fresh processes (`benchmarks/ppo_vs_trl.py`, `benchmarks/RESULTS.md`)
# ours runs at **1.75×** GRPO's episodes per second with 1 epoch of updates and **1.15×** with this chapter's 4
# epochs, on the same model, LoRA, reward model, batch and lengths, in 0.42× its peak memory. (Before the LM-head fix
# of `benchmarks/NOTES.md` ours trailed at 4 epochs, 0.88×.)

# %% [markdown]
# ## 9. Save the policy for chapter 5, and the chapter's figures

# %%
policy_dir = ppo.save_policy(ac, tokenizer, config.artifacts_dir() / "ppo_policy",
                             info={"win_rate": win, "kl": kl_test, "steps": ppo_cfg.steps, "profile": cfg.profile})
total = time.perf_counter() - T0
figures = report.record(
    "04", gold_win_rate=round(win, 3), kl_to_reference_nats=round(kl_test, 2),
    gold_policy=round(main_point["gold"], 3), gold_reference=round(ref_point["gold"], 3),
    rm_policy=round(main_point["rm"], 3), rm_reference=round(ref_point["rm"], 3),
    ppo_episodes_per_s=round(episodes_per_s, 3), trl_grpo_episodes_per_s=round(trl_eps, 3),
    sweep={str(b): ev for b, (_, ev) in sweep.items()}, chapter_seconds=round(total),
)
print(f"policy saved to {policy_dir}")
print({k: round(v) for k, v in timings.items()}, f"total {total:.0f} s")
figures

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
