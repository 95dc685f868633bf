# %% [markdown]
# # Chapter 6 — Beyond PPO: best-of-n, DPO and RLOO on the same problem
#
# ![Chapter 6: other ways to optimise the preferences](../docs/img/pipeline_optimise.svg)
#
# **What you will learn**
#
# * best-of-n: improving answers at answer time with a reward model and no training;
# * DPO: learning from the preference pairs directly, with the reward model folded into the policy, and its implicit
#   reward;
# * RLOO (GRPO's sibling): online RL with a group baseline instead of a value network;
# * how to compare methods fairly: the same base model, data, judge, prompts and seeds, with wall time and peak
#   memory.
#
# **What you need**
#
# * **Earlier chapters:** chapter 1's preference pairs, chapter 2's reward model and chapter 4's PPO (its saved
#   policy, when present, joins the comparison). Nothing has to be run first.
# * **Background:** chapter 4's KL-regularised objective and its evaluation.
#
# **Run time.** The next cell prints how long this notebook took in each profile when it was last measured (the
# committed notebook benchmark and reference run); your machine will differ.

# %%
from rlhf_lib import report

print(report.run_times("06"))

# %% [markdown]
# "Should I use PPO, DPO or GRPO?" is the question every learner asks after chapter 4. This chapter answers it
# with measurements on the course's own problem rather than with opinions. Every method gets:
#
# - the **same base model** (SmolLM2-135M-Instruct) with the **same LoRA adapters** as chapter 4
#   (`models.lora_config`: rank `ppo.lora_r` on the top `ppo.lora_layers` layers);
# - the **same data**: chapter 1's preference pairs (DPO learns from them directly) or chapter 2's **reward
#   model**, trained on those same pairs (best-of-n, RLOO and PPO optimise it);
# - the **same judge** (`rlhf_lib.judge`, as in chapter 4): answers to the same seeded, stratified held-out test
#   prompts, sampled at the same temperature and token budget, scored by the hidden **gold utility** and compared
#   with the reference model's answers (win rate, ties split, with a 95% bootstrap CI resampled by prompt), plus
#   the KL to the reference each method spent;
# - the **same meters**: wall time and peak memory (`meters.measure`).
#
# | method | what it needs | what it trains | §
# |---|---|---|---|
# | best-of-n | a reward model, n samples per prompt **at answer time** | nothing | 2 |
# | DPO | preference pairs (no reward model, no sampling) | the policy, offline | 3 |
# | RLOO (GRPO's sibling) | a reward model, G samples per prompt | the policy, online, no value network | 4 |
# | PPO (chapter 4) | a reward model, one sample per prompt | the policy and a value head, online | 5 |
#
# All four aim at the same target: the KL-regularised objective of chapter 4,
# $$\max_\pi\; \mathbb{E}_{x,\,y\sim\pi}\big[r(x,y)\big] - \beta\,\mathrm{KL}\big(\pi(\cdot|x)\,\|\,\pi_{\mathrm{ref}}(\cdot|x)\big).$$

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import torch

from rlhf_lib import (
    compare,
    config,
    data,
    judge,
    meters,
    metrics,
    models,
    ppo,
    report,
    reward,
    train_ppo,
    train_reward,
)

T0 = time.perf_counter()
cfg = config.load()
config.seed_everything(cfg.seed)
P, B = cfg.ppo, cfg.beyond
print(f"profile {cfg.profile}:", vars(B))

# %% [markdown]
# ## 1. The common ground: reference, reward model, test prompts, and the reference's own answers
#
# The reference $\pi_{\mathrm{ref}}$ is the base model. We sample `beyond.eval_samples` answers to each of
# `beyond.eval_prompts` held-out test prompts, a seeded stratified choice (every category in proportion; the mix
# is printed); every method, best-of-n too, is judged on these prompts and sampled **with the same seeds**, so a
# method and the reference draw the same random numbers and differ only where their distributions differ.
# The reward model's scores are normalised on reference answers to a stratified sample of *training* prompts, as
# in chapter 4.

# %%
device = models.pick_device()
fast_bf16 = models.bf16_is_fast(device)  # fp32 on a CPU without native bf16 (emulated bf16 is slower there)
dtype = models.fast_dtype(device)
ref_base, tokenizer = models.load_model(cfg.model.policy, device=device, dtype=dtype)
eos, pad = tokenizer.eos_token_id, tokenizer.pad_token_id
n_layers = ref_base.config.num_hidden_layers
n_frozen = n_layers - P.lora_layers if P.lora_layers else 0  # layers without adapters (cached, chapter 4)


def fresh_lora_policy(base=None):
    """A base model with chapter 4's LoRA adapters (fresh: the identity), wrapped so that π_ref = adapters off."""
    base = base if base is not None else models.load_model(cfg.model.policy, device=device, dtype=dtype)[0]
    return train_ppo.lora_actor_critic(base, P.lora_r, P.lora_layers)


