# %% [markdown]
# # Chapter 2b — What limits the reward model (appendix of chapter 2)
#
# *An appendix of chapter 2: it asks why chapter 2's reward model is not better, with diagnostics the chapter's
# teaching path leaves out.*
#
# ![Chapter 2: the reward model](../docs/img/pipeline_reward.svg)
#
# **What you will learn**
#
# * which layer of the frozen base model knows most about a preference (linear probes), and whether an ensemble helps;
# * whether all five labels of a pair beat one, and whether *noise-free* labels would (a question only simulated
#   annotators let us ask);
# * that an interrupted training run resumes from its checkpoint and ends where an uninterrupted one does;
# * where the saved reward model goes wrong (per category, close vs obvious pairs), and what a reward model built on
#   this base model could know at all: three judges, blind to correctness, informed by the base model's own answers,
#   and the full gold.
#
# **What you need**
#
# * **Earlier chapters:** chapter 2 (its saved reward model and feature cache; when they are missing this notebook
#   trains the model with `train_reward.load_or_train()` and rebuilds the cache) and chapter 1's preference pairs.
# * **Background:** chapter 2's Bradley–Terry loss, the Bayes ceiling and the bootstrap interval by prompt.
#
# **Run time.** The next cell prints how long this notebook took in each profile when it was last measured.

# %%
from rlhf_lib import report

print(report.run_times("02b"))

# %%
import json
import shutil
import time

import matplotlib.pyplot as plt
import numpy as np
import torch

from rlhf_lib import annotate, config, data, features, judge, metrics, models, pairs, reward, train_reward
from rlhf_lib.reward import TrainConfig

cfg = config.load()
config.seed_everything(cfg.seed)
R = cfg.reward
T0 = time.perf_counter()
timings = {}

# %% [markdown]
# ## 1. The same data, pairs and features as chapter 2
#
# The same splits, the same capped pairs (seeded), every panel label (`train_votes`, `val_votes`) and the frozen
# features: chapter 2's feature cache in `artifacts/reward_cache` is read back when it exists.

# %%
prefs = data.load_preferences()
tokenizer = models.load_tokenizer(cfg.model.name)
caps = pairs.split_caps(R)  # the cpu profile sub-samples train (reward.chapter_train_pairs)
table = pairs.build_pairs(prefs, tokenizer, R.max_length, caps, seed=cfg.seed)
train_split, val_split, test_split = (table.splits[s] for s in ("train", "val", "test"))
ceiling = {s: metrics.bayes_ceiling(table.splits[s].p_chosen) for s in ("train", "val", "test")}
votes = data.load_panel_votes()
n_labels = pairs.add_vote_splits(table, prefs, votes) if votes else {}
TRAIN, VAL = ("train_votes", "val_votes") if "train_votes" in table.splits else ("train", "val")
train_votes, val_votes = table.splits[TRAIN], table.splits[VAL]
ceiling[VAL] = metrics.bayes_ceiling(val_votes.p_chosen, val_votes.weight) if val_votes.weight is not None \
    else ceiling["val"]
t = time.perf_counter()
device = models.pick_device()
rm, tokenizer = reward.load_transformer_rm(cfg.model.name, R.arch, R.top_k, R.lora_r, seed=cfg.seed)
rm.to(device)
n_layers = rm.config.num_hidden_layers
cache = features.extract(rm, tokenizer, table, R.top_k, models.resolve(cfg.model.name), R.feature_batch_size)
del rm  # only its frozen features are needed here
timings["features_s"] = time.perf_counter() - t
X = cache.features(R.ffn_layer, "both")  # chapter 2's FFN input
print(f"pairs: train {len(train_votes)} ({TRAIN}), val {len(val_votes)} ({VAL}), test {len(test_split)}; "
      f"FFN input: layer {R.ffn_layer} of {n_layers}, {X.shape[1]} features")

# %% [markdown]
# Chapter 2's helpers, unchanged: a fresh FFN trained by `reward.train` on the cached features, and every figure
# with its 95% bootstrap CI by prompt.

