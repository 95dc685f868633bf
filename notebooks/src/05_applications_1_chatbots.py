# %% [markdown]
# # Chapter 5.1 — Applications: a chatbot for questions and summaries
#
# ![Notebook 5.1: the whole loop for a chatbot](../docs/img/pipeline_loop.svg)
#
# **What you will learn**
#
# * how the whole loop of chapters 1–4 is specialised for one product: a chatbot that answers questions and
#   summarises;
# * what people want from a QA answer and from a summary, written as a hidden gold utility;
# * a reward model for these two tasks, PPO with a KL penalty on their prompts, and the evaluation with controls;
# * how to read the tuned answers side by side with the reference's.
#
# **What you need**
#
# * **Earlier chapters:** chapters 1–4 (the preference data, the feature reward model of chapter 2, chapter 4's PPO).
#   Nothing has to be run first.
# * **Background:** chapter 4's evaluation (win rate, KL, the controls).
#
# **Run time.** The next cell prints how long this notebook took in each profile when it was last measured (the
# committed notebook benchmark and reference run); your machine will differ.

# %%
from rlhf_lib import report

print(report.run_times("05_applications_1"))

# %% [markdown]
# The course text lists where RLHF is used. Its first application is the **chatbot**: people judge answers to
# questions for *accuracy* and *relevance*, and summaries for *coverage* and *brevity*; a reward model learns
# those judgements; the model is tuned against it. This notebook runs that loop end to end on SmolLM2, with
# every piece built in chapters 1–4 and the shared steps in `rlhf_lib/apps/language.py`:
#
# | step | here | library |
# |---|---|---|
# | human feedback on QA and summaries | §1 chapter 1's labels, restricted to the QA and summarisation prompts | `data`, `language.split_by_category` |
# | reward model for these tasks | §2 a feedforward RM on frozen features (chapter 2), trained on these tasks only | `language.train_feature_rm`, `language.FeatureRM` |
# | RL fine-tuning with a KL penalty | §3 chapter 4's PPO on QA + summarisation training prompts | `ppo.train`, `train_ppo.load_actor_critic` |
# | evaluation | §4 stratified held-out test prompts judged by the hidden gold utility, win rates with CIs and three controls | `judge.stratified`, `judge.controls`, `judge.versus` |
#
# Two tasks, one policy: **QA** (`factual`, `arithmetic` and `conversion` prompts — a verifiable answer) and
# **summarisation** (`summarise` prompts — a passage to condense).

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from rlhf_lib import annotate, config, data, features, judge, models, pairs, ppo, report, train_ppo
from rlhf_lib.apps import language

T0 = time.perf_counter()
cfg = config.load()
config.seed_everything(cfg.seed)
A, R, P = cfg.apps, cfg.reward, cfg.ppo
QA, SUMMARY = ("factual", "arithmetic", "conversion"), ("summarise",)
CATEGORIES = QA + SUMMARY


def task(rec) -> str:
    return "summarisation" if rec["category"] in SUMMARY else "QA"


timings = {}
print(f"profile {cfg.profile}:", {k: v for k, v in vars(A).items() if k.startswith("chat")})

# %% [markdown]
# ## 1. What people want from a QA answer and from a summary
#
# Chapter 1's simulated annotators judge every answer through a hidden **gold utility**, a weighted sum of
# named components (`annotate.gold_components`); each person scales the weights differently and adds noise.
# For our two tasks the weights say what the course text says people look for:
#
# - **QA — accuracy first**: `correct` ($+1$ the right answer and no wrong one, $+0.25$ both, $-1$ a wrong one,
#   $-0.5$ none) with the largest weight, then no refusal of a harmless question (`safety`), a sensible `length`, no
#   `repetition`, not cut off (`truncation`), readable `style`;
# - **summaries — coverage and brevity**: `relevance` (how many of the passage's key facts the summary names)
#   and `brevity` (full marks up to half the passage's length, falling to −1 at its full length).

# %%
weights = pd.DataFrame({c: annotate.WEIGHTS[c] for c in CATEGORIES}).fillna(0).T
display(weights)  # noqa: F821 -- IPython's display