rm, rm_tokenizer = train_reward.load_or_train(dtype=models.fast_dtype(device))  # bf16 only where native
rm_max_length = cfg.reward.max_length
prompts_train = data.preference_prompts("train")
eval_recs = judge.stratified(data.preference_prompts("test"), B.eval_prompts, seed=0)
train_ids = models.chat_prompt_ids(tokenizer, prompts_train)
print(f"held-out set: {len(eval_recs)} prompts x {B.eval_samples} answers per method;", judge.category_mix(eval_recs))
ppo_cfg = train_ppo.profile_ppo_config(cfg, steps=B.online_steps, save_every=10**6, autocast=fast_bf16)  # chapter 4's

ref_ac = fresh_lora_policy(ref_base)  # adapters untouched: the policy IS the reference here


def rm_score(prompts, texts):
    """Chapter 2's reward model, raw scores."""
    return reward.score(rm, rm_tokenizer, prompts, texts, max_length=rm_max_length)


t = time.perf_counter()
norm = judge.sample(ref_ac, judge.stratified(prompts_train, 2 * P.batch_size, seed=1), ppo_cfg, tokenizer, seed=1,
                    reference=True, score=rm_score, batch_size=P.batch_size)
rm_mean, rm_std = judge.reward_normaliser(norm["rm"])
ref_eval = judge.sample(ref_ac, eval_recs, ppo_cfg, tokenizer, B.eval_samples, reference=True, score=rm_score)
t_ref = time.perf_counter() - t
ref_summary = judge.summary(ref_eval)
print(f"reward normaliser on {len(norm['rm'])} reference answers to train prompts "
      f"({judge.category_mix(norm['records'])}): mean {rm_mean:+.3f}, std {rm_std:.3f}")
print(f"reference: gold {ref_summary['gold']:+.3f}, RM {ref_summary['rm']:+.3f}, {ref_summary['finished']:.0%} end "
      f"within {P.max_new_tokens} tokens ({t_ref:.0f} s)")


def judge_method(name, ac, cost, note):
    """Sample `ac` on the held-out prompts with the reference's seeds; its row of the table, and its samples."""
    t = time.perf_counter()
    judged = judge.sample(ac, eval_recs, ppo_cfg, tokenizer, B.eval_samples, score=rm_score)
    v = judge.versus(judged, ref_eval)
    m = v["a"]
    row = compare.MethodRow(name, v["win"]["value"], m["kl"], m["gold"], m["rm"],
                            None if cost is None else cost.seconds, None if cost is None else cost.peak_mb,
                            None if cost is None else cost.delta_mb, note=note, extra=m,
                            ci=(v["win"]["lo"], v["win"]["hi"]))
    print(judge.report(name, v), f"({time.perf_counter() - t:.0f} s)")
    print(f"  KL {m['kl']:.2f} nats, gold {m['gold']:+.3f}, RM {m['rm']:+.3f}, finished {m['finished']:.0%}, "
          f"{m['words']:.0f} words")
    return row, judged


results: list[compare.MethodRow] = []

# %% [markdown]
# ## 2. Best-of-n: no training at all
#
# Sample $n$ answers from $\pi_{\mathrm{ref}}$, keep the one the reward model likes best. This *is* a policy,
# $\pi_{\mathrm{BoN}}$, and its KL to the reference has a closed form when the reference never draws the same
# answer twice (so no two of the $n$ answers tie). Then the chance that an answer whose reward is at quantile
# $F$ is the best of $n$ is $F^{n-1}$ times $n$ (any of the $n$
# draws may be it): $\pi_{\mathrm{BoN}}(y) = n\,F(y)^{n-1}\,\pi_{\mathrm{ref}}(y)$, and with $u = F(y)$ uniform under the reference,
# $$\mathrm{KL}(\pi_{\mathrm{BoN}}\|\pi_{\mathrm{ref}}) = \mathbb{E}_{\mathrm{BoN}}\big[\log n + (n-1)\log F\big] = \log n + (n-1)\int_0^1 n u^{n-1}\log u\,du = \log n - \frac{n-1}{n}.$$
# That is exact only when the reference's answers never repeat. A small model's terse answers do repeat ("Paris.",
# the same refusal word for word), and then the formula overstates the KL: in the extreme, a prompt the reference
# always answers the same way gives best-of-n nothing to choose, so it *is* the reference, with KL 0, while the
# formula still says $\log n - (n-1)/n$. In general the formula is an upper bound (Beirami et al. 2024), and the KL
# this section prints is that bound. It grows only like $\log n$: best-of-16 spends at most
# $\log 16 - 15/16 \approx 1.8$ nats,
# a fraction of what chapter 4's PPO spends. What it costs instead is **compute at answer time**: $n$ samples and $n$ reward-model
# calls per question, forever.
#
# We draw $N = \max(n)$ reference answers per prompt once, score them, and compute the exact average over every
# $n$-subset of those $N$ (`compare.best_of_n_weights`: the answer ranked $i$-th lowest is the best of a random
# $n$-subset with probability $\binom{i-1}{n-1}/\binom{N}{n}$) — one set of samples gives the whole curve, with
# much less noise than drawing new groups for every $n$. Each best-of-n answer is judged against the
# reference's answers of §1 to the same prompt, on the same held-out prompts as every other method; the CI
# resamples prompts.

