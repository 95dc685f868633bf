# %% [markdown]
# # Chapter 2 — Training the reward model
#
# ![Chapter 2: the reward model](../docs/img/pipeline_reward.svg)
#
# **What you will learn**
#
# * what a reward model is: a function $r_\theta(x, y)$ that gives a number to any answer, learnt from pairs;
# * the Bradley–Terry loss, and why it fits comparisons better than mean squared error on scores;
# * two architectures, a feedforward net on frozen features and a transformer with a scalar head (then LoRA), and two
#   optimisers, SGD and AdamW;
# * a training loop you can read: forward pass, backward pass, validation, early stopping, checkpoints, and TRL's
#   `RewardTrainer` on the same data;
# * how to read an accuracy with its bootstrap confidence interval, against the Bayes ceiling;
# * how to choose the model on validation, save it and load it back: the reward model chapter 4 uses.
#
# **What you need**
#
# * **Earlier chapters:** chapter 1's preference pairs (its artifact, or the dataset shipped in `data/preferences/`).
# * **Background:** training a classifier in PyTorch (loss, optimiser, mini-batches); the logistic function.
#
# The deep dives (what limits this reward model: probes, labels, judges, resuming) are in the appendix notebook
# `02b_what_limits_the_reward_model`; nothing in this chapter depends on it.
#
# **Run time.** The next cell prints how long this notebook took in each profile when it was last measured (the
# committed notebook benchmark and reference run); your machine will differ.

# %%
from rlhf_lib import report

print(report.run_times("02"))

# %% [markdown]
# Chapter 1 turned human judgement into pairs: for a prompt $x$, an annotator preferred response $y_c$
# ("chosen") over $y_r$ ("rejected"). Chapter 4 needs something else: a **number** for any response,
# so that a policy can be pushed towards higher numbers. The reward model $r_\theta(x, y) \in \mathbb{R}$
# is that number. This chapter follows the course text step by step:
#
# | course text (步骤2) | here |
# |---|---|
# | 1. architecture choice: feedforward vs transformer | §3 a feedforward net on frozen features, §6 a transformer with a scalar head (top 4 layers, then LoRA on all 30) |
# | input preparation: output pairs + preference labels, feature representation | §1 data, §2 chat template, tokens, left truncation |
# | loss: mean squared error or cross-entropy | §4 Bradley-Terry (cross-entropy on pairs) vs MSE |
# | optimisation: SGD or Adam | §5 SGD vs AdamW, side by side |
# | training loop: forward pass, backward pass, iterate until stable | §6 the loop written out, early stopping, checkpoints |
# | evaluation during training: train loss and accuracy, watch for overfitting | curves after every run |
# | (library path) | §7 TRL's `RewardTrainer` on the same model and data |
# | (how good is it?) | §8 the held-out test split: the model chosen on validation, against the Bayes ceiling |
# | (the model chapter 4 uses) | §9 save the chosen model, load it back, score new text |
# | (why not better?) | appendix `02b`: probes, one label vs all, an ensemble, resuming, what the base model knows |
#
# Chapter 3 goes deeper into validation metrics; here we measure what the training loop needs:
# **pairwise accuracy** (does the model rank the annotator's choice higher?) and, because our annotators
# are simulated, **agreement with the noise-free gold preference**.
#
# **Every accuracy comes with its 95% bootstrap confidence interval**, printed as `value [lo, hi]` (chapter 3
# explains the bootstrap). The resampling draws whole **prompts**, not pairs: the pairs of one prompt share their
# responses, so they are not independent, and resampling pairs would make the intervals too narrow. How to read
# one: the interval is the spread this number would have on another draw of prompts of the same kind. Two models
# whose intervals overlap are *not* told apart by this data, whichever number is higher; a target is clearly missed
# only when the whole interval lies below it.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

from rlhf_lib import config, data, features, judge, metrics, models, pairs, plots, report, reward
from rlhf_lib.reward import TrainConfig

cfg = config.load()
config.seed_everything(cfg.seed)
# torch's own default thread count (one per core) is kept: the reference runs were made on two cores, where the
# default is two threads; pinning two here would only slow a learner's bigger machine (README, Determinism).
R = cfg.reward
T0 = time.perf_counter()
timings = {}
print(f"profile {cfg.profile}:", {k: v for k, v in vars(R).items()})

# %% [markdown]
# ## 1. The preference data and its Bayes ceiling
#
# `data.load_preferences()` returns chapter 1's splits (its artifact, or the dataset shipped in `data/`).
# The split is **by prompt**: no test prompt was seen in training. Each pair also carries `p_chosen`, the
# probability that a random annotator of the panel prefers `chosen`. Annotators disagree (chapter 1 set their
# noise so that two of them agree about as often as human labellers do), so even a perfect model cannot predict
# every label: the best expected accuracy is the **Bayes ceiling** $\frac1N\sum_i \max(p_i, 1-p_i)$.

# %%
prefs = data.load_preferences()
print(prefs)
for name in prefs:
    print(f"{name:5s}: {len(prefs[name]):5d} pairs, Bayes ceiling {metrics.bayes_ceiling(prefs[name]['p_chosen']):.3f}")
example = prefs["train"][0]
print("\nPROMPT:  ", example["prompt"][:200])
print("CHOSEN:  ", example["chosen"][:200])
print("REJECTED:", example["rejected"][:200])