prefs_all = data.load_preferences()
prefs = prefs_all.filter(lambda r: r["category"] in CATEGORIES)
for split in ("train", "val", "test"):
    cats = pd.Series(prefs[split]["category"]).value_counts().to_dict()
    print(f"{split:5s}: {len(prefs[split]):4d} labelled pairs of {len(prefs_all[split])}  {cats}")

# How often did the labeller choose the answer the gold utility prefers? (the noise the RM must see through)
fig, ax = plt.subplots(figsize=(6, 3))
tr = prefs["train"].to_pandas()
tr["task"] = tr["category"].map(lambda c: "summarisation" if c in SUMMARY else "QA")
agree = tr[tr.gold_chosen != tr.gold_rejected].groupby("task").apply(
    lambda d: float((d.gold_chosen > d.gold_rejected).mean()), include_groups=False)
ax.bar(agree.index, agree.values, color="tab:green")
ax.axhline(0.5, color="black", ls="--", lw=0.8)
ax.set(ylim=(0, 1), ylabel="label agrees with gold", title="Training labels: agreement with the hidden gold")
plt.show()
for t in ("QA", "summarisation"):
    row = tr[tr.task == t].iloc[0]
    print(f"\n[{t}] {row.prompt[:100]!r}\n  chosen  : {row.chosen[:150]!r}\n  rejected: {row.rejected[:150]!r}")

# %% [markdown]
# ## 2. A reward model for these two tasks
#
# We use chapter 2's cheapest reward model: a small **feedforward network on frozen features** of SmolLM2 —
# the last-token and response-mean hidden states of layer `reward.ffn_layer` — trained with the Bradley–Terry
# loss on **every label of the panel** (chapter 2, "vote splits"), only on the QA and summarisation pairs.
# An **ensemble** of a few FFNs (different seeds) averages away part of their error.
#
# The features come from one frozen forward pass per (prompt, answer). We build exactly chapter 2's table, so
# chapter 2's feature cache is reused when it ran; otherwise the pass runs now (cached for the next time).
# Why not reuse chapter 2's reward model itself? It was trained on all seven categories; an RM trained on the
# task at hand is what an application team builds, and the FFN is fast enough to train here in seconds.

# %%
t = time.perf_counter()
rm_lm, tokenizer = models.load_model(cfg.model.name, dtype=torch.float32)
caps = pairs.split_caps(R)  # the cpu profile sub-samples train (reward.chapter_train_pairs)
table = pairs.build_pairs(prefs_all, tokenizer, R.max_length, caps, seed=cfg.seed)  # = chapter 2's table
cache = features.extract(rm_lm, tokenizer, table, R.top_k, models.resolve(cfg.model.name), R.feature_batch_size)
X = cache.features(R.ffn_layer, "both")  # (S, 2H)
splits = language.split_by_category(table, prefs_all, CATEGORIES)
votes = data.load_panel_votes()
if votes:  # every panel label of the QA and summarisation pairs
    pairs.add_vote_splits(table, prefs, votes)
train_split = table.splits.get("train_votes", splits["train"])
val_split = table.splits.get("val_votes", splits["val"])
timings["features"] = time.perf_counter() - t
print(f"features of {len(table)} sequences in {timings['features']:.0f} s; training on {len(train_split)} pairs "
      f"({int(train_split.weight.sum()) if train_split.weight is not None else len(train_split)} labels)")

t = time.perf_counter()
rm_head, rm_results = language.train_feature_rm(X, train_split, val_split, R.ffn_hidden, R.ffn_lr, A.chat_rm_epochs,
                                            R.batch_size, A.chat_rm_seeds, seed=cfg.seed)
timings["reward model"] = time.perf_counter() - t
test_by_task = {t_: language.restrict_pairs(splits["test"], [task({"category": c}) == t_ for c in
                                        np.array(prefs_all["test"]["category"])[splits["test"].rows.numpy()]])
                for t_ in ("QA", "summarisation")}
rm_test = {"all": language.rm_metrics(rm_head, X, splits["test"])}
rm_test.update({t_: language.rm_metrics(rm_head, X, s) for t_, s in test_by_task.items() if len(s)})
display(pd.DataFrame(rm_test).T[["pairs", "accuracy", "bayes_ceiling", "gold_agreement"]].round(3))  # noqa: F821
fig, ax = plt.subplots(figsize=(6, 3))
for i, res in enumerate(rm_results):
    ax.plot([h["step"] for h in res.history], [h["val_accuracy"] for h in res.history], label=f"FFN seed {i}")