# %%
n_max, n_prompts = max(B.bon_ns), len(eval_recs)
with meters.measure() as bon_cost:
    bon = judge.sample(ref_ac, eval_recs, ppo_cfg, tokenizer, n_samples=n_max, seed=2024, reference=True,
                       score=rm_score)
proxy = np.array(bon["rm"]).reshape(n_prompts, n_max)  # (prompts, N)
gold = np.array(bon["gold"]).reshape(n_prompts, n_max)
ref_gold = np.array(ref_eval["gold"]).reshape(n_prompts, B.eval_samples)  # (prompts, M): the same prompts
bon_curve = []
for n in B.bon_ns:
    # the rows are prompts, so resampling rows is the bootstrap by prompt
    win = metrics.bootstrap_ci(lambda p, g, r, n=n: compare.best_of_n_win_rate(p, g, r, n), proxy, gold, ref_gold,
                               n_boot=1000, seed=0)
    bon_curve.append({
        "n": n, "kl": compare.best_of_n_kl(n), "win_rate": win["value"], "ci": (win["lo"], win["hi"]),
        "gold": float(compare.best_of_n_mean(proxy, gold, n).mean()),
        "rm": float(compare.best_of_n_mean(proxy, proxy, n).mean()),
    })
    print(f"best-of-{n:<3d} KL {bon_curve[-1]['kl']:.2f} nats  win rate {judge.ci_text(win)}  "
          f"gold {bon_curve[-1]['gold']:+.3f}  RM {bon_curve[-1]['rm']:+.3f}")
best = bon_curve[-1]
results.append(compare.MethodRow(
    f"best-of-{n_max}", best["win_rate"], best["kl"], best["gold"], best["rm"], bon_cost.seconds, bon_cost.peak_mb,
    bon_cost.delta_mb, note=f"{n_max} samples + RM calls per prompt at answer time; KL analytic (an upper bound)", ci=best["ci"]))
print(f"{n_prompts} prompts x {n_max} answers sampled and scored in {bon_cost.seconds:.0f} s "
      f"({bon_cost.seconds / n_prompts:.1f} s per question at n = {n_max})")

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
ns = [c["n"] for c in bon_curve]
axes[0].plot(ns, [c["rm"] for c in bon_curve], "o-", label="reward model (proxy)")
axes[0].plot(ns, [c["gold"] for c in bon_curve], "s-", label="gold utility")
axes[0].set(xscale="log", xlabel="n", ylabel="mean score of the chosen answer", title="Best-of-n: proxy and gold")
axes[0].set_xticks(ns, [str(n) for n in ns])
axes[0].legend()
axes[1].errorbar([c["kl"] for c in bon_curve], [c["win_rate"] for c in bon_curve], fmt="o-", capsize=3,
                 yerr=[[c["win_rate"] - c["ci"][0] for c in bon_curve], [c["ci"][1] - c["win_rate"] for c in bon_curve]])
for c in bon_curve:
    axes[1].annotate(f"n={c['n']}", (c["kl"], c["win_rate"]), textcoords="offset points", xytext=(4, -10))
axes[1].axhline(0.5, color="gray", ls="--")
axes[1].set(xlabel="KL = log n − (n−1)/n (nats)", ylabel="gold win rate vs reference",
            title="Win rate against KL (95% CI)")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 3. DPO: the reward model, folded into the policy
#
# **Derivation.** The KL-regularised objective has a closed-form optimum for any reward $r$ (maximise over each
# $\pi(\cdot|x)$ with a Lagrange multiplier for $\sum_y \pi = 1$):
# $$\pi^*(y|x) = \frac{1}{Z(x)}\,\pi_{\mathrm{ref}}(y|x)\,e^{r(x,y)/\beta}, \qquad Z(x) = \sum_y \pi_{\mathrm{ref}}(y|x)\,e^{r(x,y)/\beta}.$$
# Take logs and solve for the reward: $r(x,y) = \beta\log\frac{\pi^*(y|x)}{\pi_{\mathrm{ref}}(y|x)} + \beta\log Z(x)$. Chapter 2's
# **Bradley-Terry** model says annotators prefer $y_w$ over $y_l$ with probability $\sigma(r(x,y_w) - r(x,y_l))$ — a
# *difference* of rewards, in which the intractable $\beta\log Z(x)$ cancels:
# $$P(y_w \succ y_l \mid x) = \sigma\Big(\beta\log\frac{\pi^*(y_w|x)}{\pi_{\mathrm{ref}}(y_w|x)} - \beta\log\frac{\pi^*(y_l|x)}{\pi_{\mathrm{ref}}(y_l|x)}\Big).$$
# So instead of fitting a reward model and then a policy, fit the **policy** by maximum likelihood on the pairs:
# $$\mathcal{L}_{\mathrm{DPO}}(\theta) = -\,\mathbb{E}_{(x,y_w,y_l)}\Big[\log\sigma\big(\hat r_\theta(x,y_w) - \hat r_\theta(x,y_l)\big)\Big], \qquad \hat r_\theta(x,y) = \beta\log\frac{\pi_\theta(y|x)}{\pi_{\mathrm{ref}}(y|x)}.$$
# $\hat r_\theta$ is DPO's **implicit reward**: the policy is its own reward model (Rafailov et al., 2023). No
# sampling, no reward model, no value network — a classification loss on the same pairs chapter 2 used.
# `compare.dpo_loss` is this formula; `tests/test_compare.py` checks it against TRL's `DPOTrainer` loss on the
# same batch. What DPO gives up: it never sees its *own* answers, so nothing tells it about answers unlike those
# in the data (for instance, answers that must end within this chapter's token budget).
#
# We train with TRL's `DPOTrainer` (LoRA as in chapter 4, β = `beyond.dpo_beta`) on `beyond.dpo_pairs` chapter-1
# training pairs, in the chat template.

