# %% [markdown]
# # Chapter 5.5 — Iterate: a second round of feedback on the tuned model's own samples
#
# ![Notebook 5.5: iterating the loop](../docs/img/pipeline_iterate.svg)
#
# **What you will learn**
#
# * why a second round of feedback helps: the first reward model never saw the tuned policy's samples;
# * how to collect feedback on the tuned policy's own samples and refresh the reward model with it;
# * how to separate the effect of the refresh from that of more training, with a stale-reward-model control;
# * how to read the KL travelled and the intervals before calling a difference a finding.
# * what the same second round does for the language model of chapter 4 (a headless run, read from its results file).
#
# **What you need**
#
# * **Earlier chapters:** notebook 5.3 (its pre-trained melody generator; when missing, it is pre-trained here).
# * **Background:** the loop of notebook 5.3.
#
# **Run time.** The next cell prints how long this notebook took in each profile when it was last measured (the
# committed notebook benchmark and reference run); your machine will differ.

# %%
from rlhf_lib import report

print(report.run_times("05_applications_5"))

# %% [markdown]
# The course text ends its recipe with **iteration**: *"continue the process, using updated human feedback to
# refine the reward model and further fine-tune the model"*, and under reward modelling, *"feedback loop: keep
# refining the reward model by integrating new human feedback and retraining"*. Why would a second round help?
# The first reward model only saw samples of the *pre-trained* generator. After PPO the policy produces things
# the raters were never shown, and there the reward model is guessing — the policy drifts to exactly those
# places where the guesses are flattering. New feedback **on the tuned policy's own samples** corrects the
# reward model where the policy now lives (Anthropic's *iterated online RLHF*, Bai et al. 2022; Llama 2's five
# rounds of reward-model refresh, Touvron et al. 2023).
#
# We run it on the music domain of notebook 5.3 (the cheaper of the two non-language domains):
#
# 1. **round 1**: panel feedback on pre-trained samples → reward model RM₁ → PPO from the pre-trained generator;
# 2. **round 2 feedback**: the panel compares pairs of the *round-1 policy's* samples;
# 3. **refresh**: RM₂ trained on all the feedback so far;
# 4. **round 2**: PPO continues from the round-1 policy with RM₂ — and, as a control, with the stale RM₁ for the
#    same number of steps, so that the effect of the refresh is separated from the effect of more training.
#
# The KL reference stays the pre-trained generator throughout, so every KL below is the total distance travelled.

# %%
import copy
import time

import matplotlib.pyplot as plt
import numpy as np

from rlhf_lib import annotate, config, judge, metrics, plots, report
from rlhf_lib.apps import melody, seqrl

T0 = time.perf_counter()
cfg = config.load()
config.seed_everything(cfg.seed)
A = cfg.apps
gold = melody.gold_utility
print(f"profile {cfg.profile}:", {k: v for k, v in vars(A).items() if k.startswith(("mus_", "seq_", "iter_"))})

# %% [markdown]
# ## 1. The pre-trained generator and the listener panel (as in notebook 5.3)
#
# Notebook 5.3 saves its pre-trained melody generator; when it is missing (or was trained with other sizes) it
# is pre-trained here, in well under a minute.

# %%
data_seqs, _ = melody.procedural(A.mus_melodies, seed=cfg.seed)
base_model, _ = seqrl.pretrained_generator(
    config.artifacts_dir() / "apps_music_generator", [[seqrl.BOS, *s, seqrl.EOS] for s in data_seqs],
    melody.VOCAB_SIZE, A.mus_hidden, A.mus_layers, A.mus_pretrain_epochs, max_len=32, seed=cfg.seed)
panel = annotate.make_panel(A.seq_panel, seed=cfg.seed, temperature=melody.RATER_TEMPERATURE,
                           weights={melody.DOMAIN: melody.GOLD_WEIGHTS})


def new_rm(seed):
    return seqrl.SeqRewardModel(melody.VOCAB_SIZE, max_len=melody.MAX_NEW_TOKENS + 2, dim=A.mus_rm_dim, seed=seed)