ax.set(xlabel="step", ylabel="val accuracy (all labels)", title="Reward model for QA + summaries")
ax.legend(fontsize=8)
plt.show()
rm = language.FeatureRM(rm_lm, tokenizer, rm_head, R.ffn_layer, R.max_length)

# %% [markdown]
# **Reading the table.** *accuracy* is the share of the test labels (one annotator each) the RM agrees with;
# the *Bayes ceiling* is the best any model can expect against noisy labellers; *gold agreement* compares with
# the noise-free gold preference. Chapter 2 showed why a frozen-feature RM struggles with QA: whether "Lyon"
# or "Paris" is right is not something its features make easy to read, while length, finishing and language
# are. Keep that in mind in §4.
#
# ## 3. PPO with a KL penalty on QA and summarisation prompts
#
# Chapter 4's recipe, unchanged: LoRA adapters on the top layers, the reference is the same network with the
# adapters off, the reward is the RM's score normalised on the reference's own answers, each token pays
# $\beta\,(\log\pi_\theta - \log\pi_{\mathrm{ref}})$, β adapts to a KL target.
# $$\max_\theta\ \mathbb E_{x,\,y\sim\pi_\theta}\big[r_\phi(x,y)\big] - \beta\,\mathrm{KL}\big(\pi_\theta\,\|\,\pi_{\mathrm{ref}}\big)$$

# %%
ac, tokenizer, fast_bf16 = train_ppo.load_actor_critic(cfg)
prompts_train = [p for p in data.load_prompts("train") if p["category"] in CATEGORIES]
if cfg.profile == "ci":
    prompts_train = judge.stratified(prompts_train, 16, seed=0)
ppo_cfg = train_ppo.profile_ppo_config(cfg, steps=A.chat_ppo_steps, save_every=2, autocast=fast_bf16)
print(f"{len(prompts_train)} training prompts:", judge.category_mix(prompts_train))
t = time.perf_counter()
# The normaliser's prompts: a stratified sample (every category in proportion). data/prompts.jsonl is sorted by
# category, so a prefix would normalise on factual questions only.
norm_recs = judge.stratified(prompts_train, 2 * P.batch_size, seed=1)
norm = judge.sample(ac, norm_recs, ppo_cfg, tokenizer, seed=1, reference=True, score=rm.score,
                    batch_size=P.batch_size)
rm_mean, rm_std = judge.reward_normaliser(norm["rm"])
reward_fn = language.reward_fn(rm, tokenizer, rm_mean, rm_std)
timings["reference samples"] = time.perf_counter() - t
print(f"RM on {len(norm_recs)} reference answers ({judge.category_mix(norm_recs)}): "
      f"mean {rm_mean:+.3f}, std {rm_std:.3f}")

t = time.perf_counter()
history = ppo.train(ac, models.chat_prompt_ids(tokenizer, prompts_train), prompts_train, reward_fn, ppo_cfg,
                    tokenizer.eos_token_id, tokenizer.pad_token_id,
                    ckpt_dir=config.artifacts_dir() / "chatbot_ppo_checkpoint")
timings["PPO"] = time.perf_counter() - t
print(f"{ppo_cfg.steps} PPO steps x {ppo_cfg.batch_size} episodes in {timings['PPO']:.0f} s "
      f"({timings['PPO'] / ppo_cfg.steps:.0f} s per step; 0 if resumed from a finished checkpoint)")
fig = language.plot_ppo_curves(history, "Chatbot PPO")
report.save_plot(fig, "05_chatbots_ppo")
plt.show()