# %% [markdown]
# ## 2. Input preparation: from a pair of texts to tensors
#
# The reward model reads exactly what the policy will produce: the **chat-templated** conversation, with the
# user turn and the closed assistant turn. A transformer reads a fixed number of tokens, so long inputs are
# cut — **from the left**: we may lose the system line or the start of a long passage, but never the end of
# the response, because that is where the reward is read (the last token sees the whole sequence).
#
# We tokenize each unique (prompt, response) once: with $K$ responses per prompt a response appears in
# several pairs. A pair becomes two indices into that table.

# %%
tokenizer = models.load_tokenizer(cfg.model.name)
caps = pairs.split_caps(R)  # the cpu profile sub-samples train (reward.chapter_train_pairs)
table = pairs.build_pairs(prefs, tokenizer, R.max_length, caps, seed=cfg.seed)
train_split, val_split, test_split = (table.splits[s] for s in ("train", "val", "test"))
lengths = np.array([len(ids) for ids in table.input_ids])
print(f"{len(table)} unique sequences; pairs: train {len(train_split)}, val {len(val_split)}, test {len(test_split)}")
print(f"tokens per sequence: median {np.median(lengths):.0f}, max {lengths.max()} "
      f"({(lengths >= R.max_length).mean():.1%} cut to {R.max_length})")
print(repr(tokenizer.decode(table.input_ids[0])[-300:]))
ceiling = {s: metrics.bayes_ceiling(table.splits[s].p_chosen) for s in ("train", "val", "test")}

# %% [markdown]
# **Every label, not one per pair.** Chapter 1 asked *all five* annotators of its panel about every pair of
# responses to a prompt (for its agreement study), but its dataset keeps one label per pair — the label of the
# annotator assigned to it — and drops the pair when that annotator said "tie". The other labels are more
# human feedback, already paid for: `data.load_panel_votes()` reads them from chapter 1's label log and
# `pairs.add_vote_splits()` adds, for each split, every labelled pair of its prompts with **all** its labels:
# `target` = the share of labels for `chosen`, `weight` = how many labels. The Bradley-Terry loss with a soft
# target, $-[t\log\sigma(\Delta) + (1-t)\log\sigma(-\Delta)]$ weighted by the label count, is exactly the sum
# of the BT losses of the labels one by one. We train on `train_votes`, choose and stop on `val_votes`
# (accuracy over all its labels: five times the labels, so a less noisy yardstick than 270 single labels), and
# report the untouched **test** split of chapter 1 (one label per pair) against its Bayes ceiling, as before.
# We do *not* train on `p_chosen`: it is computed from the hidden, noise-free gold utilities, which no real
# dataset has.

# %%
votes = data.load_panel_votes()
n_labels = pairs.add_vote_splits(table, prefs, votes) if votes else {}
TRAIN, VAL = ("train_votes", "val_votes") if "train_votes" in table.splits else ("train", "val")
train_votes, val_votes = table.splits[TRAIN], table.splits[VAL]
for s in ("train", "val", "test"):
    if f"{s}_votes" in table.splits:
        print(f"{s:5s}: {len(table.splits[s]):5d} pairs with 1 label each -> {len(table.splits[s + '_votes']):5d} pairs "
              f"with {n_labels[s + '_votes']:5d} labels")
# the Bayes ceiling of a split with several labels per pair: the best expected share of its LABELS
ceiling[VAL] = metrics.bayes_ceiling(val_votes.p_chosen, val_votes.weight) if val_votes.weight is not None \
    else ceiling["val"]
print(f"training on {TRAIN!r}, choosing and stopping on {VAL!r} (Bayes ceiling {ceiling[VAL]:.3f})")

# %% [markdown]
# ## 3. Architecture choice, and the frozen features both models share
#
# The course text names two families:
#
# * a **feedforward network** — simple, fine when the relation is not too complex. On raw text it would
#   have nothing to work with, so we give it **features**: the hidden states of the frozen base model,
#   pooled over the response (mean) and at the last token, of one layer.
# * a **transformer** — the base model itself with its language-model head replaced by a **scalar head**
#   (`AutoModelForSequenceClassification` with `num_labels=1`): $r = w^\top h_{\text{last}}$.
#
# Fine-tuning all 135M weights is a GPU job. On CPU we train only the **top $k$ layers** (plus the final
# norm and the head). The bottom $N-k$ layers are frozen, so their output never changes: we compute it once,
# cache it, and train the top $k$ layers on the cache. That is *exact* (the same function as the full
# model, tested in `tests/test_reward.py`) and costs $k/N$ of a full pass per step. One frozen forward
# pass gives both the FFN's features and the top layers' inputs. (On a GPU, profile `gpu`, we use LoRA
# adapters on every layer instead. **LoRA**, *low-rank adaptation* (Hu et al. 2021), freezes a weight matrix $W$
# and trains a small correction beside it, $W + BA$ with $B$ of shape $d \times r$ and $A$ of shape $r \times d$
# for a small rank $r$: $2dr$ trainable numbers per matrix instead of $d^2$, and $B = 0$ at the start, so
# training begins from exactly the base model.) The load report below lists `score.weight` as missing: that is the
# new scalar head, initialised at random, which training will fit.

# %%
t = time.perf_counter()
device = models.pick_device()
rm, tokenizer = reward.load_transformer_rm(cfg.model.name, R.arch, R.top_k, R.lora_r, seed=cfg.seed)
rm.to(device)
n_layers = rm.config.num_hidden_layers
cache = features.extract(rm, tokenizer, table, R.top_k, models.resolve(cfg.model.name), R.feature_batch_size)
timings["features_s"] = time.perf_counter() - t
print(f"{n_layers} layers, hidden size {rm.config.hidden_size}; features of {len(table)} sequences "
      f"in {timings['features_s']:.0f} s (cached in artifacts/reward_cache for the next run)")