def feedback(seqs, n_pairs, seed):
    """The panel's votes on `n_pairs` random pairs of `seqs`."""
    return seqrl.label_pairs(panel, melody.DOMAIN, seqs, n_pairs, melody.gold_components, gold, seed=seed)


# Every win rate and accuracy below comes with its 95% bootstrap CI (chapter 3). There are no prompts here: every
# pair is two independent samples, so the bootstrap resamples pairs, not groups.
def ci(stat, *arrays):
    """stat(*arrays) with its 95% bootstrap CI over the rows (pairs): {value, lo, hi} (or a dict of those)."""
    return metrics.bootstrap_ci(stat, *arrays, n_boot=1000, seed=cfg.seed)


def rm_accuracy(rm, pairs):
    """`seqrl.rm_accuracy` (vs the panel's majority, vs the gold; ties left out), each with its 95% bootstrap CI."""
    return seqrl.rm_accuracy(rm, pairs, n_boot=1000, seed=cfg.seed)


def win(a, b):
    """Gold win rate of samples `a` over samples `b` (the i-th against the i-th, ties split), with its 95% CI."""
    return ci(judge.win_rate, a, b)


# %% [markdown]
# ## 2. Round 1: feedback on the pre-trained generator, RM₁, PPO

# %%
t = time.perf_counter()
ac1 = seqrl.actor_critic(base_model)
pool0, _ = seqrl.generate(ac1, A.mus_pool, melody.MAX_NEW_TOKENS, seed=1, reference=True)
pairs1 = feedback(pool0, A.mus_pairs, seed=cfg.seed)
train1, val1 = pairs1.split(int(0.85 * len(pairs1)))
rm1 = new_rm(cfg.seed)
seqrl.train_reward_model(rm1, train1, val1, epochs=A.mus_rm_epochs, lr=3e-3, seed=cfg.seed)
reward1, _, _ = seqrl.reward_fn(rm1, pool0)
ppo_cfg = seqrl.ppo_config(A, "mus_", melody.MAX_NEW_TOKENS, seed=cfg.seed, steps=A.iter_steps)
hist1, gold1 = seqrl.train_ppo(ac1, reward1, ppo_cfg, gold)
round1_s = time.perf_counter() - t
acc_rm1_base = rm_accuracy(rm1, val1)
print(f"round 1 in {round1_s:.0f} s; RM1 on {len(val1)} held-out pairs of pre-trained samples: accuracy vs gold "
      f"{judge.ci_text(acc_rm1_base['acc_gold'])}, vs panel {judge.ci_text(acc_rm1_base['acc_panel'])}")

# %% [markdown]
# ## 3. Round-2 feedback: the panel listens to the tuned policy
#
# We sample the round-1 policy and the panel compares pairs of *its* melodies. A separate set of held-out pairs,
# also from the round-1 policy, measures how well each reward model orders what the policy now produces. The
# first number to look at: RM₁'s accuracy there, against its accuracy on the pre-trained samples it was
# trained for. Each accuracy comes with its 95% bootstrap CI over the held-out pairs: when the two intervals overlap,
# this run does not show that the accuracy dropped.

# %%
t = time.perf_counter()
pool1, _ = seqrl.generate(ac1, A.mus_pool, melody.MAX_NEW_TOKENS, seed=2)
held1, _ = seqrl.generate(ac1, A.mus_pool, melody.MAX_NEW_TOKENS, seed=3)
pairs2 = feedback(pool1, A.iter_pairs, seed=cfg.seed + 1)
val_tuned = feedback(held1, A.iter_val_pairs, seed=cfg.seed + 2)
acc_rm1_tuned = rm_accuracy(rm1, val_tuned)
stats2 = seqrl.panel_stats(pairs2)
agreement2 = ci(annotate.pairwise_agreement, pairs2.labels)  # resampling the compared pairs
print(f"panel on the round-1 policy's melodies: agreement {judge.ci_text(agreement2)}, ties {stats2['ties']:.1%}")
print(f"RM1 accuracy vs gold: on pre-trained samples {judge.ci_text(acc_rm1_base['acc_gold'])}, "
      f"on the round-1 policy's samples {judge.ci_text(acc_rm1_tuned['acc_gold'])} ({len(val_tuned)} pairs)")