# %%
def train_ffn(loss="bt", optimizer="adamw", lr=R.ffn_lr, seed=cfg.seed, desc="FFN", split=TRAIN):
    """A fresh FFN trained by chapter 2's loop on the cached features (`features.train_ffn`); returns (model, result)."""
    return features.train_ffn(X, table.splits[split], val_votes, R.ffn_hidden, lr, R.ffn_epochs, R.batch_size,
                              10 * R.patience, seed, loss, optimizer, desc=desc)


def ci(stat, *arrays, groups):
    """stat(*arrays) with its 95% bootstrap CI, resampling whole prompts (`groups`: the prompt of each row)."""
    return metrics.bootstrap_ci(stat, *arrays, n_boot=cfg.metrics.n_boot, seed=cfg.seed, groups=groups)


def scored(split, margins, rows=None):
    """Accuracy (over every label of a pair) and gold agreement of the margins r_c - r_r of `split` (or of its pairs
    `rows`), each {value, lo, hi}: `reward.evaluate`'s figures with their 95% CIs by prompt."""
    return reward.figures_with_ci(split, margins, cfg.metrics.n_boot, cfg.seed, rows)


def on_split(reward_fn, split, autocast=False):
    """Accuracy and gold agreement (with CIs) and the margins of one model on one split (`reward.measure`)."""
    return reward.measure(reward_fn, split, cfg.metrics.n_boot, cfg.seed, autocast, device)


def on_val(reward_fn, autocast=False):
    """On every label of the validation split: what choosing a model and early stopping look at."""
    return on_split(reward_fn, val_votes, autocast)


def on_test(reward_fn):
    """On the test split: used only to report, never to choose."""
    return on_split(reward_fn, test_split)


def show(c):
    """'0.612 [0.571, 0.650]': a figure with its 95% CI."""
    return judge.ci_text(c, pct=False)


# %% [markdown]
# ## 2. One label per pair, or every label?
#
# Chapter 2 trains on **every** label of the panel (`train_votes`: five per pair, as a soft Bradley-Terry target).
# Chapter 1's dataset keeps one label per pair. Same FFN, same loop, same validation yardstick; only the training
# labels change. Read the two rows through their intervals before concluding that more labels help.

# %%
t = time.perf_counter()
ffn, ffn_bt = train_ffn("bt", desc="FFN, BT, every label")
ffn_one_model, ffn_one = train_ffn("bt", desc="FFN, BT, one label per pair", split="train")
timings["ffn_s"] = time.perf_counter() - t
ffn_fn, one_fn = (features.feature_reward_fn(m.eval(), X) for m in (ffn, ffn_one_model))
ffn_val, ffn_test = on_val(ffn_fn), on_test(ffn_fn)
one_val, one_test = on_val(one_fn), on_test(one_fn)
for name, va, te in (("every label", ffn_val, ffn_test), ("one label per pair", one_val, one_test)):
    print(f"FFN, {name:18s}: val accuracy {show(va['accuracy'])}, test accuracy {show(te['accuracy'])}, "
          f"gold agreement {show(te['gold_agreement'])}")
plt.figure(figsize=(5.5, 3.2))
for name, res in (("every label", ffn_bt), ("one label per pair", ffn_one)):
    plt.plot([h["step"] for h in res.history], [h["val_accuracy"] for h in res.history], label=name)
plt.axhline(ceiling[VAL], color="grey", ls=":", label="Bayes ceiling")
plt.xlabel("step")
plt.ylabel("val pairwise accuracy")
plt.legend()
plt.show()

# %% [markdown]
# ## 3. Which layer knows most, and does an ensemble help?
#
# The FFN reads one layer. Is another layer, or all of them, a better input? A quick way to ask: a *linear* reward model $r = w^\top x$ on each layer's features
# (standardised), fitted by logistic regression on the feature differences $x_c - x_r$ of every training
# label — seconds per layer with scikit-learn. Then the cheapest reliable gain in machine learning: an
# **ensemble**, the mean reward of `reward.ffn_seeds` FFNs that differ only in their random seed.