# %% [markdown]
# ## 4. Did it help? Held-out test prompts, the hidden gold, and three controls
#
# Chapter 4's judge (`rlhf_lib.judge`), unchanged. The held-out set is a seeded, **stratified** choice of the QA
# and summarisation test prompts (every category in proportion; the mix is printed), with
# `apps.chat_eval_samples` answers per prompt from each model, at the same temperature and with the same seeds.
# The hidden gold utility of chapter 1 — not the reward model — judges each pair; a tie counts half. The win
# rate's 95% bootstrap CI is resampled **by prompt** (the answers to one prompt are not independent), and a win is
# established only when the CI's lower end lies above one half.
#
# A win over the reference has cheaper explanations than RLHF, and `judge.controls` runs chapter 4's control for
# each, on the same prompts and seeds:
#
# - **(a) the reference** at the training budget: the plain comparison, against what PPO started from.
# - **(b) the reference at an ample budget**, the smallest at which at least nine in ten of its answers end (one
#   long sample, cut to each budget). Training cuts an answer at `max_new_tokens` and scores an unfinished one
#   badly, and the reference was never trained for that budget: a win over (a) that falls to one half against (b)
#   was the policy finishing inside the budget, not answering better.
# - **(c) the brevity baseline**: the reference asked to answer briefly (`judge.BRIEF`), at the training budget.
#   A win rate near one half here says that one sentence of prompt buys what PPO learned.
# - **(d) both finished**: inside each comparison, the win rate on the pairs where both answers ended.
#
# Each comparison also comes per task (QA, summarisation: `judge.versus(..., key="task")` groups by the task
# field we add to each prompt) and per category, each with its own CI.

# %%
prompts_test = [p for p in data.load_prompts("test") if p["category"] in CATEGORIES]
# the task as a record field: judge.versus(..., key="task") groups the win rates by it
eval_recs = [{**p, "task": task(p)} for p in judge.stratified(prompts_test, A.chat_eval_prompts, seed=0)]
print(f"held-out set: {len(eval_recs)} prompts x {A.chat_eval_samples} answers per model; categories:",
      judge.category_mix(eval_recs))
t = time.perf_counter()
ctl = judge.controls(ac, eval_recs, ppo_cfg, tokenizer, A.chat_eval_samples, long_budget=A.chat_eval_long_tokens,
                     score=rm.score)
timings["evaluation"] = time.perf_counter() - t
evals, vs = ctl["samples"], ctl["versus"]
by_task = {name: judge.versus(evals["PPO policy"], evals[name], key="task", seed=100) for name in vs}
print(judge.controls_report(ctl, per_category=True))
for name in vs:
    print(f"PPO policy vs {name}, per task: " + ", ".join(f"{g} {judge.ci_text(c)} (n={c['n']})"
                                                         for g, c in by_task[name]["per_category"].items()))
kl = judge.summary(evals["PPO policy"])["kl"]

# %%
groups = {f"vs {k}": {**by_task[k]["per_category"], **vs[k]["per_category"]}
          for k in ("reference", "reference, ample budget")}
fig = language.plot_win_rates(language.control_panels(vs, "per task and category", groups),
                          f"Chatbot on held-out prompts, gold-judged (KL spent: {kl:.1f} nats per answer)")
report.save_plot(fig, "05_chatbots_win_rate")
plt.show()

# %% [markdown]
# **How to read it.** Compare the left bars from (a) to (c). A win over (a) alone says the policy beats the
# reference *under the training budget*. If the win over (b) falls to one half, most of the gain was finishing
# inside the budget; what is left above one half against (b) is what the policy does better than a reference
# allowed to finish. If the bar against (c) sits at one half, a one-line instruction explains the gain, and RL
# added nothing a prompt could not. The (d) bars ask the same questions pair by pair, on answers that both ended.
# Then the right panel: QA against summarisation first, then the categories. A bar whose CI spans one half says
# the two models are not told apart on those prompts, not that they are equal; a category with a handful of
# prompts decides little.
#
# **What changed?** The mean of each gold component per task and model: accuracy (`correct`) for QA, coverage
# (`relevance`) and `brevity` for summaries, and what the policy may have learned instead (`length`,
# `truncation`). The controls are in the table too: the ample-budget reference shows what finishing alone changes.

# %%
comp = language.component_means(evals, annotate.gold_components, task)
display(comp[["correct", "relevance", "brevity", "length", "truncation", "style", "words"]])  # noqa: F821