# %% [markdown]
# ## 4. Refresh: RM₂ on all the feedback so far
#
# RM₂ is trained from scratch on the round-1 pairs plus the new ones (keeping the old pairs keeps it right about
# the pre-trained generator's melodies too, where the policy started).

# %%
train2 = train1 + pairs2
rm2 = new_rm(cfg.seed + 1)
seqrl.train_reward_model(rm2, train2, val1, epochs=A.mus_rm_epochs, lr=3e-3, seed=cfg.seed)
acc_rm2_base = rm_accuracy(rm2, val1)
acc_rm2_tuned = rm_accuracy(rm2, val_tuned)
refresh_s = time.perf_counter() - t
rows = [("RM1 (round 1)", acc_rm1_base, acc_rm1_tuned), ("RM2 (refreshed)", acc_rm2_base, acc_rm2_tuned)]
print(f"held-out accuracy with its 95% bootstrap CI, on {len(val1)} pairs of pre-trained samples and "
      f"{len(val_tuned)} pairs of round-1 policy samples")
for name, b, tu in rows:
    print(f"{name:16s} vs gold: pre-trained samples {judge.ci_text(b['acc_gold'])}, round-1 policy samples "
          f"{judge.ci_text(tu['acc_gold'])}")
    print(f"{'':16s} vs panel: pre-trained samples {judge.ci_text(b['acc_panel'])}, round-1 policy samples "
          f"{judge.ci_text(tu['acc_panel'])}")


def error_bars(cis):
    """matplotlib's yerr (2, n) of {value, lo, hi} dicts."""
    return np.array([[c["value"] - c["lo"] for c in cis], [c["hi"] - c["value"] for c in cis]])


fig, ax = plt.subplots(figsize=(6, 3))
x = np.arange(2)
for dx, k, label, color in ((-0.2, 1, "pairs of pre-trained samples", "tab:gray"),
                            (0.2, 2, "pairs of round-1 policy samples", "tab:blue")):
    accs = [r[k]["acc_gold"] for r in rows]
    ax.bar(x + dx, [a["value"] for a in accs], 0.4, yerr=error_bars(accs), capsize=4, label=label, color=color)
ax.axhline(0.5, color="k", lw=0.5, ls=":")
ax.set(xticks=x, xticklabels=[r[0] for r in rows], ylim=(0.4, 1), ylabel="held-out accuracy vs gold",
       title="The reward model before and after the refresh (95% CIs)")
ax.legend(fontsize=8)
report.save_plot(fig, "05_iterate_rm_accuracy")
plt.show()

# %% [markdown]
# ## 5. Round 2: PPO from the round-1 policy, with the refreshed RM — and with the stale one
#
# Both runs start from the same round-1 policy (weights, value head) and take the same number of steps with the
# same β; only the reward model differs. Each reward model is normalised on the round-1 policy's samples, so a
# round-1 melody scores 0 under either.

# %%
t = time.perf_counter()
runs = {}
for name, rm in (("refreshed RM2", rm2), ("stale RM1", rm1)):
    ac = copy.deepcopy(ac1)
    reward_k, _, _ = seqrl.reward_fn(rm, pool1)
    round2_cfg = seqrl.ppo_config(A, "mus_", melody.MAX_NEW_TOKENS, seed=cfg.seed + 1, steps=A.iter_steps)
    hist, gold_k = seqrl.train_ppo(ac, reward_k, round2_cfg, gold)
    runs[name] = {"ac": ac, "history": hist, "gold_log": gold_k}
round2_s = time.perf_counter() - t
print(f"two round-2 runs in {round2_s:.0f} s")