# %%
from trl import DPOConfig, DPOTrainer

prefs = data.load_preferences()
dpo_train = compare.conversational_pairs(prefs["train"], B.dpo_pairs, seed=cfg.seed)
dpo_args = DPOConfig(
    output_dir=str(config.artifacts_dir() / "dpo"), beta=B.dpo_beta, learning_rate=B.dpo_lr,
    per_device_train_batch_size=B.dpo_batch_size, num_train_epochs=B.dpo_epochs, max_length=rm_max_length,
    gradient_checkpointing=False,  # TRL's default (on) would send gradients through the frozen bottom layers
    bf16=fast_bf16, use_cpu=not torch.cuda.is_available(), logging_steps=1, report_to="none", save_strategy="no",
    seed=cfg.seed, disable_tqdm=False,
)
with meters.measure() as dpo_cost:
    dpo_base, _ = models.load_model(cfg.model.policy, device=device, dtype=dtype)
    dpo_trainer = DPOTrainer(model=dpo_base, args=dpo_args, train_dataset=dpo_train, processing_class=tokenizer,
                             peft_config=models.lora_config(n_layers, P.lora_r, P.lora_layers))
    dpo_trainer.train()
dpo_log = [h for h in dpo_trainer.state.log_history if "loss" in h and "rewards/margins" in h]
print(f"DPO: {len(dpo_train)} pairs x {B.dpo_epochs} epoch(s) in {dpo_cost.seconds:.0f} s "
      f"({len(dpo_train) * B.dpo_epochs / dpo_cost.seconds:.2f} pairs/s), peak RSS {dpo_cost.peak_mb:.0f} MiB")

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
steps = [h["step"] for h in dpo_log]
axes[0].plot(steps, [h["loss"] for h in dpo_log], "o-", ms=3)
axes[0].axhline(np.log(2), color="gray", ls="--", label="log 2 (no preference)")
axes[0].set(xlabel="DPO step", ylabel="loss", title="DPO loss on training batches")
axes[0].legend()
axes[1].plot(steps, [h["rewards/chosen"] for h in dpo_log], label="chosen")
axes[1].plot(steps, [h["rewards/rejected"] for h in dpo_log], label="rejected")
axes[1].set(xlabel="DPO step", ylabel="implicit reward β log π/π_ref", title="Implicit rewards (training batches)")
axes[1].legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# ### DPO's implicit reward as a reward model
#
# If DPO learned what the labels say, its implicit reward should rank the **held-out test pairs** like a reward
# model does. We compute $\hat r = \beta\log\pi_\theta/\pi_{\mathrm{ref}}$ for both answers of `beyond.implicit_pairs` test
# pairs (the reference is the same network with the adapters off) and report how often the chosen answer gets the
# higher implicit reward — against the annotators' label and against the hidden gold — next to chapter 2's
# explicit reward model on the same pairs.

# %%
test_pairs = compare.pair_subset(prefs["test"], B.implicit_pairs, seed=cfg.seed)
dpo_policy = dpo_trainer.model.eval()
imp = compare.implicit_rewards(dpo_policy, tokenizer, test_pairs["prompt"], test_pairs["chosen"],
                               test_pairs["rejected"], B.dpo_beta, progress=True)
rm_c = reward.score(rm, rm_tokenizer, test_pairs["prompt"], test_pairs["chosen"], max_length=rm_max_length)
rm_r = reward.score(rm, rm_tokenizer, test_pairs["prompt"], test_pairs["rejected"], max_length=rm_max_length)
gold_c, gold_r = np.array(test_pairs["gold_chosen"]), np.array(test_pairs["gold_rejected"])
implicit = {
    "DPO implicit reward": (reward.pairwise_accuracy(imp["chosen"], imp["rejected"]),
                            reward.gold_agreement(imp["chosen"], imp["rejected"], gold_c, gold_r)),
    "chapter-2 reward model": (reward.pairwise_accuracy(rm_c, rm_r),
                               reward.gold_agreement(rm_c, rm_r, gold_c, gold_r)),
}
for name, (acc, gold_acc) in implicit.items():
    print(f"{name:24s} agrees with the label on {acc:.1%}, with the gold on {gold_acc:.1%} "
          f"of {len(test_pairs)} test pairs")

