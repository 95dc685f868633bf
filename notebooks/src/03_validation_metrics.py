# %% [markdown]
# # Chapter 3 — Validating and testing the reward model
#
# ![Chapter 3: validating the reward model](../docs/img/pipeline_reward.svg)
#
# **What you will learn**
#
# * how to frame a reward model as a classifier of pairs: accuracy, precision, recall, F1 and AUC, each with an
#   interval;
# * calibration: whether a predicted probability means what it says, and how one temperature fixes it;
# * per-category breakdowns, and hyper-parameter tuning and regularisation, chosen on validation with the test split
#   opened once;
# * why overlap metrics such as BLEU and ROUGE are no substitute for a preference model.
#
# **What you need**
#
# * **Earlier chapters:** chapter 1's preference pairs and chapter 2's reward model (when it is missing, this notebook
#   trains a small one).
# * **Background:** chapter 2's Bradley–Terry loss; a confusion matrix.
#
# Stress-testing the model — shifted test sets, bias probes (position, length, paraphrase), pair swapping and
# iterative refinement with active labelling — is in the appendix notebook `03b_stress_testing_the_reward_model`.
#
# **Run time.** The next cell prints how long this notebook took in each profile when it was last measured (the
# committed notebook benchmark and reference run); your machine will differ.

# %%
from rlhf_lib import report

print(report.run_times("03"))

# %% [markdown]
# Chapter 2 trained a reward model (RM) and reported one number: pairwise accuracy. Before a policy is
# optimised against it for thousands of steps (chapter 4), we want to know much more. The course text
# (step 2, part 3, *validation and testing*) lists what to do. This notebook **measures** the model; its appendix
# `03b_stress_testing_the_reward_model` **stress-tests** it. Every item of the course text is in one of the two:
#
# | course text | where |
# |---|---|
# | **validation set**: an independent set never used in training; accuracy, precision, recall, F1, AUC-ROC | here, §2–§4: the metrics framed as a classification, with confidence intervals by prompt; calibration; per category |
# | **test set**: unseen data to measure generalisation | here, §2: the untouched test split, reported once |
# | **realistic scenarios** | appendix 03b, §1: a shifted test (held-out categories, new phrasings); §2: bias probes |
# | **hyper-parameter tuning**: learning rate, batch size, architecture | here, §6: a sweep, plotted |
# | **regularisation**: dropout, weight decay, data augmentation | here, §7: train-vs-val curves of each; appendix 03b, §3: pair swapping |
# | **iterative refinement**: new human feedback, retrain, re-evaluate | appendix 03b, §4: active vs random labelling |
#
# and §8 answers a point from the course's introduction: BLEU and ROUGE measure surface overlap with a
# reference and miss coherence, relevance and readability. We measure how often they agree with people.
#
# Everything reusable lives in `rlhf_lib/metrics.py` (tested in `tests/test_metrics.py`): open it next to
# this notebook.

# %%
import json
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from rlhf_lib import (
    annotate,
    config,
    data,
    features,
    metrics,
    models,
    pairs,
    plots,
    report,
    reward,
    train_reward,
)
from rlhf_lib.pairs import PairSplit, PairTable, build_pairs
from rlhf_lib.reward import TrainConfig

T0 = time.perf_counter()
cfg = config.load()
config.seed_everything(cfg.seed)
R, M = cfg.reward, cfg.metrics
timings = {}
print(f"profile {cfg.profile}: {M.n_boot} bootstrap resamples, {M.probe_pairs} pairs per probe")

# %% [markdown]
# ## 1. The data and the model under test
#
# The preference splits of chapter 1 — **train** (the RM learned from it), **val** (used to choose among
# models and to stop training) and **test** (touched once, at the end) — split *by prompt*, so no prompt
# of the test split was seen in training. In the `ci` profile we keep the same seeded subsets chapter 2 used.

# %%
prefs = data.load_preferences()
caps = pairs.split_caps(R)  # the cpu profile sub-samples train (reward.chapter_train_pairs)


prefs = pairs.capped(prefs, caps, cfg.seed)  # the seeded subsets chapter 2 kept (its feature cache is reused)
tokenizer = models.load_tokenizer(cfg.model.name)
table = build_pairs(prefs, tokenizer, R.max_length, seed=cfg.seed)
splits = table.splits
records = {r["id"]: r for r in data.load_prompts()}
for s in ("train", "val", "test"):
    cats = sorted(set(prefs[s]["category"]))
    print(f"{s:5s}: {len(prefs[s]):5d} pairs from {len(set(prefs[s]['prompt_id'])):4d} prompts; "
          f"Bayes ceiling {metrics.bayes_ceiling(prefs[s]['p_chosen']):.3f}; categories {', '.join(cats)}")