# %% [markdown]
# ## 6. The effect, judged by the gold taste
#
# Every model is compared with the pre-trained generator on fresh samples (gold win rate, ties split), and the
# round-2 models also head to head with the round-1 policy. KL is to the pre-trained generator, nats per melody.
# The last columns are the proxy-vs-gold check: the mean score each model gets from RM₁ and RM₂.
#
# Each win rate comes with its 95% bootstrap CI over the pairs (the i-th sample of one model against the i-th of the
# other). A win rate whose CI includes one half is no win. Two models whose CIs overlap are not told apart by this
# run; the sharper test of the refresh is the head-to-head line under the table, refreshed RM₂ against stale RM₁.

# %%
n_eval = A.seq_eval_samples
base_seqs, _ = seqrl.generate(ac1, n_eval, melody.MAX_NEW_TOKENS, seed=200, reference=True)
base_gold = np.array([gold(s) for s in base_seqs])
models_ = {"round 1": ac1, **{f"round 2, {k}": v["ac"] for k, v in runs.items()}}
evals = {}
for name, ac in models_.items():
    seqs, kl = seqrl.generate(ac, n_eval, melody.MAX_NEW_TOKENS, seed=201)
    g = np.array([gold(s) for s in seqs])
    evals[name] = {"seqs": seqs, "gold": g, "kl": float(np.mean(kl)), "win_vs_base": win(g, base_gold),
                   "rm1": float(rm1.score(seqs).mean()), "rm2": float(rm2.score(seqs).mean())}
r1_gold = evals["round 1"]["gold"]
for name, e in evals.items():
    e["win_vs_round1"] = None if name == "round 1" else win(e["gold"], r1_gold)
print(f"win rates (ties split) with their 95% bootstrap CIs over {n_eval} pairs of samples")
print(f"{'model':26s} {'win vs base':>22s} {'win vs round 1':>22s} {'KL':>6s} {'gold':>6s} {'RM1':>6s} {'RM2':>6s}")
print(f"{'pre-trained':26s} {'':22s} {'':22s} {0:6.2f} {base_gold.mean():+6.2f} {rm1.score(base_seqs).mean():+6.2f} "
      f"{rm2.score(base_seqs).mean():+6.2f}")
for name, e in evals.items():
    vs_r1 = "" if e["win_vs_round1"] is None else judge.ci_text(e["win_vs_round1"])
    print(f"{name:26s} {judge.ci_text(e['win_vs_base']):>22s} {vs_r1:>22s} {e['kl']:6.2f} {e['gold'].mean():+6.2f} "
          f"{e['rm1']:+6.2f} {e['rm2']:+6.2f}")
refreshed_vs_stale = win(evals["round 2, refreshed RM2"]["gold"], evals["round 2, stale RM1"]["gold"])
print(f"head to head, round 2 with the refreshed RM2 over round 2 with the stale RM1: {judge.ci_text(refreshed_vs_stale)}")

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 3.5))
off = len(gold1)
axes[0].plot(range(1, off + 1), [g["gold"] for g in gold1], "o-", ms=3, color="k", label="round 1 (RM1)")
for (name, run), color in zip(runs.items(), ("tab:blue", "tab:red"), strict=True):
    axes[0].plot(range(off + 1, off + len(run["gold_log"]) + 1), [g["gold"] for g in run["gold_log"]], "o-", ms=3,
                 color=color, label=f"round 2, {name}")
axes[0].axvline(off + 0.5, color="gray", ls=":")
axes[0].set(xlabel="PPO step", ylabel="mean gold of the rollout batch", title="Gold taste across both rounds")
axes[0].legend(fontsize=8)
names = list(evals)
wins = [evals[n]["win_vs_base"] for n in names]
axes[1].bar(np.arange(len(names)), [w["value"] for w in wins], yerr=error_bars(wins), capsize=4,
            color=["k", "tab:blue", "tab:red"])
for i, n in enumerate(names):
    axes[1].annotate(f"KL {evals[n]['kl']:.1f}", (i, wins[i]["hi"]), ha="center", va="bottom", fontsize=8)