# %% [markdown]
# **What to look for.**
#
# * **The reward model first** (its printout above): test accuracy against the Bayes ceiling, per task, and
#   agreement with the noise-free gold. A reward model close to the ceiling on summaries but far from it on QA is
#   judging length and form, not facts — and PPO can only climb what it sees.
# * **Every win rate with its CI.** A few dozen comparisons give a wide interval, one task a wider one and one
#   category wider again; the ci profile's handful of prompts decides nothing. A rate whose CI includes one half is
#   not a win, and the per-category rates are hints.
# * **The KL spent.** A short run (few PPO steps) spends little KL and moves the policy a little; chapter 4's longer
#   run spends much more. Compare the KLs before you compare the win rates.
# * **The components, not only the total** (the table above). For QA, did `correct` move, or only `truncation` and
#   `length` (shorter answers, cut off less often)? Set the policy against the ample-budget reference: a
#   `truncation` gain that the reference also gets with more tokens is the budget, not learning. The frozen-feature
#   reward model cannot check facts, so a right answer replacing a wrong one ("The capital of Poland is Warsaw" for
#   "… is Katow") is luck as much as learning unless `correct` rises across the board. For summaries, set `brevity`
#   against `relevance`: if brevity rises while relevance falls, the policy is trading coverage for brevity, which
#   this gold utility nearly pays for — "A just summary of the text." scores full brevity and no coverage.
# * **Run time**: the last cell prints the time of each step; the PPO steps dominate, and shared cores slow them.
#
# ### Side by side: the same prompt, the reference's answer and the tuned answer

# %%
pd.set_option("display.max_colwidth", 240)
shown = language.samples_table({"reference": evals["reference"], "PPO policy": evals["PPO policy"]})
first = shown.iloc[::A.chat_eval_samples]  # the first answer to each prompt
display(pd.concat([first[first.category.isin(QA)].head(4),  # noqa: F821
                   first[first.category.isin(SUMMARY)].head(4)]))

# %% [markdown]
# ## 5. Save the tuned chatbot, and the figures

# %%
policy_dir = train_ppo.save_policy(ac, tokenizer, config.artifacts_dir() / "chatbot_policy",
                             info={"win_rate": vs["reference"]["win"]["value"], "kl": kl, "steps": ppo_cfg.steps,
                                   "profile": cfg.profile})
total = time.perf_counter() - T0
figures = report.record(  # win rates as {value, lo, hi}: the 95% CI by prompt travels with the figure
    "05", chat_win_rate=vs["reference"]["win"], chat_win_rate_ample_budget=vs["reference, ample budget"]["win"],
    chat_win_rate_brevity_baseline=vs["brevity baseline"]["win"],
    chat_win_rate_both_finished=vs["reference"]["both_finished"],
    chat_win_rate_qa=by_task["reference"]["per_category"].get("QA"),
    chat_win_rate_summarisation=by_task["reference"]["per_category"].get("summarisation"),
    chat_ample_budget_tokens=ctl["ample_budget"], chat_held_out=judge.category_mix(eval_recs),
    chat_kl_nats=round(kl, 2), chat_comparisons=vs["reference"]["n"],
    chat_gold_base=round(judge.summary(evals["reference"])["gold"], 3),
    chat_gold_tuned=round(judge.summary(evals["PPO policy"])["gold"], 3),
    chat_rm_test_accuracy=round(rm_test["all"]["accuracy"], 3),
    chat_rm_gold_agreement=round(rm_test["all"]["gold_agreement"], 3),
    chat_ppo_s_per_step=round(timings["PPO"] / ppo_cfg.steps, 1), chat_seconds=round(total),
)
print(f"policy saved to {policy_dir}")
print({k: round(v) for k, v in timings.items()}, f"total {total:.0f} s")
print(report.vs_reference("05_applications_1", figures, prefix="chat_"))

# %% [markdown]
# ## Summary
#
# * The loop of chapters 1–4 carries over to a product by changing what the gold utility values: here a QA answer and
#   a summary.
# * The reward model and PPO are chapter 2's and chapter 4's code; only the prompts, the utility and the evaluation's
#   categories are new.
# * The win rates, with their intervals and the controls (an ample budget, a brevity baseline), say whether the tuned
#   chatbot is better, per task as well as overall.
#
# ## What to try next
#
# * Give PPO more steps (`config.load(apps__chat_ppo_steps=20)`) and check whether the win rate's interval moves above
#   one half.
# * Change a weight of the QA or summary utility and see which answers the tuned model starts to prefer.
# * Compare the side-by-side answers of §4 for a category where the tuned model lost.