# %% [markdown]
# ### DPO's policy, judged like the others
#
# DPO never samples during training, so its KL is not controlled by anything but β and the data: we **measure** it
# the way chapter 4 did, $\mathrm{KL} \approx \frac1N\sum_i \sum_t \big(\log\pi_\theta(y_{i,t}) - \log\pi_{\mathrm{ref}}(y_{i,t})\big)$ on the
# policy's own samples (the $k_1$ estimator, summed over the answer's tokens, at the evaluation temperature).

# %%
dpo_row, dpo_eval = judge_method(
    "DPO (TRL)", ppo.ActorCritic(dpo_policy, frozen_bottom=n_frozen), dpo_cost,
    note=f"{len(dpo_train)} pairs x {B.dpo_epochs} epoch; implicit-reward test accuracy "
         f"{implicit['DPO implicit reward'][0]:.0%}")
results.append(dpo_row)
del dpo_trainer, dpo_base, dpo_policy

# %% [markdown]
# ## 4. RLOO: online RL without a value network
#
# PPO needs a **baseline** $b$ to turn rewards into advantages $A = R - b$ (a lower-variance policy gradient
# $\nabla J = \mathbb{E}[A\,\nabla\log\pi(y|x)]$, unbiased as long as $b$ does not depend on $y$); chapter 4 learns one, the
# value head $V(s_t)$. The **group-relative** methods sample $G$ answers $y_1..y_G$ to the same prompt and let the
# group be the baseline:
#
# - **RLOO** (REINFORCE leave-one-out; Kool et al. 2019, Ahmadian et al. 2024): $A_i = R_i - \frac{1}{G-1}\sum_{j\ne i} R_j$.
#   The baseline of answer $i$ uses only the *other* answers, so it does not depend on $y_i$: the gradient stays
#   unbiased. Note $A_i = \frac{G}{G-1}\big(R_i - \bar R\big)$ with $\bar R$ the group mean.
# - **GRPO** (Shao et al. 2024; chapter 4, §8): $A_i = (R_i - \bar R)/\mathrm{std}(R_{1..G})$. Including $R_i$ in $\bar R$
#   only rescales by $(G-1)/G$; dividing by the group's spread weights prompts whose answers differ a little as much
#   as prompts whose answers differ a lot (a bias towards too easy and too hard prompts). GRPO's **length bias**
#   has another source (Liu et al. 2025, "Dr. GRPO"): its loss averages over the tokens of each response, then
#   over responses, so each token of a short answer carries more weight than a token of a long one. A
#   positive advantage is then pushed harder into short answers, and a negative one is diluted over a long wrong
#   answer, so wrong answers grow longer. Dr. GRPO removes both divisions: no std, and a sum over tokens divided
#   by a constant.
#
# Every token of answer $i$ gets the same $A_i$: one reward per answer, no credit assignment along the tokens, no
# critic to train. In TRL's `RLOOTrainer` the KL is paid the way chapter 4 pays it, inside the reward,
# $R_i = r(x, y_i) - \beta\sum_t (\log\pi_\theta - \log\pi_{\mathrm{ref}})(y_{i,t})$ — the same objective as PPO.
# We give it PPO's knobs: the same reward (chapter 2's RM, normalised, and the same penalty for an answer cut by
# the token budget), β, learning rate, batch of `ppo.batch_size` answers, minibatch and number of epochs over
# each batch (`num_iterations`, with the same clipped ratio), for `beyond.online_steps` batches.

# %%
from datasets import Dataset
from trl import RLOOConfig, RLOOTrainer

rloo_reward = compare.eos_penalised(reward.trl_reward_fn(rm, rm_tokenizer, rm_mean, rm_std, max_length=rm_max_length),
                                    eos, ppo_cfg.missing_eos_penalty)
steps_per_gen = P.batch_size // P.minibatch_size
rloo_args = RLOOConfig(
    output_dir=str(config.artifacts_dir() / "rloo"), max_steps=B.online_steps * steps_per_gen * P.epochs,
    learning_rate=P.lr, per_device_train_batch_size=P.minibatch_size, steps_per_generation=steps_per_gen,
    num_iterations=P.epochs, num_generations=B.rloo_group, max_completion_length=P.max_new_tokens,
    temperature=P.temperature, top_p=1.0, top_k=0, beta=P.beta, gradient_checkpointing=False,
    bf16=fast_bf16, use_cpu=not torch.cuda.is_available(), logging_steps=1, report_to="none", save_strategy="no",
    seed=cfg.seed, disable_tqdm=False,
)
rloo_data = Dataset.from_list([{"prompt": [{"role": "user", "content": r["prompt"]}]} for r in prompts_train])
with meters.measure() as rloo_cost:
    rloo_base, _ = models.load_model(cfg.model.policy, device=device, dtype=dtype)
    rloo_trainer = RLOOTrainer(model=rloo_base, reward_funcs=rloo_reward, args=rloo_args, train_dataset=rloo_data,
                               processing_class=tokenizer, peft_config=models.lora_config(n_layers, P.lora_r, P.lora_layers))
    rloo_trainer.train()