axes[1].axhline(0.5, color="gray", ls=":")
axes[1].set(xticks=np.arange(len(names)), xticklabels=names, ylim=(0, 1), ylabel="gold win rate vs pre-trained",
            title="Win rate over the pre-trained generator (95% CIs)")
fig.tight_layout()
report.save_plot(fig, "05_iterate_rounds")
plt.show()

# %% [markdown]
# ### What the stale reward model let through
#
# The mean of each gold component for every model: where the stale-RM run gains reward without gaining gold,
# it shows up here as a component the first reward model never learned to care about.

# %%
table = {"pre-trained": base_seqs, **{k: v["seqs"] for k, v in evals.items()}}
fig = plots.component_bars(melody.gold_components, list(melody.GOLD_WEIGHTS), table)
plt.show()
fig, axes = plt.subplots(1, 3, figsize=(14, 2.4), sharey=True)
for ax, (name, e) in zip(axes, evals.items(), strict=True):
    melody.piano_roll(ax, e["seqs"][0], f"{name}: gold {e['gold'][0]:+.1f}")
plt.tight_layout()
plt.show()
for name, e in evals.items():
    print(f"{name:24s}", melody.describe(e["seqs"][0]))

# %%
total = time.perf_counter() - T0
r2, st = evals["round 2, refreshed RM2"], evals["round 2, stale RM1"]


def rounded(c):
    """A {value, lo, hi} figure to three decimals, for the record."""
    return {k: round(v, 3) for k, v in c.items()}


figures = report.record(
    "05", iter_round1_win_rate=rounded(evals["round 1"]["win_vs_base"]), iter_round1_kl_nats=round(evals["round 1"]["kl"], 2),
    iter_round2_win_rate=rounded(r2["win_vs_base"]), iter_round2_kl_nats=round(r2["kl"], 2),
    iter_round2_vs_round1=rounded(r2["win_vs_round1"]),
    iter_stale_win_rate=rounded(st["win_vs_base"]), iter_stale_kl_nats=round(st["kl"], 2),
    iter_stale_vs_round1=rounded(st["win_vs_round1"]), iter_refreshed_vs_stale=rounded(refreshed_vs_stale),
    iter_rm1_acc_base=rounded(acc_rm1_base["acc_gold"]), iter_rm1_acc_tuned=rounded(acc_rm1_tuned["acc_gold"]),
    iter_rm2_acc_base=rounded(acc_rm2_base["acc_gold"]), iter_rm2_acc_tuned=rounded(acc_rm2_tuned["acc_gold"]),
    iter_panel_agreement_tuned=rounded(agreement2), iter_seconds=round(total),
)
print(f"notebook ran in {total:.0f} s (round 1 {round1_s:.0f}, feedback and refresh {refresh_s:.0f}, round 2 {round2_s:.0f})")
print(report.vs_reference("05_applications_5", figures, prefix="iter_"))

# %% [markdown]
# **What to look for** in the printouts and figures above — one seed, so read every difference against its noise:
#
# - **The stale proxy where the policy lives.** Set RM₁'s accuracy against the gold on the round-1 policy's samples
#   beside its accuracy on pre-trained samples. A large drop, one that clears the two CIs, means that exactly where
#   the policy now lives the proxy is close to guessing. The panel may find those comparisons harder too (compare its agreement on the
#   round-1 melodies with chapter 5.3's on pre-trained ones: the tuned melodies are alike). The refresh works if
#   RM₂ wins back much of that drop on the new samples and loses nothing on the old ones.
# - **Refreshed against stale.** The control trains just as long on the stale RM₁. If its reward-model score rises
#   while its win rate over round 1 (ties split) stays near one half or below (its CI includes one half), training
#   longer on a stale proxy is over-optimisation, not progress. The effect of the refresh itself is the head-to-head
#   win rate of the refreshed run over the stale one: established only if its CI lies above one half.
# - **The KL travelled.** If the refreshed run also moved further from the pre-trained generator, part of its gain
#   may come from spending more KL: compare the runs at their KL, not only by their win rates.
# - **Noise.** Read every win rate and accuracy with its 95% bootstrap CI. Overlapping CIs do not tell two models apart:
#   treat such a difference as an illustration, not a finding. The CIs cover the sampling noise of the evaluation
#   only, not the noise of training: another seed of the whole notebook can move the figures by more.
#
# The last cell prints the time of each part (round 1, feedback and refresh, both round-2 runs).