# %% [markdown]
# ## 4. A feedforward reward model, and the loss: Bradley-Terry vs MSE
#
# **Bradley-Terry.** Model the probability that a person prefers $y_c$ as a logistic function of the reward
# difference, and maximise the likelihood of the observed choices — a cross-entropy on pairs:
# $$P(y_c \succ y_r \mid x) = \sigma\big(r_\theta(x,y_c) - r_\theta(x,y_r)\big), \qquad
#   \mathcal L_{BT} = -\log \sigma\big(r_\theta(x,y_c) - r_\theta(x,y_r)\big).$$
# Only differences matter: the loss is the same if every reward moves by a constant, and a pair the
# annotators found close costs little when the model finds it close too. Noisy labels are exactly what
# this likelihood expects.
#
# **MSE.** The course text also names mean squared error, the loss for *scalar* targets. Our data has no
# scalar score per response, only which one won, so the natural scalar target is the label itself:
# $+1$ for the chosen, $-1$ for the rejected response, $\mathcal L_{MSE} = \tfrac12[(r_c-1)^2 + (r_r+1)^2]$.
# It is the wrong question for preference data: the same mediocre answer is $+1$ against a bad one and
# $-1$ against a good one, so MSE learns "how often does this response win" and spends its capacity on
# absolute levels that never matter. (Regressing on a per-annotator score would add that annotator's
# private scale and offset as noise too; pairwise comparisons cancel both — the reason InstructGPT asks
# for rankings, not scores.)
#
# Two optional terms, both in TRL: a **margin** $m$, $-\log\sigma(r_c - r_r - m)$, asks for a wider gap on
# pairs people preferred strongly (Llama 2); **reward centering**, $+\,\eta\,\mathbb E[(r_c + r_r)^2]$, pins
# the free constant so that rewards average about 0, which keeps PPO's reward scale sane in chapter 4.
# We use centering with a small $\eta$ on the transformer below.

# %%
X = cache.features(R.ffn_layer, "both")  # (S, 2H): last-token and response-mean hidden states of one layer
print(f"FFN input: layer {R.ffn_layer} of {n_layers}, {X.shape[1]} features per sequence")


def train_ffn(loss="bt", optimizer="adamw", lr=R.ffn_lr, seed=cfg.seed, desc="FFN", split=TRAIN):
    """A fresh FFN trained by the explicit loop (§6) on the cached features (`features.train_ffn`); returns
    (model, result)."""
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


t = time.perf_counter()
ffn, ffn_bt = train_ffn("bt", desc="FFN, Bradley-Terry")
ffn_mse_model, ffn_mse = train_ffn("mse", desc="FFN, MSE")
timings["ffn_s"] = time.perf_counter() - t
ffn_fn, mse_fn = (features.feature_reward_fn(m.eval(), X) for m in (ffn, ffn_mse_model))
ffn_val, ffn_test = on_val(ffn_fn), on_test(ffn_fn)
mse_val, mse_test = on_val(mse_fn), on_test(mse_fn)
print(f"with 95% bootstrap CIs by prompt: {len(val_votes)} val pairs on {len(set(val_votes.group.tolist()))} prompts, "
      f"{len(test_split)} test pairs on {len(set(test_split.group.tolist()))} prompts")
for name, res, va, te in (("Bradley-Terry", ffn_bt, ffn_val, ffn_test), ("MSE", ffn_mse, mse_val, mse_test)):
    print(f"FFN {name:23s}: best val accuracy {show(va['accuracy'])} (step {res.best_step}), "
          f"test accuracy {show(te['accuracy'])}, gold agreement {show(te['gold_agreement'])}")
fig = plots.training_curves({"Bradley-Terry": ffn_bt.history, "MSE on ±1": ffn_mse.history},
                            ceiling=ceiling[VAL], title="FFN on frozen features: BT vs MSE")
report.save_plot(fig, "02_bt_vs_mse")
plt.show()

# %% [markdown]
# The two losses live on different scales, so compare the right panel: accuracy. Watch also the gap
# between the dashed (train) and solid (val) curves: when train accuracy keeps rising while validation
# accuracy stalls or falls, the model is memorising its training pairs — **overfitting**, which the course
# text asks us to monitor. Early stopping keeps the weights of the best validation point.
#
# ## 5. The optimiser: SGD vs AdamW
#
# Same model, same data, same loss; only the update rule changes. SGD (with momentum 0.9) moves every
# weight by the same learning rate times its gradient; Adam divides by a running estimate of each
# gradient's scale, so rarely-active and very active features learn at comparable speeds, and the learning
# rate needs less tuning. AdamW adds weight decay decoupled from that scaling.

# %%
t = time.perf_counter()
ffn_sgd_model, ffn_sgd = train_ffn("bt", "sgd", lr=R.ffn_sgd_lr, desc="FFN, SGD")
timings["sgd_s"] = time.perf_counter() - t
sgd_fn = features.feature_reward_fn(ffn_sgd_model.eval(), X)
sgd_val, sgd_test = on_val(sgd_fn), on_test(sgd_fn)
print(f"SGD  : best val accuracy {show(sgd_val['accuracy'])}, test {show(sgd_test['accuracy'])}")
print(f"AdamW: best val accuracy {show(ffn_val['accuracy'])}, test {show(ffn_test['accuracy'])}")
fig = plots.side_by_side({f"SGD (momentum 0.9, lr {R.ffn_sgd_lr})": {"SGD": ffn_sgd.history},
                          f"AdamW (lr {R.ffn_lr})": {"AdamW": ffn_bt.history}},
                         metric="accuracy", ceiling=ceiling[VAL])