# %% [markdown]
# The model under test is chapter 2's transformer RM from `artifacts/reward_model/`. If chapter 2 has not
# run, `train_reward.load_or_train()` trains a small one first (a few minutes). Any scorer with the signature
# `score_fn(prompts, responses) -> rewards` works with the probes of this chapter.

# %%
t = time.perf_counter()
rm, rm_tok = train_reward.load_or_train()
rm_info = json.loads((config.artifacts_dir() / reward.REWARD_DIR / "reward_info.json").read_text())
print("reward model:", rm_info)


def rm_score(prompts, responses):
    """Rewards of (prompt, response) pairs from the transformer RM (one forward pass per response)."""
    return reward.score(rm, rm_tok, list(prompts), list(responses), max_length=R.max_length)


rm_pairs = metrics.pairwise_from_pointwise(rm_score)  # (prompts, A, B) -> r(A) - r(B), each text scored once
margins = {s: rm_pairs(prefs[s]["prompt"], prefs[s]["chosen"], prefs[s]["rejected"]) for s in ("val", "test")}
timings["score_s"] = time.perf_counter() - t
print(f"scored val and test in {timings['score_s']:.0f} s")
fig = plots.reward_margins({s: margins[s] for s in margins})
plt.show()

# %% [markdown]
# ## 2. Which response is preferred? Pairs as a binary classification
#
# Accuracy, precision, recall, F1 and AUC-ROC are metrics of a **binary classifier**. The reward model
# becomes one: shown a prompt and two responses A and B, it predicts "A is preferred" when
# $r(A) - r(B) > 0$, with confidence $\sigma(r(A) - r(B))$ (Bradley-Terry).
#
# One subtlety first. A preference split lists the preferred response first, so every example would be of
# class "A preferred": precision would be meaningless and AUC undefined. We therefore show **each pair in
# both orders** — (chosen, rejected) with label 1 and (rejected, chosen) with label 0 — which balances
# the classes exactly (`metrics.as_classification`; a seeded random order is the alternative).
#
# | | predicted A | predicted B |
# |---|---|---|
# | **A preferred** | TP | FN |
# | **B preferred** | FP | TN |
#
# $$\text{precision} = \frac{TP}{TP+FP}, \quad \text{recall} = \frac{TP}{TP+FN}, \quad
#   F_1 = \frac{2PR}{P+R}, \quad \text{AUC} = P\big(s(\text{pos}) > s(\text{neg})\big)$$
#
# A *pointwise* RM scores each response alone, so swapping A and B exactly negates its margin. Then
# TP = TN and FP = FN, and **precision = recall = F1 = accuracy** = the pairwise accuracy of chapter 2.
# That is not a bug: at threshold 0 those numbers carry no extra information for a symmetric scorer. They
# come alive (i) for a scorer that reads both answers and may favour a position (appendix 03b), and (ii) at a
# **threshold** above 0, when the RM only calls the pairs it is sure of: precision becomes its accuracy on the
# pairs it calls, and recall the share of *all* pairs it calls correctly. With the **coverage** the share of
# pairs it calls at all ($|r(A) - r(B)| > t$), recall = coverage × precision: recall is not the coverage, it falls
# both when the model abstains more and when it is wrong more — what matters when a reward is used to filter data.
#
# Each number gets a **95% bootstrap confidence interval**. Pairs of one prompt share the prompt and
# often a response, so they are not independent: we resample whole prompts (a cluster bootstrap).

# %%
t = time.perf_counter()
tables = {s: metrics.metric_table(margins[s], groups=prefs[s]["prompt_id"], n_boot=M.n_boot, seed=cfg.seed,
                                  n_bins=M.n_bins) for s in ("val", "test")}
timings["bootstrap_s"] = time.perf_counter() - t
gold = {s: reward.gold_agreement(margins[s], np.zeros(len(margins[s])), prefs[s]["gold_chosen"],
                                 prefs[s]["gold_rejected"]) for s in ("val", "test")}