# %% [markdown]
# ## 7. The same loop for the language model (a recorded run)
#
# Everything above ran on melodies, where a PPO run takes seconds. For the language model of chapter 4 the same
# second round costs two more PPO runs of chapter 4's size, new answers from the tuned policy and a reward-model
# refresh: more than this notebook's time budget on a CPU. It runs headless instead, and this section reads what it
# recorded:
#
#     python -m rlhf_lib.iterate --config cpu
#
# `rlhf_lib.iterate` reads top to bottom like sections 2 to 6: **round 1** is chapter 4's run against chapter 2's
# reward model RM₁ (resumed from the checkpoint of `python -m rlhf_lib.train_ppo` when it exists); the round-1
# policy answers a stratified set of train prompts several times (at a higher temperature than in training: a tuned
# policy often gives one answer again and again, and two identical answers make no pair) and **chapter 1's panel**
# (same annotators, same gold) labels every pair; **RM₂** is chapter 2's recipe on RM₁'s own training pairs plus the new ones; **round 2**
# continues from the round-1 policy with RM₂ and, as the control, with the stale RM₁, for the same steps, seed and
# KL target. The KL reference stays the base model, so round 2's KL is the distance of both rounds. Every policy
# answers the same stratified test prompts with the same seeds; win rates are gold win rates with 95% bootstrap CIs
# by prompt.
#
# The cell prints the committed reference run (`reference_runs/recorded/iterate_lm.json`) and, once you have run the
# command above, your run beside it.

# %%
from rlhf_lib import iterate

print(iterate.compare_with_reference())

# %%
yours = iterate.load()
lm = yours or iterate.load(iterate.REFERENCE)  # your run when it exists, else the reference run
shown = [m for m in lm["versus"] if m.endswith("vs reference")] + ["round 2, refreshed RM2 vs round 2, stale RM1"]
cis = [lm["versus"][m]["win"] for m in shown]
fig, ax = plt.subplots(figsize=(8, 3))
ax.barh(np.arange(len(shown)), [c["value"] for c in cis], xerr=error_bars(cis), capsize=4,
        color=["k", "tab:blue", "tab:red", "tab:purple"])
ax.axvline(0.5, color="gray", ls=":")
ax.set(yticks=np.arange(len(shown)), yticklabels=shown, xlim=(0, 1), xlabel="gold win rate (95% CI by prompt)",
       title=f"The language model's second round ({'your run' if yours else 'reference run'})")
ax.invert_yaxis()
fig.tight_layout()
plt.show()

# %% [markdown]
# **What to look for.** The same three readings as for the melodies, on a harder domain:
#
# - **RM₁ where the policy lives**: its accuracy against the gold on pairs of the round-1 policy's answers (val
#   prompts) beside its accuracy on chapter 1's test pairs, and whether RM₂ does better on those answers. Chapter 2
#   found that this reward model cannot check facts the base model does not know; new labels on the policy's own
#   answers cannot teach it those facts either, so expect the refresh to help least there.
# - **Refreshed against stale**: the head-to-head line. A CI that includes one half means this run does not tell the
#   two round-2 policies apart, whatever their mean gold.
# - **Round 2 against round 1, and the KL**: round 2 travels further from the base model (a higher KL target). A
#   win over round 1 that comes with a higher KL is bought partly with distance; the both-finished win rates show
#   how much of a win comes from answers that end inside the budget rather than from better ones.