# %%
t = time.perf_counter()


def linear_probe(feats, C=3e-4, target=None, weight=None):
    """`features.linear_probe` on every training label (or the labels `target` / `weight`): a reward per sequence."""
    return features.linear_probe(feats, train_votes, C, target, weight)


def val_accuracy(r):
    return on_val(lambda idx: r[idx])["accuracy"]


probe_layers = list(range(4, n_layers + 1, 4)) + ([n_layers] if n_layers % 4 else [])
probe_acc = {layer: val_accuracy(linear_probe(cache.features(layer, "both"))) for layer in probe_layers}
probe_acc["all of them"] = val_accuracy(linear_probe(cache.features(probe_layers, "both")))
for name, acc in probe_acc.items():
    print(f"linear probe on layer {name!s:>10s}: val accuracy {show(acc)}")

members = [ffn] + [train_ffn("bt", seed=cfg.seed + i, desc=f"FFN, seed {cfg.seed + i}")[0]
                   for i in range(1, R.ffn_seeds)]
ensemble = reward.EnsembleRM([m.eval() for m in members])
ens_fn = features.feature_reward_fn(ensemble, X)
ens_val, ens_test = on_val(ens_fn), on_test(ens_fn)
timings["ensemble_s"] = time.perf_counter() - t
print(f"ensemble of {len(members)} FFNs: val accuracy {show(ens_val['accuracy'])} "
      f"(one FFN: {show(ffn_val['accuracy'])}), test accuracy {show(ens_test['accuracy'])}, "
      f"gold agreement {show(ens_test['gold_agreement'])}")

# %% [markdown]
# ## 4. Is it the labels, or what the model can see?
#
# Our annotators are simulated, so we can ask a question no real
# project can: what if the labels had *no noise at all*? We train the same linear probe on the noise-free gold
# preference of every training pair (a diagnostic only: no real dataset has it, and nothing below uses it) and
# measure agreement with the gold on the test prompts. If perfect labels lift it well above the panel-trained
# probe, label noise is what holds the reward model back and more labels would help; if not, the limit
# is what the frozen features encode about *new* prompts (is this capital right? is this sum right?), and more
# labels on the same 225 prompts cannot fix it. Two reference points for the accuracy figure: the gold utility
# itself, and the panel's exact preference probability used as a reward model, each scored on the realised test
# labels.

# %%
gold_margin = (train_votes.gold_chosen - train_votes.gold_rejected).numpy()
gold_target, gold_weight = (gold_margin > 0).astype(float), (gold_margin != 0).astype(float)  # gold ties dropped
diagnosis = {}
for name, feats in (("layer 8", cache.features(8, "both")), (f"layer {R.ffn_layer}", X),
                    (f"layer {n_layers}", cache.features(n_layers, "both"))):
    for labels, (tgt, wgt) in (("every panel label", (None, None)), ("noise-free gold", (gold_target, gold_weight))):
        r = linear_probe(feats, C=1e-3, target=tgt, weight=wgt)
        probe = scored(test_split, (r[test_split.chosen] - r[test_split.rejected]).numpy())
        diagnosis[(name, labels)] = (probe["accuracy"], probe["gold_agreement"])
        print(f"linear probe, {name:9s} trained on {labels:17s}: test accuracy {show(probe['accuracy'])}, "
              f"gold agreement {show(probe['gold_agreement'])}")
gold_as_rm_acc = scored(test_split, (test_split.gold_chosen - test_split.gold_rejected).numpy())["accuracy"]
panel_as_rm_acc = scored(test_split, (test_split.p_chosen - 0.5).numpy())["accuracy"]
print(f"the gold utility as a reward model: test accuracy {show(gold_as_rm_acc)} (gold agreement 1 by definition)")
print(f"the panel's exact probability as a reward model: test accuracy {show(panel_as_rm_acc)} "
      f"(Bayes ceiling, its expectation: {ceiling['test']:.3f})")