ceiling = {s: metrics.bayes_ceiling(prefs[s]["p_chosen"]) for s in ("val", "test", "train")}
print(f"{'metric':10s} {'val':>24s} {'test':>24s}")
for rows in zip(tables["val"], tables["test"], strict=True):
    cells = [f"{r['value']:.3f} [{r['lo']:.3f}, {r['hi']:.3f}]" for r in rows]
    print(f"{rows[0]['metric']:10s} {cells[0]:>24s} {cells[1]:>24s}")
print(f"{'ceiling':10s} {ceiling['val']:24.3f} {ceiling['test']:24.3f}   (Bayes: the best any model can expect)")
print(f"{'gold agr.':10s} {gold['val']:24.3f} {gold['test']:24.3f}   (vs the noise-free gold preference)")
print("\nconfusion matrix on test, both orders ([[TN, FP], [FN, TP]]):\n", metrics.confusion(margins["test"]))
rand = metrics.classification_metrics(margins["test"], order="random", seed=cfg.seed)
print("random order instead of both:", {k: round(v, 3) for k, v in rand.items()})

# %% [markdown]
# Note how wide the intervals are: with a few hundred pairs, differences of a couple of points between two
# reward models are noise. The gap between accuracy and the Bayes ceiling is what a better model could
# still win; the rest is annotator disagreement no model can predict.
#
# **ROC curve and the precision–coverage trade-off.** The ROC curve sweeps the threshold over every margin;
# its area (AUC) does not depend on the threshold: it is the probability that a random example of class
# "A preferred" gets a higher margin $r(A) - r(B)$ than a random example of class "B preferred" — two examples
# usually from different pairs, so it measures how well the margins *rank*, not the pairwise accuracy. On the right,
# precision, coverage and recall (= coverage × precision) as the model abstains on more and more close calls.

# %%
fig, (ax_roc, ax_pr) = plt.subplots(1, 2, figsize=(11, 4))
for s in ("val", "test"):
    fpr, tpr, _ = metrics.roc(margins[s])
    auc = metrics.classification_metrics(margins[s])["auc"]
    ax_roc.plot(fpr, tpr, label=f"{s} (AUC {auc:.3f})")
ax_roc.plot([0, 1], [0, 1], ":", color="grey", label="chance")
ax_roc.set(xlabel="false-positive rate", ylabel="true-positive rate", title="ROC: is A preferred to B?")
ax_roc.legend()
thresholds = np.quantile(np.abs(margins["test"]), np.linspace(0, 0.9, 19))
pr = [metrics.classification_metrics(margins["test"], threshold=t) for t in thresholds]
ax_pr.plot(thresholds, [p["precision"] for p in pr], "o-", label="precision (accuracy on called pairs)")
ax_pr.plot(thresholds, [np.mean(np.abs(margins["test"]) > t) for t in thresholds], "^:",
           label="coverage (share of pairs called)")
ax_pr.plot(thresholds, [p["recall"] for p in pr], "s-", label="recall = coverage × precision")
ax_pr.set(xlabel="threshold on |r(A) - r(B)|", title="test: abstaining on close calls")
ax_pr.legend(fontsize=8)
fig.tight_layout()
report.save_plot(fig, "03_roc")
plt.show()

# %% [markdown]
# ## 3. Calibration: does a probability $p$ mean $p$?
#
# The RM predicts $P(A \succ B) = \sigma(r_A - r_B)$. PPO only uses the rewards' *order and scale*, but
# the probability matters whenever someone reads it ("the RM is 95% sure"), mixes rewards from several
# models, or uses them to filter data. A **reliability diagram** bins the predictions and plots, per bin,
# how often the annotator really preferred A against the mean predicted probability; a calibrated model
# lies on the diagonal. The **expected calibration error** sums the gaps, weighted by bin size:
# $$\text{ECE} = \sum_b \frac{n_b}{N}\,\big|\text{freq}_b - \text{conf}_b\big|.$$
# **Temperature scaling** (Guo et al., 2017) fits one number $T$ on the *validation* split,
# $P = \sigma\big((r_A - r_B)/T\big)$, and leaves every ranking (hence accuracy and AUC) unchanged.
# We also check calibration against the panel's own probability `p_chosen` (soft labels): with noisy
# annotators, that is the quantity a perfect RM would predict.
#
# Two more scores of the probabilities are printed next to the ECE. The **Brier score** is the mean squared error
# of the predicted probability against the label, $\frac1N\sum_i (p_i - y_i)^2$: 0 is perfect, and a model that
# always says one half scores one quarter. The **log loss** is the mean of $-\log$ the probability given to what
# happened (the Bradley–Terry training loss of chapter 2). Both are lower for better and better-calibrated
# probabilities; unlike the ECE, they also reward being sure when right.