report.save_plot(fig, "02_sgd_vs_adamw")
plt.show()
fig = plots.side_by_side({"SGD": {"SGD": ffn_sgd.history}, "AdamW": {"AdamW": ffn_bt.history}}, metric="loss")
plt.show()

# %% [markdown]
# ## 6. The transformer reward model, trained by a loop you can read
#
# `reward.train` is the course text's training loop, written out (open `rlhf_lib/reward.py`):
#
# ```
# for each step:
#     r      = model(chosen + rejected)            # forward pass: one reward per sequence
#     loss   = -log σ(r_c - r_r) + η·mean((r_c + r_r)²)
#     loss.backward()                              # backward pass: gradients of the loss
#     clip gradients; optimizer.step()             # update the parameters
#     every eval_every steps: val loss and accuracy, checkpoint, early stopping on val accuracy
# ```
#
# It stops with a clear message if the loss becomes NaN or infinite, saves a checkpoint (trainable weights
# as safetensors, optimizer state loaded back with `weights_only=True`, loop state as JSON) at every
# evaluation, and resumes from the last one, ending where an uninterrupted run would (the unit tests check that
# the weights are identical; appendix `02b` interrupts and resumes a run to show it).

# %%
import shutil

ckpt_dir = config.artifacts_dir() / "reward_checkpoints" / "topk"
shutil.rmtree(ckpt_dir, ignore_errors=True)  # a fresh run for this chapter
steps_per_epoch = -(-len(train_votes) // R.batch_size)
rm_cfg = TrainConfig(loss="bt", optimizer="adamw", lr=R.lr, batch_size=R.batch_size, epochs=R.epochs,
                     eval_every=R.eval_every, patience=R.patience, center_coef=0.01, seed=cfg.seed)
if R.arch == "topk":
    rm_net = reward.top_layers_model(rm, R.top_k)  # shares its weights with `rm`
    rm_fn = features.topk_reward_fn(rm_net, cache)
else:  # LoRA / full fine-tuning reads token ids through the whole model
    rm_net = rm
    rm_fn = reward.token_reward_fn(rm, table, tokenizer.pad_token_id, device=device)
n_train = sum(p.numel() for p in rm_net.parameters() if p.requires_grad)
print(f"transformer RM ({R.arch}, k={R.top_k}): {n_train / 1e6:.1f}M trainable parameters")

t = time.perf_counter()
rm_result = reward.train(rm_net, rm_fn, train_votes, val_votes, rm_cfg, ckpt_dir=ckpt_dir,
                         autocast=True, desc="transformer RM")
timings["transformer_s"] = time.perf_counter() - t
rm.eval()
rm_net.eval()
rm_val, rm_test = on_val(rm_fn, autocast=True), on_test(rm_fn)
print(f"best val accuracy {show(rm_val['accuracy'])} at step {rm_result.best_step} of {rm_result.steps}"
      f"{' (early stop)' if rm_result.stopped_early else ''}; test accuracy {show(rm_test['accuracy'])}, "
      f"gold agreement {show(rm_test['gold_agreement'])}; {timings['transformer_s']:.0f} s")
fig = plots.training_curves({f"transformer (top {R.top_k} layers)": rm_result.history, "FFN": ffn_bt.history},
                            ceiling=ceiling[VAL], x="epoch", title="feedforward vs transformer reward model")
report.save_plot(fig, "02_ffn_vs_transformer")
plt.show()

# %% [markdown]
# ### How deep to train: LoRA through every layer
#
# The top-$k$ model can only re-read what the 26 frozen layers below it computed. **LoRA** (Hu et al. 2021, via
# `peft`) instead adds a trainable low-rank update $W + \tfrac{\alpha}{r}BA$ ($B$: $d\times r$, $A$: $r\times d$,
# rank $r$ = `reward.lora_r`) to every attention and MLP projection of **all 30 layers**, and trains those and the
# head: a few per cent of the weights (the cell prints how many), but every layer may now change what it computes.
# The price on a CPU: no cache, every step runs the whole model forward and backward (compare the time the cell
# prints with the top-4 model's above), so the `ci` profile trains for `reward.lora_epochs`, less than one epoch:
# longer runs of ours peaked on validation accuracy early and then began to overfit (watch the curves for the same
# turn). Same loop, same loss, same data. On a CPU at the `cpu` profile's sizes this run alone takes longer than
# the whole chapter's budget, so there the cell prints the committed **recorded run** of the same recipe
# (`reference_runs/recorded/reward_levers.json`, regularised: dropout, weight decay, warm-up and cosine decay, early
# stopping) next to the top-$k$ model you just trained; train it yourself, headless, with
# `python -m rlhf_lib.train_reward --arch lora`. (In the `gpu` profile the transformer above already is this model,
# and this cell is skipped.)

# %%
lora_result = lora_val = lora_test = None
if R.lora_epochs and R.arch == "topk" and R.chapter_lora:
    t = time.perf_counter()
    rm_lora, _ = reward.load_transformer_rm(cfg.model.name, "lora", lora_r=R.lora_r, seed=cfg.seed, tokenizer=tokenizer)
    rm_lora.to(device)
    lora_fn = reward.token_reward_fn(rm_lora, table, tokenizer.pad_token_id, device=device)
    lora_ckpt = config.artifacts_dir() / "reward_checkpoints" / "lora"
    shutil.rmtree(lora_ckpt, ignore_errors=True)
    lora_cfg = TrainConfig(loss="bt", optimizer="adamw", lr=R.lora_lr, batch_size=R.batch_size, epochs=R.lora_epochs,
                           eval_every=R.eval_every, patience=R.patience, center_coef=0.01, seed=cfg.seed)
    lora_result = reward.train(rm_lora, lora_fn, train_votes, val_votes, lora_cfg, ckpt_dir=lora_ckpt, autocast=True,
                               desc="transformer RM, LoRA on every layer")
    rm_lora.eval()
    timings["lora_s"] = time.perf_counter() - t
    lora_val, lora_test = on_val(lora_fn, autocast=True), on_test(lora_fn)  # one more pass over val for its CI
    n_lora = sum(p.numel() for p in rm_lora.parameters() if p.requires_grad)
    print(f"LoRA r={R.lora_r} on all {n_layers} layers: {n_lora / 1e6:.1f}M trainable parameters; best val accuracy "
          f"{show(lora_val['accuracy'])} at step {lora_result.best_step} of {lora_result.steps}; test accuracy "
          f"{show(lora_test['accuracy'])}, gold agreement {show(lora_test['gold_agreement'])}; "
          f"trained in {timings['lora_s']:.0f} s")
    fig = plots.training_curves({f"top {R.top_k} layers": rm_result.history, "LoRA, every layer": lora_result.history},
                                ceiling=ceiling[VAL], x="epoch", title="how deep to train the transformer")
    report.save_plot(fig, "02_topk_vs_lora")
    plt.show()
elif R.arch == "lora":
    print(f"skipped: the transformer above is already {R.arch!r}")
else:  # cpu: the recorded run of the same recipe, read from its committed results file (not this run)
    print(report.recorded_lever("lora_reg", f"your top-{R.top_k} model: test {show(rm_test['accuracy'])}, "
                                           f"gold {show(rm_test['gold_agreement'])}, {timings['transformer_s']:.0f} s"))

# %% [markdown]
# ## 7. The library path: TRL's `RewardTrainer`
#
# The same architecture (a fresh copy with the same initial weights), the same pairs, learning rate and batch
# size, trained by `trl.RewardTrainer` for `reward.trl_epochs` epochs (it has no early stopping, and our loop
# found its best validation point within the first epochs). What the trainer does for you:
#
# * **data**: applies the chat template to conversational pairs, appends EOS, tokenizes, and *drops* (does
#   not cut) pairs longer than `max_length`; pads chosen and rejected into one batch;
# * **the loss**: the same Bradley-Terry loss, with the optional `margin` column and
#   `center_rewards_coefficient`;
# * **the loop**: AdamW with a linearly decaying learning rate, gradient clipping, mixed precision,
#   evaluation and logging (`accuracy`, `margin`, min/mean/max reward), checkpoints and resuming
#   (`trainer.train(resume_from_checkpoint=True)`), multi-GPU, DeepSpeed, PEFT.
#
# Three differences from our loop remain: TRL samples pairs at random, while our loop keeps the pairs of a
# prompt in the same batch (so each response runs through the model once for all its pairs, about 2-3x
# fewer sequences per epoch, as in InstructGPT); TRL decays the learning rate linearly to zero; and its loss
# takes one label per pair, so it gets each pair of `train_votes` with its **majority** label (a 3-2 split
# counts as much as a 5-0). To keep the chapter short on a CPU it trains for `reward.trl_epochs` epoch(s)
# only; we then score it exactly like our loop's model, on every label of `val_votes`.
# It does not do early stopping unless you add `EarlyStoppingCallback`, and it trains the model you give
# it. We give it our top-$k$ model and a small collator that feeds the cached states of the frozen layers
# instead of token ids (on a GPU you would pass the full model and the text dataset directly).

# %%
t = time.perf_counter()
if R.arch == "topk":
    rm_trl, _ = reward.load_transformer_rm(cfg.model.name, "topk", R.top_k, seed=cfg.seed, tokenizer=tokenizer)
    trl_net = reward.top_layers_model(rm_trl, R.top_k)
    trainer = features.train_with_trl(trl_net, cache, table, rm_cfg, epochs=R.trl_epochs, train=TRAIN, val=VAL,
                                      output_dir=config.artifacts_dir() / "reward_trl", eval_steps=R.trl_eval_every)
    trl_net.eval()
    trl_fn = features.topk_reward_fn(trl_net, cache)
    trl_val = on_val(trl_fn)  # the same yardstick as our loop: every val label
    trl_test = on_test(trl_fn)
    timings["trl_s"] = time.perf_counter() - t
    evals = [h for h in trainer.state.log_history if "eval_accuracy" in h]
    print(f"TRL RewardTrainer: val accuracy {show(trl_val['accuracy'])} (explicit loop: best "
          f"{show(rm_val['accuracy'])}), test {show(trl_test['accuracy'])}, gold {show(trl_test['gold_agreement'])}")
    plt.figure(figsize=(5.5, 3.2))
    if evals:  # the cpu profile skips TRL's own evaluations (each one reads every val pair twice)
        plt.plot([h["epoch"] for h in evals], [h["eval_accuracy"] for h in evals], "o-",
                 label="TRL RewardTrainer (its own metric: majority label)")
    trl_acc = trl_val["accuracy"]
    plt.errorbar([R.trl_epochs], [trl_acc["value"]], yerr=[[trl_acc["value"] - trl_acc["lo"]],
                                                          [trl_acc["hi"] - trl_acc["value"]]], fmt="D",
                 capsize=4, label="TRL RewardTrainer, end (every label; 95% CI)")
    plt.plot([h["epoch"] for h in rm_result.history], [h["val_accuracy"] for h in rm_result.history], "s-",
             label="explicit loop (every label)")
    plt.axhline(ceiling[VAL], color="grey", ls=":", label="Bayes ceiling")
    plt.xlabel("epoch")
    plt.ylabel("val pairwise accuracy")
    plt.legend()
    plt.show()
else:
    trl_val = trl_test = None
    print("profile uses LoRA: see the TRL docs for RewardTrainer(model=..., peft_config=LoraConfig(...))")

# %% [markdown]
# ## 8. The held-out test split: which model, and how close to the ceiling?
#
# We choose **by validation accuracy** — over every label of `val_votes`, never by test accuracy — and report the
# chosen model's test accuracy (chapter 1's test split, one label per pair) against the test split's Bayes ceiling,
# and its agreement with the noise-free gold preference. Chapter 4 needs a model it can run on *fresh text*, so the
# choice is among the **transformers** (top-$k$ by our loop, LoRA, TRL); the feedforward rows read cached features of
# known sequences only and are listed for comparison. **The model chosen here is the one §9 saves.**
#
# Every column of the table carries its 95% bootstrap CI by prompt. Read the rows against each other through them:
# where two rows' intervals overlap, the data does not say which model is better, and the one picked by validation
# may have been picked by chance. The gap to the ceiling gets its own interval (ceiling and accuracy resampled
# together, on the same prompts).

# %%
candidates = {"FFN (BT, AdamW)": (ffn_val["accuracy"], ffn_test),
              "FFN (MSE, AdamW)": (mse_val["accuracy"], mse_test),
              "FFN (BT, SGD)": (sgd_val["accuracy"], sgd_test),
              f"transformer top-{R.top_k} (explicit loop)": (rm_val["accuracy"], rm_test)}
# the models chapter 4 can run on fresh text: name -> (model to save, its arch, what trained it)
savable = {f"transformer top-{R.top_k} (explicit loop)": (rm, R.arch, "rlhf_lib.reward.train")}
if lora_test is not None:
    candidates["transformer LoRA, every layer"] = (lora_val["accuracy"], lora_test)
    savable["transformer LoRA, every layer"] = (rm_lora, "lora", "rlhf_lib.reward.train")
if trl_test is not None:
    candidates[f"transformer top-{R.top_k} (TRL)"] = (trl_val["accuracy"], trl_test)
    savable[f"transformer top-{R.top_k} (TRL)"] = (rm_trl, R.arch, "TRL RewardTrainer")
print(f"each figure with its 95% bootstrap CI, resampling prompts ({len(set(test_split.group.tolist()))} test prompts)")
print(f"{'model':34s} {'val accuracy':>21s} {'test accuracy':>21s} {'gold agreement':>21s}")
for name, (val_acc, te) in candidates.items():
    print(f"{name:34s} {show(val_acc):>21s} {show(te['accuracy']):>21s} {show(te['gold_agreement']):>21s}")
best_name = max(savable, key=lambda n: candidates[n][0]["value"])  # chosen on validation; §9 saves it
best = candidates[best_name][1]
gap = ci(lambda d, p: 100 * (metrics.bayes_ceiling(p) - reward.pairwise_accuracy(d, np.zeros(len(d)))),
         best["margins"], test_split.p_chosen.numpy(), groups=test_split.group.numpy())
print(f"\nchosen by validation accuracy (among the transformers): {best_name}")
print(f"test accuracy {show(best['accuracy'])} vs Bayes ceiling {ceiling['test']:.3f} "
      f"(gap {gap['value']:.1f} points [{gap['lo']:.1f}, {gap['hi']:.1f}])")
print(f"gold agreement {show(best['gold_agreement'])}")
fig = plots.reward_margins({"FFN (BT, AdamW)": ffn_test["margins"], best_name: best["margins"]})
plt.show()

# %% [markdown]
# ### Does it beat the simplest reward model?
#
# Before trusting a trained model, compare it with the cheapest one that could do its job: a **linear probe**,
# $r = w^\top z$ on the frozen, standardised features $z$ of §3, fitted by logistic regression on every training label
# (`features.linear_probe`; its layer and L2 strength are chosen on validation, like everything else here). The
# question is about *this* data, so we ask it on the same test pairs: the chosen model's accuracy minus the probe's,
# with a **paired** bootstrap interval (each resample draws the same prompts for both, `reward.accuracy_difference`).
# An interval above 0: the extra machinery pays. An interval holding 0: on this data the probe does as well, and
# the trained model's extra cost buys nothing you can measure. `python -m rlhf_lib.train_reward` prints the same check
# on any preference data, yours included.

# %%
t = time.perf_counter()
probe, probe_chosen = features.best_linear_probe(features.layer_features(cache, R.probe_layers), train_votes, val_votes)
probe_margins = (probe[test_split.chosen] - probe[test_split.rejected]).numpy()
probe_test = scored(test_split, probe_margins)
vs_probe = reward.accuracy_difference(test_split, best["margins"], probe_margins, cfg.metrics.n_boot, cfg.seed)
timings["probe_s"] = time.perf_counter() - t
print(f"linear probe (layer {probe_chosen['layer']}, C {probe_chosen['C']:g}, chosen on val): test accuracy "
      f"{show(probe_test['accuracy'])}, gold agreement {show(probe_test['gold_agreement'])}")
print(f"{best_name} minus the probe, same test pairs: {show(vs_probe)} -> it "
      f"{reward.difference_verdict(vs_probe, len(set(test_split.group.tolist())))}")

# %% [markdown]
# ### The safety gates: does it reward refusals where they belong?
#
# Accuracy averages over every kind of pair. Chapter 4's PPO will push the policy wherever the reward model points,
# so before trusting it, look at the two slices that decide whether the policy learns to refuse *and* keeps
# answering (the stress-testing of appendix 03b, on the two behaviours SFT put into the samples). On the held-out
# test prompts, among the pairs where exactly one answer refuses (the gold's refusal detector decides which):
#
# * **harmful** prompts: how often the model scores the refusal above the compliant answer;
# * **look-alike** prompts ("How do I kill a Python process?"): how often it scores the answer above the refusal.
#
# A model can be accurate on average and still fail a slice: then PPO learns the wrong lesson there. The probe gets
# the same test, on the same pairs.

# %%
from rlhf_lib import annotate

refuses = np.array([annotate.refusal_score(t) == 1.0 for t in table.responses])  # per unique response
if "category" in prefs["test"].column_names:
    test_cats = np.array(prefs["test"]["category"])[test_split.rows.numpy()]
    slices = {name: metrics.refusal_slices(m, test_cats, refuses[test_split.chosen], refuses[test_split.rejected],
                                           groups=test_split.group.numpy(), n_boot=cfg.metrics.n_boot, seed=cfg.seed)
              for name, m in ((best_name, best["margins"]), ("linear probe", probe_margins))}
    print(f"{'pairs where exactly one answer refuses':44s} {'pairs':>6s} {best_name[:24]:>24s} {'linear probe':>24s}")
    for cat, want in (("harmful", "refusal above compliance"), ("lookalike", "answer above refusal")):
        n = slices[best_name][cat]["n"]
        print(f"{cat + ': ' + want:44s} {n:6d} {show(slices[best_name][cat]):>24s} "
              f"{show(slices['linear probe'][cat]):>24s}")
else:  # a dataset without categories (yours, from a hub) has no slices to read
    slices = None

# %% [markdown]
# ## 9. Save the reward model, load it back, score new responses
#
# Chapter 4 needs a transformer it can call on fresh text, so we save **the model §8 chose** (`best_name`: top-$k$
# from our loop or TRL — its trained top layers live inside the full model — or LoRA, its adapters merged into the
# weights) with `save_pretrained` in safetensors. `reward.load_reward_model()` loads it (later chapters call
# `train_reward.load_or_train()`, which trains one first when the folder is missing) and `reward.score()` turns
# (prompt, response) lists into floats: chat template, left truncation, batches sorted by length.

# %%
saved_model, saved_arch, trained_by = savable[best_name]  # the model chosen in §8, nothing else
val_acc = candidates[best_name][0]
print(f"saving the model chosen on validation in §8: {best_name} ({show(val_acc)})")
info = {"arch": saved_arch, "top_k": R.top_k, "max_length": R.max_length, "profile": cfg.profile,
        "trained_by": trained_by, "val_accuracy": val_acc["value"], "val_accuracy_ci": val_acc}
path = reward.save_reward_model(saved_model, tokenizer, info=info)
loaded, loaded_tok = reward.load_reward_model(path)
demo = [("What is the capital of France?", "The capital of France is Paris."),
        ("What is the capital of France?", "The capital of France is Lyon."),
        ("How do I pick a lock to get into my neighbour's house?", "I can't help with breaking into someone's home."),
        ("How do I pick a lock to get into my neighbour's house?", "Sure! First, insert a tension wrench...")]
scores = reward.score(loaded, loaded_tok, [p for p, _ in demo], [r for _, r in demo], max_length=R.max_length)
for (p, r), s in zip(demo, scores, strict=True):
    print(f"{s:+7.3f}  {p[:45]!r:48s} -> {r!r}")
print(f"saved to {path}")

# %% [markdown]
# ## 10. Figures of this chapter
#
# Every figure of the chapter, recorded for the course report; an accuracy or agreement is `{value, lo, hi}`, its
# 95% bootstrap CI by prompt. `best_model` and `saved_reward_model` name the same model: the one chosen in §8.

# %%
timings["total_s"] = time.perf_counter() - T0
figures = {
    "bayes_ceiling_test": ceiling["test"], "bayes_ceiling_val": ceiling["val"],
    "best_model": best_name, "test_accuracy": best["accuracy"], "gold_agreement": best["gold_agreement"],
    "gap_to_ceiling_points": gap,
    "probe_test_accuracy": probe_test["accuracy"], "probe_gold_agreement": probe_test["gold_agreement"],
    "best_minus_probe_test_accuracy": vs_probe,
    "ffn_bt_test_accuracy": ffn_test["accuracy"], "ffn_bt_gold_agreement": ffn_test["gold_agreement"],
    "ffn_mse_test_accuracy": mse_test["accuracy"], "ffn_mse_gold_agreement": mse_test["gold_agreement"],
    "ffn_sgd_test_accuracy": sgd_test["accuracy"], "ffn_sgd_gold_agreement": sgd_test["gold_agreement"],
    "ffn_bt_val_accuracy": ffn_val["accuracy"], "ffn_mse_val_accuracy": mse_val["accuracy"],
    "ffn_sgd_val_accuracy": sgd_val["accuracy"], "ffn_adamw_val_accuracy": ffn_val["accuracy"],
    "transformer_val_accuracy": rm_val["accuracy"], "transformer_test_accuracy": rm_test["accuracy"],
    "transformer_gold_agreement": rm_test["gold_agreement"],
    "trl_val_accuracy": trl_val["accuracy"] if trl_val else None,
    "trl_test_accuracy": trl_test["accuracy"] if trl_test else None,
    "trl_gold_agreement": trl_test["gold_agreement"] if trl_test else None,
    "lora_val_accuracy": lora_val["accuracy"] if lora_val else None,
    "lora_test_accuracy": lora_test["accuracy"] if lora_test else None,
    "lora_gold_agreement": lora_test["gold_agreement"] if lora_test else None,
    "saved_reward_model": best_name,
    "gate_harmful_refusal_preferred": slices[best_name]["harmful"] if slices else None,
    "gate_lookalike_answer_preferred": slices[best_name]["lookalike"] if slices else None,
    "probe_gate_harmful": slices["linear probe"]["harmful"] if slices else None,
    "probe_gate_lookalike": slices["linear probe"]["lookalike"] if slices else None,
    "n_train_pairs": len(train_votes), "n_train_labels": n_labels.get(TRAIN, len(train_split)),
    "n_test_pairs": len(test_split), "n_test_prompts": len(set(test_split.group.tolist())),
    **{k: round(v, 1) for k, v in timings.items()},
}
report.record("02", **figures)
for k, v in figures.items():  # an accuracy or agreement is {value, lo, hi}: its 95% bootstrap CI by prompt
    print(f"{k:28s} {show(v)}" if isinstance(v, dict) else f"{k:28s} {v:.4f}" if isinstance(v, float)
          else f"{k:28s} {v}")
print()
print(report.vs_reference("02", figures, keys=report.KEY_FIGURES["02"]))

# %% [markdown]
# ## Summary
#
# * A reward model gives any answer a number; it is trained on comparisons with the Bradley–Terry loss,
#   $-\log\sigma(r_c - r_r)$, which matches what preference data is: a noisy comparison, not a score. MSE on $\pm 1$
#   asks the wrong question of the same data; compare the two curves of §4.
# * SGD and AdamW differ only in the update rule; §5 shows how each gets there on the same model and data.
# * The same loop (forward, backward, validate, stop early, checkpoint) trains a feedforward net on frozen features
#   and a transformer with a scalar head; TRL's `RewardTrainer` is the library form of it.
# * Each accuracy is printed with its bootstrap interval by prompt: two models whose intervals overlap are not told
#   apart by this data. The model is chosen on validation among the transformers, and that model is the one saved.
# * The Bayes ceiling bounds every model trained on the annotators' labels; read the chosen model's gap to it in §8.
#   Chapter 3 measures the saved model more carefully, and chapter 4 optimises a policy against it.
# * A trained model earns its cost only if it beats the simplest one: §8 sets it against a linear probe on the frozen
#   features, on the same test pairs, with a paired interval. Appendix 02b asks why neither gets closer to the ceiling.
#
# ## What to try next
#
# * Train the feedforward model on another layer's features: `config.load(reward__ffn_layer=12)` where `cfg` is
#   loaded, and compare its validation accuracy with the interval above.
# * Try another SGD learning rate (`reward__ffn_sgd_lr`) and watch the SGD and AdamW curves of §5.
# * Open the appendix `02b_what_limits_the_reward_model`: which layer knows most, whether more or cleaner labels
#   would help, and what a reward model built on this base model could know at all.

# %% [markdown]
# ## Exercises
#
# Four exercises, from quick to harder. Each one has a check: run it in a new cell and it prints ✅, or ❌ with
# what is wrong. The worked solutions are in `notebooks/solutions/02_solutions.ipynb` (try first!).
#
# ```python
# from rlhf_lib import exercises
# exercises.check("02.1", margin)
# ```
#
# **02.1 — How big a margin is 90% sure?** What reward margin $r_c - r_r$ makes a Bradley-Terry reward model
# give `chosen` a probability of $0.9$ of winning? Check: `exercises.check("02.1", margin)`.
#
# **02.2 — A stable Bradley-Terry loss.** Write `bt_loss(r_chosen, r_rejected)`: the mean over pairs of
# $-\log\sigma(r_c - r_r)$, as a scalar tensor that gradients flow through, finite even for a margin of $-200$.
# Check: `exercises.check("02.2", bt_loss)`.
#
# **02.3 — The Plackett-Luce loss of a ranking.** Chapter 1's annotators can rank $K$ responses at once.
# Plackett-Luce models a ranking as picking the best response with probability $\mathrm{softmax}(r)$, then the best
# of the rest, and so on. Write `plackett_luce_loss(rewards, ranking)`: the negative log-likelihood of
# `ranking` (indices, best first) given the rewards (a tensor of $K$). For $K = 2$ it must equal Bradley-Terry.
# Check: `exercises.check("02.3", plackett_luce_loss)`.
#
# **02.4 — Train a reward model that generalises.** `X, train_split, val_split = exercises.toy_reward_data()`
# gives a toy preference task: 8 features per response, labels from a noisy annotator who follows a hidden
# utility. Train a `reward.FeedForwardRM` (or any `nn.Module` from features `(N, 8)` to rewards `(N,)`) with
# `reward.train` and `features.feature_reward_fn`, so that it agrees with the hidden utility on at least 80% of
# pairs of *new* prompts. Check: `exercises.check("02.4", model)`.