# %% [markdown]
# ## Summary
#
# * The first reward model only saw the pre-trained generator's samples; after PPO, the policy lives where that reward
#   model was never trained.
# * Feedback on the tuned policy's own samples refreshes the reward model where the policy now lives; the stale-model
#   control separates the refresh from more training.
# * Compare runs by their KL as well as their win rates, and read every difference against its interval: one seed of
#   the whole notebook is an illustration.
# * The language model's round runs headless (`python -m rlhf_lib.iterate`), with the same control and the same
#   held-out prompts for every policy; its reference run is committed, so your run prints beside it.
#
# ## What to try next
#
# * Give round 2 more feedback (`config.load(apps__iter_pairs=2000)`) and check whether the refreshed reward model's
#   accuracy on tuned samples rises.
# * Run a third round: feedback on the round-2 policy's samples, a refresh, and PPO again.
# * Rerun the notebook with another seed and see which of the differences above hold.
# * Run the language model's second round yourself (`python -m rlhf_lib.iterate --config cpu`; it prints the time
#   of each part) and compare your run with the reference run in section 7.

# %% [markdown]
# ## Exercises
#
# Four exercises on chapter 5 as a whole (notebook 5.1 to notebook 5.5), from quick to harder. None needs a model: the data
# are small toy numbers of the kind this chapter's evaluations and training logs produce. Each one has a check: run
# it and it prints ✅, or ❌ with what is wrong. The worked solutions are in `notebooks/solutions/05_solutions.ipynb`
# (try first!). Write your own code: calling `judge.win_rate` passes 05.1 but teaches nothing.
#
# **05.1 — A win rate with ties.** Write `win_rate(a, b)` for two NumPy arrays of gold utilities, the i-th answer of
# one model against the i-th of the other: the share of pairs `a` wins, a tie counting as half a win. Why must two
# models that always tie score one half? Check: `exercises.check("05.1", win_rate)`.
#
# **05.2 — How much of a win survives on both-finished pairs.** `d = exercises.judged_05()` holds gold-judged pairs
# of a policy (`d["gold_a"]`) against the reference (`d["gold_b"]`) and whether each answer ended inside the token
# budget (`d["finished_a"]`, `d["finished_b"]`). Compute the win rate on all pairs, the win rate on the pairs where
# both answers ended (control (d) of notebook 5.1), and the share of the win that survives there, measured as an
# edge over one half. What explains the rest? Check:
# `exercises.check("05.2", {"all": ..., "both_finished": ..., "kept": ...})`.
#
# **05.3 — A gold utility for a new domain.** Each of notebook 5.2 to notebook 5.4 writes down what people want as a gold
# utility. Do it for a new domain: a week of running for a beginner training for a 10 km race, about 25 km a
# week. Write `plan_utility(plan)` for a list of seven daily distances in km (Monday to Sunday). The check asks
# it to rank the pairs of `exercises.plan_pairs_05()` as people do; each pair says why one plan is better. Which
# shortcut (the total distance, say) would a policy exploit first? Check: `exercises.check("05.3", plan_utility)`.
#
# **05.4 — A reward-hacking detector.** Over-optimisation shows as the gold falling while the reward model's score
# rises. Write `first_divergence(rm, gold, k)` for the per-step means of a training run: the first step `t` at
# which `rm[t + k] > rm[t]` and `gold[t + k] < gold[t]`, or `None` if there is none. `exercises.runs_05()` holds four
# runs to try it on: a healthy one, a hacked one, one with a bad batch (both fall together) and a noisy one. Why
# compare over `k` steps rather than one, and why must the score rise? Check:
# `exercises.check("05.4", first_divergence)`.

# %%
from rlhf_lib import exercises

win_rate = ...  # 05.1: def win_rate(a, b): ...
answer_05_2 = ...  # 05.2: {"all": ..., "both_finished": ..., "kept": ...}
plan_utility = ...  # 05.3: def plan_utility(plan): ...
first_divergence = ...  # 05.4: def first_divergence(rm, gold, k): ...
for key, answer in (("05.1", win_rate), ("05.2", answer_05_2), ("05.3", plan_utility), ("05.4", first_divergence)):
    exercises.check(key, answer)  # ❌ "no answer yet" until you replace the `...`