# %%
T = metrics.fit_temperature(margins["val"])
cal = {name: metrics.calibration_summary(margins["test"], n_bins=M.n_bins, temperature=temp)
       for name, temp in (("raw", 1.0), ("temperature-scaled", T))}
cal_soft = metrics.calibration_summary(margins["test"], labels=prefs["test"]["p_chosen"], n_bins=M.n_bins,
                                       temperature=T)
print(f"temperature fitted on val: T = {T:.3f} ({'over' if T > 1 else 'under'}confident before scaling)")
for name, c in cal.items():
    print(f"test, {name:19s} ECE {c['ece']:.3f}   Brier {c['brier']:.3f}   log loss {c['nll']:.3f}")
print(f"test, scaled vs panel p_chosen: ECE {cal_soft['ece']:.3f}")
fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
for ax, (name, temp) in zip(axes, (("raw", 1.0), (f"T = {T:.2f}", T)), strict=True):
    for s, colour in (("val", "C0"), ("test", "C1")):
        b = metrics.reliability(margins[s], n_bins=M.n_bins, temperature=temp)
        full = b["count"] > 0
        ax.plot(b["confidence"][full], b["frequency"][full], "o-", color=colour,
                label=f"{s}: ECE {metrics.expected_calibration_error(margins[s], n_bins=M.n_bins, temperature=temp):.3f}")
    ax.plot([0, 1], [0, 1], ":", color="grey")
    ax.set(xlabel="predicted P(A preferred)", ylabel="observed share A preferred", title=f"reliability, {name}")
    ax.legend()
fig.tight_layout()
report.save_plot(fig, "03_reliability")
plt.show()

# %% [markdown]
# ## 4. Per-category breakdown
#
# A model that is right on average can be systematically wrong on one kind of prompt — say, it rewards a
# helpful-sounding answer to a harmful request. Accuracy with a bootstrap interval, AUC and ECE per category
# of the test split, worst first, next to each category's Bayes ceiling:

# %%
cat_rows = metrics.per_category(margins["test"], prefs["test"]["category"], n_boot=M.n_boot, seed=cfg.seed,
                                n_bins=M.n_bins)
cats_test = np.array(prefs["test"]["category"])
p_test = np.array(prefs["test"]["p_chosen"])
print(f"{'category':12s} {'pairs':>5s} {'accuracy [95% CI]':>22s} {'ceiling':>8s} {'AUC':>6s} {'ECE':>6s}")
for row in cat_rows:
    ceil = metrics.bayes_ceiling(p_test[cats_test == row["category"]])
    print(f"{row['category']:12s} {row['n']:5d} {row['accuracy']:8.3f} [{row['lo']:.3f}, {row['hi']:.3f}] "
          f"{ceil:8.3f} {row['auc']:6.3f} {row['ece']:6.3f}")

# %% [markdown]
# ## 5. A cheap model to tune: the feedforward RM on frozen features
#
# Tuning and regularisation train many models, so they use chapter 2's cheap one: the feedforward RM on the cached
# frozen features of the base model (computed once and cached), trained by chapter 2's loop.

# %%
t = time.perf_counter()
base_rm, _ = reward.load_transformer_rm(cfg.model.name, "topk", R.top_k, seed=cfg.seed, tokenizer=tokenizer)
cache = features.extract(base_rm, tokenizer, table, R.top_k, models.resolve(cfg.model.name), R.feature_batch_size)
X = cache.features(R.ffn_layer, "both")  # (S, 2H) features of every unique sequence
timings["features_s"] = time.perf_counter() - t
print(f"features of {len(table)} sequences: {tuple(X.shape)} ({timings['features_s']:.0f} s, cached)")


def subset(split: PairSplit, idx, swap=None) -> PairSplit:
    """Rows `idx` of a split; `swap[i]` True exchanges chosen and rejected (a label that came out the other way)."""
    idx = torch.as_tensor(np.asarray(idx), dtype=torch.long)
    c, r, p = split.chosen[idx], split.rejected[idx], split.p_chosen[idx]
    gc, gr = split.gold_chosen[idx], split.gold_rejected[idx]
    if swap is not None:
        w = torch.as_tensor(np.asarray(swap), dtype=torch.bool)
        c, r = torch.where(w, r, c), torch.where(w, c, r)
        gc, gr, p = torch.where(w, gr, gc), torch.where(w, gc, gr), torch.where(w, 1 - p, p)
    return PairSplit(c, r, p, gc, gr)