rloo_episodes = B.online_steps * P.batch_size
rloo_log = [h for h in rloo_trainer.state.log_history if "reward" in h]
print(f"RLOO: {rloo_episodes} episodes in {rloo_cost.seconds:.0f} s ({rloo_episodes / rloo_cost.seconds:.2f} "
      f"episodes/s), peak RSS {rloo_cost.peak_mb:.0f} MiB")
for h in rloo_log[::max(1, len(rloo_log) // 6)]:
    print({k: round(v, 3) for k, v in h.items() if k in ("step", "reward", "kl", "completions/mean_length")})

# %%
rloo_row, rloo_eval = judge_method("RLOO (TRL)", ppo.ActorCritic(rloo_trainer.model.eval(), frozen_bottom=n_frozen),
                                   rloo_cost, note=f"{rloo_episodes} episodes, groups of {B.rloo_group}")
results.append(rloo_row)
del rloo_trainer, rloo_base

# %% [markdown]
# ## 5. The course's PPO: the same budget here, and chapter 4's longer run
#
# First our PPO (`rlhf_lib.ppo`) with exactly RLOO's budget — `beyond.online_steps` rollouts of `ppo.batch_size`
# answers, same reward, β, learning rate, minibatch and epochs — so the two online methods differ only in the
# algorithm (and in whose code runs it). Then, when chapter 4 has run, its saved policy (`ppo_policy`, trained
# for `ppo.steps` rollouts with the adaptive β) is judged on the same prompts: the row the other methods would
# reach with more compute. Its wall time is not re-measured here.

# %%
with meters.measure() as ppo_cost:
    ppo_ac = fresh_lora_policy()
    reward_fn = reward.text_reward_fn(rm, rm_tokenizer, tokenizer, rm_mean, rm_std, max_length=rm_max_length)
    ppo_log = ppo.train(ppo_ac, train_ids, prompts_train, reward_fn, ppo_cfg, eos, pad)
ppo_episodes = ppo_cfg.steps * ppo_cfg.batch_size
print(f"PPO: {ppo_episodes} episodes in {ppo_cost.seconds:.0f} s ({ppo_episodes / ppo_cost.seconds:.2f} episodes/s), "
      f"peak RSS {ppo_cost.peak_mb:.0f} MiB")
ppo_row, ppo_eval = judge_method("PPO (ours, same budget)", ppo_ac, ppo_cost,
                                 note=f"{ppo_episodes} episodes, adaptive β, value head")
results.append(ppo_row)
del ppo_ac

# %%
ch4_dir = config.artifacts_dir() / "ppo_policy"
if (ch4_dir / "model.safetensors").is_file():
    import json

    ch4_info = json.loads((ch4_dir / "ppo_info.json").read_text())
    ch4_policy, _ = models.load_model(str(ch4_dir), device=device, dtype=dtype)
    ch4_ref, _ = models.load_model(cfg.model.policy, device=device, dtype=dtype)
    ch4_ac = ppo.ActorCritic(ch4_policy, ref_policy=ch4_ref)  # merged LoRA: the reference is a separate copy
    ch4_episodes = ch4_info.get("steps", 0) * P.batch_size
    ch4_row, ch4_eval = judge_method("PPO (chapter 4 policy)", ch4_ac, None,
                                     note=f"loaded from {ch4_dir.name}/ ({ch4_episodes} episodes, trained in chapter 4)")
    results.append(ch4_row)
    del ch4_ac, ch4_policy, ch4_ref
else:
    print(f"no chapter-4 policy at {ch4_dir}: run notebook 04 to add its row; the same-budget PPO above stands in")

# %% [markdown]
# ## 6. The comparison: one table, one plot

# %%
summary = compare.table(results)
print(summary)
fig, ax = plt.subplots(figsize=(7.5, 4.5))
ax.plot([c["kl"] for c in bon_curve], [c["win_rate"] for c in bon_curve], "o-", color="tab:gray",
        label="best-of-n (n = " + ", ".join(str(c["n"]) for c in bon_curve) + ")")
markers = {"DPO": ("tab:green", "D"), "RLOO": ("tab:orange", "^"), "PPO (ours": ("tab:blue", "o"),
           "PPO (chapter": ("tab:purple", "*")}
ax.fill_between([c["kl"] for c in bon_curve], [c["ci"][0] for c in bon_curve], [c["ci"][1] for c in bon_curve],
                color="tab:gray", alpha=0.15)
for r in results[1:]:
    color, marker = next(v for k, v in markers.items() if r.method.startswith(k))
    ax.errorbar(r.kl, r.win_rate, yerr=[[r.win_rate - r.ci[0]], [r.ci[1] - r.win_rate]], color=color, fmt=marker,
                ms=9, capsize=3, label=r.method, zorder=3)
ax.axhline(0.5, color="gray", ls="--", lw=1)
ax.set(xlabel="KL(policy ‖ reference), nats per answer", ylabel="gold win rate vs reference (ties split)",
       title=f"Gold win rate against KL, 95% CI ({cfg.profile} profile, {len(eval_recs)} prompts x {B.eval_samples})")
ax.legend(fontsize=8)
fig.tight_layout()
report.save_plot(fig, "06_win_rate_vs_kl")
plt.show()

# %% [markdown]
# ### Samples from every method on the same prompts

# %%
judged = {"reference": ref_eval, "DPO": dpo_eval, "RLOO": rloo_eval, "PPO (same budget)": ppo_eval}
if "ch4_eval" in globals():
    judged["PPO (chapter 4)"] = ch4_eval
for i in range(0, min(len(ref_eval["texts"]), 3 * B.eval_samples), B.eval_samples):
    print(f"\n### [{ref_eval['records'][i]['category']}] {ref_eval['records'][i]['prompt'][:90]}")
    for name, e in judged.items():
        print(f"  {name:18s} (gold {e['gold'][i]:+.2f}): {e['texts'][i][:160]!r}")

# %%
total = time.perf_counter() - T0
figures = report.record(
    "06", held_out=judge.category_mix(eval_recs), eval_samples=B.eval_samples,
    methods={r.method: {"win_rate": {"value": r.win_rate, "lo": r.ci[0], "hi": r.ci[1]}, "kl": round(r.kl, 2),
                        "gold": round(r.gold, 3),
                              "seconds": None if r.seconds is None else round(r.seconds),
                              "peak_mb": None if r.peak_mb is None else round(r.peak_mb)} for r in results},
    best_of_n={c["n"]: {"value": c["win_rate"], "lo": c["ci"][0], "hi": c["ci"][1]} for c in bon_curve},
    dpo_pairs=len(dpo_train),
    dpo_implicit_accuracy=round(implicit["DPO implicit reward"][0], 3),
    rm_accuracy_same_pairs=round(implicit["chapter-2 reward model"][0], 3), chapter_seconds=round(total),
)
print(f"chapter 6 ran in {total:.0f} s")
print(report.vs_reference("06", {f"win {m}": v["win_rate"] for m, v in figures["methods"].items()}
                          | {"dpo_pairs": figures["dpo_pairs"]}))

# %% [markdown]
# ## 7. So: PPO, DPO or GRPO?
#
# Read the table above with the mechanisms of §2–§5 in mind; they predict where each method wins.
#
# - **Best-of-n** is the baseline every trained method must beat at equal KL: it spends at most $\log n - (n-1)/n$
#   nats and needs no training, but it pays $n$ samples and $n$ reward-model calls for **every** question, and
#   it can only pick among what the reference already says.
# - **DPO** is the cheapest to set up — no reward model, no sampling, a classification loss on the pairs — and its
#   implicit reward is a reward model you can evaluate. But it learns only from the answers in the data: it is
#   never shown its own answers, so a mistake its own samples make and the data's answers do not (an answer cut off
#   at the budget, a refusal nobody asked for) is never scored, and its KL is set by β and the data, not controlled.
# - **RLOO / GRPO** and **PPO** optimise the same KL-regularised objective on the policy's own answers. The group
#   baseline replaces the value network: less memory and code, but $G$ answers per prompt for one baseline, and
#   one advantage for every token of an answer. With a frozen-trunk LoRA policy our PPO's extra epochs are cheap
#   (chapter 4); TRL's trainers recompute the whole network each time.
#
# **What to look for in your table.** First the CIs: two methods whose intervals overlap widely are not told
# apart by this many prompts, whatever their point values say. Then best-of-n's curve: if the gold rises with n
# as steadily as the proxy, this reward model is not yet over-optimised at that KL; a gold that flattens while the
# proxy climbs is Goodhart's law at answer time. Then each trained method's KL: a method that barely moved
# (a KL near 0) cannot win, whatever its algorithm; a method with a large KL and a win rate near one half spent
# its budget on what the reward model likes. Compare the online methods on the same budget (RLOO and our PPO see
# the same number of episodes) for the algorithm, and chapter 4's longer run for what more compute buys. DPO's
# implicit reward, next to chapter 2's reward model on the same test pairs, shows how much of the labels' signal
# it absorbed. The last printout above gives the recorded reference run of this chapter: expect your
# figures to differ within the CIs.
#
# **Caveats, honestly.** A 135M-parameter model, LoRA on 8 layers, a few hundred training answers or pairs, a
# few dozen test prompts: the ranking of methods that are close can flip with the seed (chapter 4's
# `benchmarks/seeds.py` measures how much). The training budgets differ by construction (DPO counts pairs, the
# online methods count sampled answers, best-of-n pays at answer time); in the `cpu` profile DPO sees a part of
# chapter 1's training pairs (`beyond.dpo_pairs`), because one pass over all of them takes longer on two cores
# than this chapter's whole budget; the `gpu` profile trains on all of them for two epochs. On a GPU the
# sampling-heavy methods gain most. Peak memory is the RSS of the whole process — base model, reward model and
# the method — sampled by a thread (`meters.PeakMemory`); "added" is the peak minus the RSS when the method
# started, which counts loading the method's own copy of the base model (best-of-n reuses the loaded one).

# %% [markdown]
# ## Summary
#
# * Best-of-n, DPO, RLOO and PPO aim at the same KL-regularised objective; they differ in what they need (a reward
#   model, pairs, samples) and in when they pay (training or answer time).
# * A fair comparison fixes the base model, adapters, data, judge, prompts and seeds, and reports win rates with
#   intervals, the KL spent, wall time and peak memory.
# * Methods whose intervals overlap are not told apart by this many prompts; the KL column says how far each moved,
#   which bounds what it can win.
#
# ## What to try next
#
# * Extend best-of-n's curve (`config.load(beyond__bon_ns=(1, 2, 4, 8, 16))`) and see where the gold stops following
#   the proxy.
# * Change DPO's β (`beyond__dpo_beta`) and compare its KL and win rate with this run's.
# * Give RLOO and PPO more steps (`beyond__online_steps`) or RLOO a larger group (`beyond__rloo_group`) and see
#   whether their ranking changes.

# %% [markdown]
# ## Exercises
#
# Four exercises, from quick to harder, each on the core of one method of this chapter, in a few lines of tensor
# or array code (no model). Each one has a check: run it and it prints ✅, or ❌ with what is wrong. The worked
# solutions are in `notebooks/solutions/06_solutions.ipynb` (try first!). Write your own code: calling
# `compare.dpo_loss` passes 06.1 but teaches nothing.
#
# **06.1 — The DPO loss from log-probabilities.** Write `dpo_loss(logp_chosen, logp_rejected, ref_chosen,
# ref_rejected, beta)` for (B,) tensors of summed log-probabilities of each answer under the policy and under the
# reference: the mean over the pairs of the loss of §3, as a tensor that carries the gradient to the policy's
# log-probabilities. The check also tries a pair the policy has got badly wrong: does your loss stay finite?
# Check: `exercises.check("06.1", dpo_loss)`.
#
# **06.2 — Best-of-n's exact KL for a discrete reference.** §2's $\log n - (n-1)/n$ assumes the reference's samples
# never repeat. Write `best_of_n_kl_exact(p, n)` for a reference distribution `p` over a few answers, listed from the
# lowest reward to the highest (all rewards differ): the exact $\mathrm{KL}(\pi_{\mathrm{BoN}}\|\pi_{\mathrm{ref}})$.
# Hint: the best of $n$ samples is at most answer $i$ exactly when all $n$ samples are. Try it on
# `exercises.bon_cases_06()`: when does the formula overstate the KL, and by how much?
# Check: `exercises.check("06.2", best_of_n_kl_exact)`.
#
# **06.3 — RLOO's leave-one-out advantages.** Write `rloo_advantages(rewards)` for a (prompts, G) array of rewards,
# each row one prompt's group of answers: $A_i = R_i - \frac{1}{G-1}\sum_{j\ne i} R_j$ (§4). Why must the baseline
# of answer $i$ leave answer $i$ out? Check: `exercises.check("06.3", rloo_advantages)`.
#
# **06.4 — GRPO's per-token weights and its length bias.** For one group of $G$ answers with rewards `rewards` and
# lengths `lengths` (in tokens), write `grpo_token_weights(rewards, lengths, max_len)`: the (G, max_len) array of
# the weight each token's $\nabla\log\pi$ gets in GRPO's objective at ratio 1, when the objective is the mean over
# the answers of each answer's mean over its own tokens of $A_i\,\rho_{i,t}$, with
# $A_i = (R_i - \bar R)/(\mathrm{std}(R) + \epsilon)$ and 0 on the padding. Compare a long wrong answer's tokens
# with a short one's: where does GRPO's length bias come from? Check:
# `exercises.check("06.4", grpo_token_weights)`.

# %%
from rlhf_lib import exercises

dpo_loss = ...  # 06.1: def dpo_loss(logp_chosen, logp_rejected, ref_chosen, ref_rejected, beta): ...
best_of_n_kl_exact = ...  # 06.2: def best_of_n_kl_exact(p, n): ...
rloo_advantages = ...  # 06.3: def rloo_advantages(rewards): ...
grpo_token_weights = ...  # 06.4: def grpo_token_weights(rewards, lengths, max_len): ...
for key, answer in (("06.1", dpo_loss), ("06.2", best_of_n_kl_exact), ("06.3", rloo_advantages),
                    ("06.4", grpo_token_weights)):
    exercises.check(key, answer)  # ❌ "no answer yet" until you replace the `...`