# %% [markdown]
# ## 5. Resuming an interrupted run
#
# `reward.train` saves a checkpoint (trainable weights as safetensors, optimizer state, the loop's state and random
# generators) at every evaluation, and a run started again with the same `ckpt_dir` continues from the last one. Here
# on the cheap FFN: one run straight through, and one interrupted just after its first checkpoint and started again.
# If resuming is exact, the two end with identical weights.

# %%
t = time.perf_counter()
eval_every = max(1, R.ffn_epochs * -(-len(train_votes) // R.batch_size) // 40)
resume_cfg = TrainConfig(loss="bt", optimizer="adamw", lr=R.ffn_lr, weight_decay=0.01, batch_size=R.batch_size,
                         epochs=R.ffn_epochs, eval_every=eval_every, patience=10 * R.patience, seed=cfg.seed)


def fresh_ffn():
    """The same initial FFN every time."""
    torch.manual_seed(cfg.seed)
    return reward.FeedForwardRM(X.shape[1], hidden=R.ffn_hidden)


straight = fresh_ffn()
reward.train(straight, features.feature_reward_fn(straight, X), train_votes, val_votes, resume_cfg,
             desc="FFN, straight through")
ckpt_dir = config.artifacts_dir() / "reward_checkpoints" / "ffn_resume_demo"
shutil.rmtree(ckpt_dir, ignore_errors=True)
resumed = fresh_ffn()
reward.train(resumed, features.feature_reward_fn(resumed, X), train_votes, val_votes, resume_cfg, ckpt_dir=ckpt_dir,
             stop_after=eval_every + 1, desc="FFN, interrupted")
print(f"-- interrupted after step {eval_every + 1}; starting again --")
reward.train(resumed, features.feature_reward_fn(resumed, X), train_votes, val_votes, resume_cfg, ckpt_dir=ckpt_dir,
             desc="FFN, resumed")
same_weights = all(torch.equal(a, b) for a, b in zip(straight.state_dict().values(), resumed.state_dict().values(),
                                                      strict=True))
timings["resume_s"] = time.perf_counter() - t
print(f"resumed run ends with the same weights as the uninterrupted one: {same_weights}")

# %% [markdown]
# ## 6. Where the saved reward model goes wrong
#
# From here on we study the model chapter 2 saved (and chapter 4 uses), loaded with `train_reward.load_or_train()`,
# on the same test pairs: its margins $r_c - r_r$ of every test pair.

# %%
t = time.perf_counter()
saved_rm, saved_tok = train_reward.load_or_train()
saved_info = json.loads((config.artifacts_dir() / reward.REWARD_DIR / "reward_info.json").read_text())
test_rows = prefs["test"].select(test_split.rows.numpy())
rm_pairs = metrics.pairwise_from_pointwise(
    lambda p, r: reward.score(saved_rm, saved_tok, list(p), list(r), max_length=R.max_length))
saved_margins = np.asarray(rm_pairs(test_rows["prompt"], test_rows["chosen"], test_rows["rejected"]))
saved_test = {**scored(test_split, saved_margins), "margins": saved_margins}
timings["saved_model_s"] = time.perf_counter() - t
print(f"saved reward model ({saved_info.get('trained_by', '?')}, {saved_info.get('arch', '?')}): "
      f"test accuracy {show(saved_test['accuracy'])}, gold agreement {show(saved_test['gold_agreement'])}")

# %% [markdown]
# Accuracy per prompt category of the test split (the rows come from chapter 1's dataset, so each pair keeps its
# category). A category holds a handful of prompts, so its interval is wide: read only the categories whose
# intervals stand apart.

# %%
categories = np.array(prefs["test"]["category"])[test_split.rows.numpy()]
for cat in sorted(set(categories)):
    sel = categories == cat
    ceiling_cat = metrics.bayes_ceiling(test_split.p_chosen[sel])
    acc = scored(test_split, saved_margins, rows=sel)["accuracy"]
    print(f"{cat:12s} {sel.sum():4d} pairs  accuracy {show(acc)}  ceiling {ceiling_cat:.3f}")

# %% [markdown]
# ## 7. The close pairs or the obvious ones?
#
# Sort the test pairs by the size of their
# gold margin $|u(y_c) - u(y_r)|$. On a close pair (margin $\le 0.3$) even a single annotator sides with the gold
# barely more often than a coin; on a pair whose margin exceeds 1 (a right answer against a wrong one, a refusal
# against step-by-step help with a crime) annotators almost never err. A reward model that learned what people
# want would be wrong mostly on the close pairs.

# %%
gold_m = (test_split.gold_chosen - test_split.gold_rejected).numpy()
annotator_agrees = np.where(gold_m > 0, test_split.p_chosen.numpy(), 1 - test_split.p_chosen.numpy())
test_groups = test_split.group.numpy()
margin_table = {}
print("agreement with the gold, with its 95% bootstrap CI by prompt (one annotator: the expected agreement)")
print(f"{'|gold margin|':14s} {'pairs':>6s} {'one annotator':>21s} {'saved model':>21s} {'FFN (BT)':>21s}")
for lo, hi in ((0, 0.3), (0.3, 1.0), (1.0, np.inf)):
    sel = (gold_m != 0) & (np.abs(gold_m) > lo) & (np.abs(gold_m) <= hi)
    if not sel.any():
        continue
    annotator = ci(np.mean, annotator_agrees[sel], groups=test_groups[sel])
    agree = {name: scored(test_split, te["margins"], rows=sel)["gold_agreement"]
             for name, te in (("saved", saved_test), ("FFN", ffn_test))}
    margin_table[f"{lo}-{hi}"] = (int(sel.sum()), annotator, agree["saved"])
    print(f"{f'({lo}, {hi}]':14s} {sel.sum():6d} {show(annotator):>21s} {show(agree['saved']):>21s} "
          f"{show(agree['FFN']):>21s}")
big = (np.abs(gold_m) > 1.0)
for cat in sorted(set(categories[big])):
    sel = big & (categories == cat)
    print(f"  margin > 1, {cat:10s} {sel.sum():3d} pairs: the saved model agrees with the gold on "
          f"{judge.ci_text(scored(test_split, saved_margins, rows=sel)['gold_agreement'])}")

# %% [markdown]
# ## 8. Three judges: what could a reward model know?
#
# Read the table row by row, the models against the single annotator. Close pairs are hard for everyone, so the gap
# that matters is on the **obvious ones**: where one annotator almost always sides with the gold, a reward model that
# learned what people want should too. If it falls well short there, look at the per-category lines under the table:
# when the misses are mostly fact checks ("The capital of Switzerland is Bern" against "... is Lier"), the model
# does not know the facts, and more or cleaner labels will not teach them. How much of the gold is such checking?
# Our gold utility is made of named parts (chapter 1), so we can score every test pair with a gold that is
# **blind to correctness**: a judge perfect on everything else (safety, relevance, length, style, repetition,
# truncation, tone) but unable to tell a right answer from a wrong one. Its agreement with the full gold bounds what
# a reward model that knows no facts and no arithmetic can reach.

# %%
if "prompt_id" in prefs["test"].column_names:  # the shipped dataset or chapter 1's build (a hub dataset has none)
    records = {p["id"]: p for p in data.load_prompts()}
    flags = data.finished_flags()

    def gold_margins(without=()):
        """u(chosen) - u(rejected) of every test pair under the gold utility less the components `without`."""
        return np.array([annotate.gold_utility(records[row["prompt_id"]], row["chosen"],
                                               flags.get((row["prompt_id"], row["chosen"].strip())), without)
                         - annotate.gold_utility(records[row["prompt_id"]], row["rejected"],
                                                 flags.get((row["prompt_id"], row["rejected"].strip())), without)
                         for row in test_rows])

    full = gold_margins()
    print(f"recomputed gold margins match the dataset's on {np.mean(np.isclose(full, gold_m)):.0%} of test pairs")
    keep = full != 0

    def sides_with_gold(margins):
        """Per test pair without a gold tie: 1 where `margins` side with the full gold, 0.5 for a tie (a coin flip)."""
        return np.where(margins[keep] == 0, 0.5, np.sign(margins[keep]) == np.sign(full[keep]))

    def agreement(margins, sel=slice(None)):
        """Mean of `sides_with_gold` (over the pairs `sel` of those without a gold tie) with its 95% CI by prompt."""
        return ci(np.mean, sides_with_gold(margins)[sel], groups=test_groups[keep][sel])

    blind = gold_margins(without=("correct",))
    blind_agreement = agreement(blind)
    blind_accuracy = scored(test_split, blind)["accuracy"]  # on the annotators' labels (ties half)
    print(f"a judge perfect on everything but correctness agrees with the gold on {judge.ci_text(blind_agreement)} "
          f"of test pairs")
    print(f"and scores test accuracy {show(blind_accuracy)} on the annotators' labels "
          f"(the full gold: {show(gold_as_rm_acc)})")
    for cat in ("factual", "arithmetic", "conversion"):
        sel = categories[keep] == cat
        if sel.any():
            print(f"  {cat:10s} {sel.sum():3d} pairs: {judge.ci_text(agreement(blind, sel))}")
else:
    blind_agreement = blind_accuracy = None

# %% [markdown]
# And what could a reward model built on our base model check? Ask the base model itself: its greedy answers to the
# test questions that have one right answer, graded by the gold's own correctness check. Then score the test pairs
# with a third judge, perfect on everything *and* on correctness wherever the base model answered right, blind
# where it did not: the best a reward model that knows exactly what its base model knows could do.

# %%
t = time.perf_counter()
lm, lm_tokenizer = models.load_model(cfg.model.name, device=device)
checkable = [p for p in data.load_prompts("test") if p["category"] in judge.CHECKABLE]
knows = judge.base_model_knows(lm, lm_tokenizer, checkable, device)  # greedy answer, graded by the gold's check
base_knows = {}
for p in checkable:
    base_knows.setdefault(p["category"], []).append(knows[p["id"]])
for cat, hits in base_knows.items():
    print(f"{cat:10s}: the base model answers {sum(hits):2d} of {len(hits):2d} test questions right")
print(f"e.g. {checkable[0]['prompt']!r} -> {models.chat(lm, lm_tokenizer, checkable[0]['prompt'], 48)[:90]!r}")
del lm
informed_agreement = informed_accuracy = None
if blind_agreement is not None:
    known = np.array([knows.get(row["prompt_id"], True) for row in test_rows])  # no right answer to know: True
    informed = np.where(known, full, blind)
    informed_agreement = agreement(informed)
    informed_accuracy = scored(test_split, informed)["accuracy"]
    print(f"\n{'judge (95% bootstrap CIs by prompt)':48s} {'gold agreement':>21s} {'test accuracy':>21s}")
    for name, agr, acc in (("blind to correctness", blind_agreement, blind_accuracy),
                           ("knows what the base model answers right", informed_agreement, informed_accuracy),
                           ("the full gold", agreement(full), gold_as_rm_acc),
                           ("the reward model chapter 2 saved", agreement(saved_margins), saved_test["accuracy"])):
        print(f"{name:48s} {show(agr):>21s} {show(acc):>21s}")
timings["base_model_check_s"] = time.perf_counter() - t

# %% [markdown]
# **What the judges bound.** Read the last table from the top. The gap between the blind judge and the full gold is
# what checking facts is worth, and the per-category lines of §8 show where the blind judge loses it (factual,
# arithmetic and conversion pairs). The base model's answers say which of those facts a reward model built on it could
# know at all: a model that gets capitals right but sums wrong cannot reward a right sum. The informed judge is
# *flawless* on everything else and uses every fact its base model holds, so it bounds what any reward model on this
# base model can reach; the last row shows how far the saved model is from that bound (where the intervals overlap,
# this many prompts do not tell). Real reward models are initialised from the policy *or a larger model* for exactly
# this reason: a judge cannot reward knowledge it does not have.
#
# ## 9. Figures of this appendix

# %%
timings["total_s"] = time.perf_counter() - T0
figures = {
    "ffn_every_label_val_accuracy": ffn_val["accuracy"], "ffn_every_label_test_accuracy": ffn_test["accuracy"],
    "ffn_one_label_val_accuracy": one_val["accuracy"], "ffn_one_label_test_accuracy": one_test["accuracy"],
    "ffn_one_label_gold_agreement": one_test["gold_agreement"],
    "ensemble_val_accuracy": ens_val["accuracy"], "ensemble_test_accuracy": ens_test["accuracy"],
    "ensemble_gold_agreement": ens_test["gold_agreement"],
    **{f"linear_probe_val_layer_{k}".replace(" ", "_"): v for k, v in probe_acc.items()},
    **{f"probe_{n}_{lab}_test_gold_agreement".replace(" ", "_").replace("-", "_"): v[1]
       for (n, lab), v in diagnosis.items()},
    "gold_as_rm_test_accuracy": gold_as_rm_acc, "panel_probability_as_rm_test_accuracy": panel_as_rm_acc,
    "resume_same_weights": same_weights,
    "saved_model_test_accuracy": saved_test["accuracy"], "saved_model_gold_agreement": saved_test["gold_agreement"],
    **{f"base_model_right_{cat}": f"{sum(h)}/{len(h)}" for cat, h in base_knows.items()},
    "gold_agreement_blind_to_correctness": blind_agreement,
    "test_accuracy_blind_to_correctness": blind_accuracy,
    "gold_agreement_knowing_what_base_knows": informed_agreement,
    "test_accuracy_knowing_what_base_knows": informed_accuracy,
    **{f"saved_gold_agreement_margin_{k}": v[2] for k, v in margin_table.items()},
    **{k: round(v, 1) for k, v in timings.items()},
}
report.record("02b", **figures)
for k, v in figures.items():  # an accuracy or agreement is {value, lo, hi}: its 95% bootstrap CI by prompt
    print(f"{k:28s} {show(v)}" if isinstance(v, dict) else f"{k:28s} {v:.4f}" if isinstance(v, float)
          else f"{k:28s} {v}")
print()
print(report.vs_reference("02b", figures, keys=report.KEY_FIGURES["02b"]))

# %% [markdown]
# ## Summary: what limits the reward model
#
# Read every figure with its interval: the test split has a few hundred pairs but far fewer prompts, and the bootstrap
# resamples prompts; five labels per validation pair do not shrink its interval fivefold, for the same reason.
#
# * **Labels** (§2, §4): if one label per pair lands within the noise of every label, and the probe trained on the
#   noise-free gold lands close to the probe trained on the panel's labels, label noise is not the bottleneck, and
#   neither is the number of labels.
# * **Inputs** (§3): the per-layer probes show whether another layer, or all of them concatenated, is a better input
#   than the FFN's; the ensemble shows what averaging seeds buys.
# * **Engineering** (§5): an interrupted run resumes exactly, so long runs can be split.
# * **Where it errs** (§6, §7): the gap that matters is on the obvious pairs, where one annotator almost always sides
#   with the gold; close pairs are near a coin flip for annotators and models alike.
# * **Knowledge** (§8): a reward model cannot reward a fact its base model does not know. If the informed judge
#   itself stays well short of the full gold, the lever is a larger base model for the reward model, which this
#   offline course does not ship.
#
# The gold utility used as a reward model, and the panel's exact probability (whose expected accuracy *is* the Bayes
# ceiling), are the two reference points printed in §4. Back to the course: chapter 3 measures the saved model.