def make_ffn(dim, hidden=R.ffn_hidden, dropout=0.1):
    """hidden=0 is a linear probe (LayerNorm + one linear layer); otherwise chapter 2's MLP."""
    if hidden == 0:
        return nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, 1), nn.Flatten(0))
    return reward.FeedForwardRM(dim, hidden=hidden, dropout=dropout)


def train_ffn(train_split, val_split=None, *, lr=R.ffn_lr, batch_size=R.batch_size, hidden=R.ffn_hidden,
              dropout=0.1, weight_decay=0.01, epochs=M.sweep_epochs, seed=cfg.seed, feats=None, patience=None,
              n_evals=20):
    """A fresh FFN reward model trained by chapter 2's loop (`reward.train`) on cached features."""
    feats = X if feats is None else feats
    torch.manual_seed(seed)
    net = make_ffn(feats.shape[1], hidden, dropout)
    steps = epochs * -(-len(train_split) // batch_size)
    tc = TrainConfig(lr=lr, batch_size=batch_size, epochs=epochs, weight_decay=weight_decay, seed=seed,
                     eval_every=max(1, steps // n_evals), patience=patience or 10 * R.patience)
    result = reward.train(net, features.feature_reward_fn(net, feats), train_split,
                          val_split or splits["val"], tc, progress=False)
    return net.eval(), result


def ffn_margins(net, split, feats=None):
    r_c, r_r = reward.score_split(features.feature_reward_fn(net, X if feats is None else feats), split)
    return (r_c - r_r).numpy()


def accuracy(m):
    return metrics.classification_metrics(m)["accuracy"]


# %% [markdown]
# ## 6. Hyper-parameter tuning: learning rate, batch size, architecture
#
# The course text names the three knobs. Every run trains the cheap feedforward RM on cached features and is
# judged on **validation** accuracy; the test split stays untouched until the winner is chosen.
# Architectures: a linear probe (no hidden layer) and MLPs of growing width, on the same features.

# %%
t = time.perf_counter()
sweep = {}
for bs in M.sweep_batch_sizes:
    for lr in M.sweep_lrs:
        _, res = train_ffn(splits["train"], lr=lr, batch_size=bs)
        sweep[(lr, bs)] = res.best_val_accuracy
best_lr, best_bs = max(sweep, key=sweep.get)
archs = {}
for hidden in (0, 64, R.ffn_hidden, 1024):
    net, res = train_ffn(splits["train"], lr=best_lr, batch_size=best_bs, hidden=hidden)
    archs["linear" if hidden == 0 else f"MLP {hidden}"] = (res.best_val_accuracy, net)
timings["sweep_s"] = time.perf_counter() - t
best_arch = max(archs, key=lambda k: archs[k][0])
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.6))
for bs in M.sweep_batch_sizes:
    ax1.plot(M.sweep_lrs, [sweep[(lr, bs)] for lr in M.sweep_lrs], "o-", label=f"batch {bs}")
ax1.set(xscale="log", xlabel="learning rate (AdamW)", ylabel="best val accuracy", title="FFN: learning rate × batch size")
ax1.axhline(ceiling["val"], color="grey", ls=":", label="Bayes ceiling")
ax1.legend(fontsize=8)
names = list(archs)
ax2.bar(names, [archs[n][0] for n in names], color="C2")
ax2.axhline(ceiling["val"], color="grey", ls=":")
if "val_accuracy" in rm_info:
    ax2.axhline(rm_info["val_accuracy"], color="C3", ls="--", label="transformer RM (chapter 2)")
    ax2.legend(fontsize=8)
ax2.set(ylim=(0.45, 1.0), ylabel="best val accuracy", title=f"architecture (lr {best_lr}, batch {best_bs})")
fig.tight_layout()
report.save_plot(fig, "03_sweep")
plt.show()
sweep_test = accuracy(ffn_margins(archs[best_arch][1], splits["test"]))
print(f"best by validation: lr {best_lr}, batch {best_bs}, {best_arch} (val {archs[best_arch][0]:.3f}); "
      f"its test accuracy {sweep_test:.3f}; sweep took {timings['sweep_s']:.0f} s")

# %% [markdown]
# ## 7. Regularisation against overfitting: dropout, weight decay, data augmentation
#
# Overfitting shows as a gap: training accuracy keeps rising while validation accuracy stalls or falls. To
# make it visible we train a wide MLP (1024 hidden units) for many epochs on a quarter of the training pairs,
# without early stopping, and compare:
#
# * **none**: no dropout, no weight decay;
# * **dropout** (`p=0.5`): random units are zeroed during training, so no single feature can carry the fit;
# * **weight decay** (AdamW, decoupled): every step shrinks the weights towards 0;
# * **paraphrase augmentation**: each training pair is added again with both answers trivially
#   paraphrased (new feature vectors from the frozen model, same label).
#
# Pair *swapping* — adding (rejected, chosen) with the label flipped — is the other classic augmentation.
# For our pointwise Bradley-Terry RM it changes nothing: the loss of the swapped pair is the same number.
# It matters for a model that reads both answers at once: appendix `03b` (§3) shows it.

# %%
t = time.perf_counter()
n_small = max(16, int(M.overfit_frac * len(splits["train"])))
small_idx = np.sort(np.random.default_rng(cfg.seed).choice(len(splits["train"]), n_small, replace=False))
small = subset(splits["train"], small_idx)
# paraphrase augmentation: features of the rewritten responses (one more frozen forward pass over them)
seq_ids = small.seqs().tolist()
para_text = {i: metrics.trivial_paraphrase(table.responses[i]) for i in seq_ids}
new_seqs = [i for i in seq_ids if para_text[i] != table.responses[i]]
aug_prompts = [table.prompts[i] for i in new_seqs]
aug_responses = [para_text[i] for i in new_seqs]
aug_table = PairTable(aug_prompts, aug_responses, models.encode(tokenizer, aug_prompts, aug_responses, R.max_length))
if new_seqs:
    aug_cache = features.extract(base_rm, tokenizer, aug_table, R.top_k, models.resolve(cfg.model.name),
                                 R.feature_batch_size, progress=False)
    X_aug = torch.cat([X, aug_cache.features(R.ffn_layer, "both")])  # paraphrase j gets index len(table) + j
else:
    X_aug = X
to_para = torch.arange(len(X_aug))[: len(X)].clone()
to_para[torch.tensor(new_seqs, dtype=torch.long)] = len(X) + torch.arange(len(new_seqs))
augmented = PairSplit(torch.cat([small.chosen, to_para[small.chosen]]), torch.cat([small.rejected, to_para[small.rejected]]),
                      small.p_chosen.repeat(2), small.gold_chosen.repeat(2), small.gold_rejected.repeat(2))
print(f"{n_small} training pairs; paraphrase changed {len(new_seqs)} of {len(seq_ids)} responses")
reg_runs = {}
for name, kwargs in (("none", {"dropout": 0.0, "weight_decay": 0.0}),
                     ("dropout 0.5", {"dropout": 0.5, "weight_decay": 0.0}),
                     ("weight decay 1.0", {"dropout": 0.0, "weight_decay": 1.0}),
                     ("paraphrase augmentation", {"dropout": 0.0, "weight_decay": 0.0, "feats": X_aug})):
    split = augmented if name.startswith("paraphrase") else small
    _, res = train_ffn(split, hidden=1024, epochs=M.overfit_epochs, patience=10**6, n_evals=30,
                       **{k: v for k, v in kwargs.items()})
    reg_runs[name] = res
timings["regularisation_s"] = time.perf_counter() - t
fig = plots.training_curves({k: v.history for k, v in reg_runs.items()}, ceiling=ceiling["val"], x="epoch",
                            title=f"wide FFN on {n_small} pairs: train (dashed) vs val (solid)")
report.save_plot(fig, "03_regularisation")
plt.show()
reg_table = {}
for name, res in reg_runs.items():
    last = res.history[-1]
    reg_table[name] = {"final_train": last["train_accuracy"], "final_val": last["val_accuracy"],
                       "best_val": res.best_val_accuracy, "gap": last["train_accuracy"] - last["val_accuracy"]}
    print(f"{name:24s} final train {last['train_accuracy']:.3f}  final val {last['val_accuracy']:.3f}  "
          f"gap {reg_table[name]['gap']:+.3f}  best val {res.best_val_accuracy:.3f}")

# %% [markdown]
# ## 8. Why not BLEU or ROUGE?
#
# Before RLHF, generated text was scored by overlap with a reference: **BLEU** (n-gram precision, machine
# translation) and **ROUGE** (n-gram / longest-common-subsequence recall, summarisation). As the course
# introduction puts it, they measure surface similarity and miss coherence, relevance and readability.
# We treat each as a "reward model" — the response closer to a reference is "preferred" — and ask how often
# it agrees with the annotators, next to the RM, on the same test pairs. The reference of each prompt is
# chapter 1's reference answer when the prompt record has one, else the answer the gold utility rates
# highest among the *other* responses to that prompt (never one of the pair), as a careful human writer would.

# %%
def reference_texts(ds):
    """One reference per pair: the record's reference, else the best other response of the same prompt."""
    pool = {}
    for split in prefs.values():
        for pid, c, r in zip(split["prompt_id"], split["chosen"], split["rejected"], strict=True):
            pool.setdefault(pid, set()).update([c, r])
    refs = []
    for pid, c, r in zip(ds["prompt_id"], ds["chosen"], ds["rejected"], strict=True):
        rec = records[pid]
        given = rec.get("reference") or rec.get("references")
        if given:
            refs.append(given if isinstance(given, list) else [given])
            continue
        others = [x for x in pool[pid] if x not in (c, r)]
        refs.append([max(others, key=lambda x: annotate.gold_utility(rec, x))] if others else [rec["prompt"]])
    return refs


t = time.perf_counter()
ds_t = prefs["test"]
refs = reference_texts(ds_t)
judges = {"BLEU": metrics.reference_margins(ds_t["chosen"], ds_t["rejected"], refs, "bleu"),
          "ROUGE-L": metrics.reference_margins(ds_t["chosen"], ds_t["rejected"], refs, "rougeL"),
          "ROUGE-1": metrics.reference_margins(ds_t["chosen"], ds_t["rejected"], refs, "rouge1"),
          "reward model": margins["test"]}
timings["bleu_rouge_s"] = time.perf_counter() - t
gc, gr = np.array(ds_t["gold_chosen"]), np.array(ds_t["gold_rejected"])
agree_rows = {}
print(f"{'judge':14s} {'agreement':>10s} {'ties':>6s} {'AUC':>6s} {'gold agr.':>10s}")
for name, m in judges.items():
    a = metrics.preference_agreement(m)
    auc = metrics.classification_metrics(m)["auc"]
    g = reward.gold_agreement(m, np.zeros(len(m)), gc, gr)
    agree_rows[name] = {**a, "auc": auc, "gold_agreement": g}
    print(f"{name:14s} {a['agreement']:10.3f} {a['ties']:6.1%} {auc:6.3f} {g:10.3f}")
print(f"Bayes ceiling {ceiling['test']:.3f}")
print("\nper category, agreement with the annotators:")
for cat in sorted(set(cats_test)):
    sel = cats_test == cat
    print(f"  {cat:12s} " + "  ".join(f"{n} {metrics.preference_agreement(m[sel])['agreement']:.2f}"
                                      for n, m in judges.items()))

# %% [markdown]
# How to read the table: overlap can only help where the reference pins the content (a capital, a number,
# a summary of a given passage); where many different answers are good (a story, advice), or where the best
# answer is a refusal that shares few words with any reference, it has little to go on. Compare each row's
# agreement with the RM's and with the Bayes ceiling, and the per-category rows, before concluding: on a
# small split the intervals of §2 apply here too. The RM was trained on the annotators' own choices;
# BLEU and ROUGE never saw a preference.
#
# ## 9. The figures of this chapter

# %%
timings["total_s"] = time.perf_counter() - T0
row = {s: {r["metric"]: r for r in tables[s]} for s in tables}
figures = {"reward_model": rm_info.get("arch", "?"), "n_val_pairs": len(prefs["val"]), "n_test_pairs": len(prefs["test"])}
for s in ("val", "test"):
    for name, r in row[s].items():
        figures[f"{s}_{name}"] = round(r["value"], 4)
        figures[f"{s}_{name}_ci"] = f"[{r['lo']:.3f}, {r['hi']:.3f}]"
    figures[f"{s}_bayes_ceiling"] = round(ceiling[s], 4)
    figures[f"{s}_gold_agreement"] = round(gold[s], 4)
figures.update({
    "temperature": round(T, 3), "test_ece_raw": round(cal["raw"]["ece"], 4),
    "test_ece_scaled": round(cal["temperature-scaled"]["ece"], 4),
    "worst_category": cat_rows[0]["category"], "worst_category_accuracy": round(cat_rows[0]["accuracy"], 3),
    "sweep_best": f"lr {best_lr}, batch {best_bs}, {best_arch}", "sweep_best_val": round(archs[best_arch][0], 4),
    "sweep_best_test": round(sweep_test, 4), "sweep_best_lr": best_lr, "sweep_best_batch_size": best_bs,
    **{f"overfit_gap_{k.split()[0]}": round(v["gap"], 4) for k, v in reg_table.items()},
    **{f"overfit_best_val_{k.split()[0]}": round(v["best_val"], 4) for k, v in reg_table.items()},
    **{f"agreement_{k.replace(' ', '_').replace('-', '').lower()}": round(v["agreement"], 4) for k, v in agree_rows.items()},
    **{f"ties_{k.replace(' ', '_').replace('-', '').lower()}": round(v["ties"], 4) for k, v in agree_rows.items()},
    **{f"chapter_{k}": round(v, 1) for k, v in timings.items()},
})
report.record("03", **figures)
for k, v in figures.items():
    print(f"{k:36s} {v}")
print()
print(report.vs_reference("03", figures, keys=report.KEY_FIGURES["03"]))

# %% [markdown]
# ## Summary
#
# * A reward model is a classifier of pairs: report its accuracy with an interval, against the Bayes ceiling, and per
#   category; one accuracy hides most of what matters.
# * For a pointwise reward model, precision, recall and F1 at threshold zero equal accuracy; AUC and the
#   precision–coverage curve are the informative extras.
# * Calibration is cheap to measure and to fix: one temperature, fitted on validation.
# * Tune and regularise on validation, and open the test split once: the sweep of §6 and the curves of §7.
# * Overlap metrics (BLEU, ROUGE) never saw a preference; the table of §8 shows how often they agree with people.
# * Before a policy is optimised against the model, stress-test it: a position, length or paraphrase bias is what a
#   policy will find and exploit in chapter 4. That is appendix `03b`.
#
# ## What to try next
#
# * Change the grid of the sweep in §6 (learning rate or batch size) and read the plot with its intervals before
#   picking a winner.
# * Fit the temperature of §3 on the test split instead of validation, and see why that test ECE can no longer be
#   trusted.
# * Open appendix `03b`: add a bias probe of your own to its §2 (e.g. a polite prefix, or a repeated sentence), or
#   run its active-labelling comparison with more seeds.

# %% [markdown]
# ## Exercises
#
# Four exercises, from quick to harder. Each one has a check: run it in a new cell and it prints ✅, or ❌ with
# what is wrong. The worked solutions are in `notebooks/solutions/03_solutions.ipynb` (try first!).
#
# ```python
# from rlhf_lib import exercises
# exercises.check("03.1", {"precision": ..., "recall": ...})
# ```
#
# **03.1 — Precision and recall at a threshold.** For the margins `exercises.margins_03()`, compute by hand
# (without `metrics.classification_metrics`) the precision and recall of the "A is preferred" classifier at
# threshold $t = 1$, with each pair shown in both orders as in §2. Check: `exercises.check("03.1", {"precision": p, "recall": r})`.
#
# **03.2 — Expected calibration error.** Write `ece(p, y, n_bins=10)` for predicted probabilities `p` of binary
# outcomes `y` (NumPy arrays), with `n_bins` equal-width bins ($p = 1$ goes to the last one).
# Check: `exercises.check("03.2", ece)`.
#
# **03.3 — Temperature scaling.** `exercises.overconfident_margins()` holds the `"val"` and `"test"` margins of
# an overconfident reward model. Find the temperature $T$ that calibrates it, using the right split, and see what
# it does to the test ECE. Check: `exercises.check("03.3", T)`.
#
# **03.4 — A cluster bootstrap interval.** `correct, groups = exercises.clustered_correct()` says whether the
# model got each pair right, and which prompt the pair belongs to. Write `cluster_ci(correct, groups)` returning
# the 95% percentile-bootstrap interval `(lo, hi)` of the accuracy, resampling whole prompts, without
# `metrics.bootstrap_ci`; compare it with resampling pairs. Check: `exercises.check("03.4", cluster_ci)`.
