# %% [markdown]
# # Chapter 3b — Stress-testing the reward model (appendix of chapter 3)
#
# *An appendix of chapter 3: where chapter 3 measures the reward model, this notebook stress-tests it — new kinds of
# prompt, biases a policy would exploit, and new feedback chosen where the model is unsure.*
#
# ![Chapter 3: validating the reward model](../docs/img/pipeline_reward.svg)
#
# **What you will learn**
#
# * how to test generalisation with a shifted test set: held-out categories and new phrasings (the course text's
#   *realistic scenarios*);
# * three bias probes a practitioner runs before trusting a reward model: position, length, paraphrase;
# * why swapping the two answers is an augmentation only for a model that reads both at once;
# * iterative refinement: new human feedback, chosen actively or at random, and retraining (the course text's
#   *iterative refinement*).
#
# **What you need**
#
# * **Earlier chapters:** chapter 2's reward model (trained first when it is missing) and chapter 3's sweep (its best
#   learning rate and batch size, read from chapter 3's figures; the profile's defaults when chapter 3 has not run).
# * **Background:** chapter 3's pairwise accuracy and its bootstrap intervals.
#
# **Run time.** The next cell prints how long this notebook took in each profile when it was last measured.

# %%
from rlhf_lib import report

print(report.run_times("03b"))

# %%
import json
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from rlhf_lib import annotate, config, data, features, metrics, models, pairs, reward, train_reward
from rlhf_lib.pairs import PairSplit, build_pairs
from rlhf_lib.reward import TrainConfig

T0 = time.perf_counter()
cfg = config.load()
config.seed_everything(cfg.seed)
R, M = cfg.reward, cfg.metrics
timings = {}
print(f"profile {cfg.profile}: {M.n_boot} bootstrap resamples, {M.probe_pairs} pairs per probe")

# %% [markdown]
# ## 0. The data, the model under test and the cheap model
#
# The same splits and seeded subsets as chapter 3, chapter 2's transformer RM (its test margins $r_c - r_r$), and
# chapter 3's cheap feedforward RM on frozen features with its helpers, unchanged.

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

# %%
t = time.perf_counter()
rm, rm_tok = train_reward.load_or_train()
rm_info = json.loads((config.artifacts_dir() / reward.REWARD_DIR / "reward_info.json").read_text())
print("reward model:", rm_info)


def rm_score(prompts, responses):
    """Rewards of (prompt, response) pairs from the transformer RM (one forward pass per response)."""
    return reward.score(rm, rm_tok, list(prompts), list(responses), max_length=R.max_length)


rm_pairs = metrics.pairwise_from_pointwise(rm_score)  # (prompts, A, B) -> r(A) - r(B), each text scored once
margins = {"test": rm_pairs(prefs["test"]["prompt"], prefs["test"]["chosen"], prefs["test"]["rejected"])}
timings["score_s"] = time.perf_counter() - t
print(f"scored the test split in {timings['score_s']:.0f} s")
ceiling = {"test": metrics.bayes_ceiling(prefs["test"]["p_chosen"])}

# %%
t = time.perf_counter()
base_rm, _ = reward.load_transformer_rm(cfg.model.name, "topk", R.top_k, seed=cfg.seed, tokenizer=tokenizer)
cache = features.extract(base_rm, tokenizer, table, R.top_k, models.resolve(cfg.model.name), R.feature_batch_size)
X = cache.features(R.ffn_layer, "both")  # (S, 2H) features of every unique sequence
timings["features_s"] = time.perf_counter() - t
cat_of = {s: np.array(prefs[s]["category"]) for s in splits}
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


# chapter 3's sweep chose these on validation (its figures); the profile's defaults when chapter 3 has not run
ch3 = report.load_figures().get("03", {})
best_lr, best_bs = ch3.get("sweep_best_lr", R.ffn_lr), ch3.get("sweep_best_batch_size", R.batch_size)
print(f"learning rate {best_lr}, batch size {best_bs}", "(chapter 3's sweep)" if "sweep_best_lr" in ch3 else "(defaults)")

# %% [markdown]
# ## 1. Generalisation: a shifted test
#
# The test split holds new prompts of the *same kinds* as training. Real users bring new kinds of request
# and phrase familiar ones differently. Two shifts:
#
# **(a) Held-out categories.** For each category, train a reward model on every *other* category and test
# it on the held-out one, against the same model trained on all categories. To afford eight trainings we use
# chapter 2's cheap model: the feedforward RM on the cached frozen features of the base model.

# %%
t = time.perf_counter()
ffn_all, ffn_all_res = train_ffn(splits["train"])
m_all = ffn_margins(ffn_all, splits["test"])
shift_rows = []
for cat in sorted(set(cat_of["test"])):
    tr_idx, va_idx = np.flatnonzero(cat_of["train"] != cat), np.flatnonzero(cat_of["val"] != cat)
    te_idx = np.flatnonzero(cat_of["test"] == cat)
    net, _ = train_ffn(subset(splits["train"], tr_idx), subset(splits["val"], va_idx))
    held = ffn_margins(net, subset(splits["test"], te_idx))
    shift_rows.append({"category": cat, "n": len(te_idx), "in_distribution": accuracy(m_all[te_idx]),
                       "held_out": accuracy(held)})
timings["shift_categories_s"] = time.perf_counter() - t
print(f"FFN trained on all categories: test accuracy {accuracy(m_all):.3f}")
print(f"{'held-out category':18s} {'pairs':>5s} {'seen in training':>17s} {'held out':>9s}")
for row in shift_rows:
    print(f"{row['category']:18s} {row['n']:5d} {row['in_distribution']:17.3f} {row['held_out']:9.3f}")
n_te = sum(r["n"] for r in shift_rows)
shift_in = sum(r["in_distribution"] * r["n"] for r in shift_rows) / n_te
shift_out = sum(r["held_out"] * r["n"] for r in shift_rows) / n_te
print(f"{'all (pair-weighted)':18s} {n_te:5d} {shift_in:17.3f} {shift_out:9.3f}")
fig, ax = plt.subplots(figsize=(8, 3.2))
xs = np.arange(len(shift_rows))
ax.bar(xs - 0.2, [r["in_distribution"] for r in shift_rows], 0.4, label="category seen in training")
ax.bar(xs + 0.2, [r["held_out"] for r in shift_rows], 0.4, label="category held out")
ax.axhline(0.5, color="grey", ls=":")
ax.set_xticks(xs, [r["category"] for r in shift_rows])
ax.set(ylabel="test pairwise accuracy", title="FFN reward model under category shift")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# **(b) New phrasings.** The same test questions, asked the way different users write: a greeting before,
# a thank-you after, an informal lead-in. The gold quality of each answer does not change, so a robust RM
# keeps its accuracy. We rescore a subset of test pairs with the transformer RM.

# %%
PHRASINGS = ["Hi! {p}", "Quick question: {p}", "{p} Thanks in advance.", "hey, {p}"]
rng = np.random.default_rng(cfg.seed)
probe_idx = np.sort(rng.choice(len(prefs["test"]), size=min(M.probe_pairs, len(prefs["test"])), replace=False))
probe = prefs["test"].select(probe_idx)
rephrased = [PHRASINGS[i % len(PHRASINGS)].format(p=p) for i, p in enumerate(probe["prompt"])]
t = time.perf_counter()
m_orig = margins["test"][probe_idx]
m_new = rm_pairs(rephrased, probe["chosen"], probe["rejected"])
timings["shift_phrasing_s"] = time.perf_counter() - t
phrasing = {"original": accuracy(m_orig), "rephrased": accuracy(m_new),
            "flips": float(np.mean(np.sign(m_orig) != np.sign(m_new)))}
print(f"{len(probe_idx)} test pairs: accuracy {phrasing['original']:.3f} as written, "
      f"{phrasing['rephrased']:.3f} rephrased; the preferred answer flips on {phrasing['flips']:.1%} of pairs")
print("e.g.", repr(rephrased[0]))

# %% [markdown]
# ## 2. Bias probes: what a practitioner checks before trusting a reward model
#
# A policy optimised against an RM finds and exploits whatever the RM rewards that people do not. Three
# cheap probes catch the classic failures. Each takes a *scoring function*, so you can run it on any RM.
#
# **Position (order) symmetry.** Swap A and B: a good judge prefers the same *response*, not the same
# *position*. Our RM scores each response alone, so $m(B, A) = -m(A, B)$ exactly — symmetric by
# construction, which the probe confirms (`max_asymmetry` = 0). A *pairwise* judge that reads both answers
# in one prompt has no such guarantee. We probe one: the base model itself asked "which answer is better,
# A or B?", with the log-odds of the next token "A" against "B" as its margin.

# %%
pointwise_sym = metrics.order_symmetry(rm_pairs, probe["prompt"], probe["chosen"], probe["rejected"])
print("pointwise RM:", {k: round(v, 4) for k, v in pointwise_sym.items()})

t = time.perf_counter()
judge_lm, judge_tok = models.load_model(cfg.model.name, device="cpu")
A_ID, B_ID = (judge_tok(x, add_special_tokens=False)["input_ids"][0] for x in ("A", "B"))


judge_memo = {}


@torch.no_grad()
def llm_judge(prompts, a, b):
    """A pairwise judge: log P("A") - log P("B") for the base LM asked which answer is better."""
    for key in zip(prompts, a, b, strict=True):
        if key not in judge_memo:
            p, x, y = key
            ask = (f"Question: {p}\n\nAnswer A: {x}\n\nAnswer B: {y}\n\n"
                   "Which answer is better, A or B? Reply with one letter.")
            ids = judge_tok(models.chat_prompt(judge_tok, ask), return_tensors="pt", add_special_tokens=False)
            with models.autocast("cpu"):
                logits = judge_lm(**ids).logits[0, -1].float()
            judge_memo[key] = float(logits[A_ID] - logits[B_ID])
    return np.array([judge_memo[k] for k in zip(prompts, a, b, strict=True)])


judge_set = probe.select(range(min(M.judge_pairs, len(probe))))
judge_sym = metrics.order_symmetry(llm_judge, judge_set["prompt"], judge_set["chosen"], judge_set["rejected"])
judge_acc = accuracy(llm_judge(judge_set["prompt"], judge_set["chosen"], judge_set["rejected"]))
timings["judge_s"] = time.perf_counter() - t
print("base-LM judge:", {k: round(v, 3) for k, v in judge_sym.items()})
print(f"judge accuracy with chosen in slot A: {judge_acc:.3f} — compare first_wins: slot A wins "
      f"{judge_sym['first_wins']:.0%} of the time, whatever it holds")

# %% [markdown]
# **Length bias.** RMs notoriously learn "longer is better", and a policy then pads its answers. The probe
# must compare answers of **equal gold quality**, or a preference for the longer answer may just be a
# preference for the better one. We build such pairs: each response against the same response followed by
# a content-free closing sentence, and keep the pairs where chapter 1's gold utility gives both exactly the
# same value (so people would be indifferent). An unbiased RM then prefers the longer one half the time.
# We also look at the real test pairs whose two answers have (nearly) equal gold utility.

# %%
FILLERS = [" I hope this helps! Let me know if you have any other questions.",
           " Feel free to ask if anything is unclear.", " Thank you for your question."]
rows = [(r, resp) for r, resp in zip(probe["prompt_id"], probe["chosen"], strict=True)]
padded = [resp + FILLERS[i % len(FILLERS)] for i, (_, resp) in enumerate(rows)]
equal = [i for i, ((pid, resp), pad) in enumerate(zip(rows, padded, strict=True))
         if abs(annotate.gold_utility(records[pid], pad) - annotate.gold_utility(records[pid], resp)) < 1e-9]
print(f"padding leaves gold utility unchanged for {len(equal)} of {len(rows)} responses")
len_probe = metrics.length_bias(rm_score, [probe["prompt"][i] for i in equal], [rows[i][1] for i in equal],
                                [padded[i] for i in equal], n_boot=M.n_boot, seed=cfg.seed)
print(f"RM prefers the padded answer in {len_probe['prefers_longer']:.1%} of pairs "
      f"[{len_probe['lo']:.1%}, {len_probe['hi']:.1%}] (unbiased: 50%); mean reward gain {len_probe['mean_gain']:+.3f}")

g_gap = np.abs(np.array(prefs["test"]["gold_chosen"]) - np.array(prefs["test"]["gold_rejected"]))
tol = np.quantile(g_gap, 0.2)
near = np.flatnonzero(g_gap <= tol)
len_c = np.array([len(x) for x in prefs["test"]["chosen"]])[near]
len_r = np.array([len(x) for x in prefs["test"]["rejected"]])[near]
differ = len_c != len_r
rm_longer = np.mean((margins["test"][near] > 0)[differ] == (len_c > len_r)[differ])
people_longer = np.mean((len_c > len_r)[differ])
print(f"test pairs with near-equal gold (|Δgold| <= {tol:.3f}, {differ.sum()} pairs): RM prefers the longer "
      f"answer {rm_longer:.1%}, annotators {people_longer:.1%}")

# %% [markdown]
# **Paraphrase sensitivity.** A trivial rewrite — contractions, "e.g." for "for example", spacing — does not
# change an answer's quality. How far does it move the reward, compared with the spread of rewards across
# answers, and how often does it flip a preference?

# %%
para = metrics.paraphrase_sensitivity(rm_score, probe["prompt"], probe["chosen"], probe["rejected"])
print(f"paraphrased {para['changed']:.0%} of responses; preference flips on {para['flip_rate']:.1%} of pairs; "
      f"mean |Δr| = {para['relative_shift']:.3f} × the reward spread")

# %% [markdown]
# ## 3. Pair swapping, for a model that reads both answers
#
# A small pairwise classifier gets the features of A
# and B side by side and outputs the log-odds that A wins. Trained on the pairs as stored (the preferred
# answer always first), it can reach zero loss by learning "A always wins", and it looks perfect if you also
# evaluate in the stored order. Training on both orders forces it to look at the answers. The order-symmetry
# probe of §2 tells the two apart at once. (Chapter 3, §7, explains why swapping changes nothing for a pointwise
# Bradley-Terry RM.)

# %%
class PairwiseFFN(nn.Module):
    """Reads both answers: concat(f_A, f_B) (B, 2D) -> log-odds that A is preferred (B,)."""

    def __init__(self, dim, hidden=128):
        super().__init__()
        self.net = nn.Sequential(nn.LayerNorm(2 * dim), nn.Linear(2 * dim, hidden), nn.GELU(), nn.Linear(hidden, 1))

    def forward(self, a, b):
        return self.net(torch.cat([X[a], X[b]], -1)).squeeze(-1)


def train_pairwise(split, swap_augment, epochs=M.sweep_epochs, seed=cfg.seed):
    torch.manual_seed(seed)
    net = PairwiseFFN(X.shape[1])
    opt = torch.optim.AdamW(net.parameters(), lr=R.ffn_lr, weight_decay=0.01)
    a, b, y = split.chosen, split.rejected, torch.ones(len(split))
    if swap_augment:
        a, b, y = torch.cat([a, b]), torch.cat([b, a]), torch.cat([y, torch.zeros(len(split))])
    for _ in range(epochs):
        for rows in torch.randperm(len(y)).split(R.batch_size):
            loss = nn.functional.binary_cross_entropy_with_logits(net(a[rows], b[rows]), y[rows])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return net.eval()


te = splits["test"]
swap_rows = {}
for swap in (False, True):
    net = train_pairwise(splits["train"], swap)
    with torch.no_grad():
        pair_fn = lambda p, a, b, net=net: net(torch.as_tensor(a), torch.as_tensor(b)).numpy()  # noqa: E731
        stored = float(np.mean(pair_fn(None, te.chosen, te.rejected) > 0))
        sym = metrics.order_symmetry(pair_fn, te.chosen, te.chosen, te.rejected)
        y_both = np.r_[np.ones(len(te)), np.zeros(len(te))]
        s_both = np.r_[pair_fn(None, te.chosen, te.rejected), pair_fn(None, te.rejected, te.chosen)]
    both = float(np.mean((s_both > 0) == y_both))
    swap_rows[swap] = {"stored_order": stored, "both_orders": float(both), **sym}
    print(f"pairwise FFN, {'with' if swap else 'without'} swap augmentation: accuracy in stored order {stored:.3f}, "
          f"in both orders {both:.3f}; first_wins {sym['first_wins']:.3f}, consistency {sym['consistency']:.3f}")

# %% [markdown]
# ## 4. Iterative refinement: new human feedback, chosen actively
#
# The course text closes the loop: collect new human feedback, retrain, re-evaluate, repeat. Labels are
# the expensive part, so *which* pairs to label matters. We simulate the loop:
#
# 1. start with a small labelled share of the training pairs; the rest is an unlabelled **pool**;
# 2. train the RM, then score the pool and pick the `refine_batch` pairs it is **least sure** about
#    (smallest $|r_A - r_B|$: uncertainty sampling, `metrics.select_pairs`);
# 3. send them to the annotators — chapter 1's simulated panel (`annotate.make_panel`): a random panel
#    member judges each pair with Bradley-Terry noise, so a new label may disagree with the stored one, and
#    a tie is dropped — and add them;
# 4. retrain from scratch and measure test accuracy; repeat.
#
# The control is the same loop with the same number of **random** pairs. Both are repeated over several
# seeds, because one random draw is noisy. (In a real project, step 3 is the widget of chapter 1.)

# %%
panel = annotate.make_panel(cfg.data.n_annotators, seed=cfg.seed + 1)  # chapter 1's simulated annotators
train_ds = prefs["train"]  # row i of this dataset is pair i of splits["train"]


def panel_labels(idx, rng):
    """Send pairs `idx` to the panel: a random member compares the two responses (with Bradley-Terry noise).

    Returns (swap, keep): swap where the member preferred the stored `rejected`; keep False for a tie
    (ties do not enter the training pairs, as in chapter 1).
    """
    swap, keep = [], []
    for i in idx:
        rec = records[train_ds[int(i)]["prompt_id"]]
        comp_c = annotate.gold_components(rec, train_ds[int(i)]["chosen"])
        comp_r = annotate.gold_components(rec, train_ds[int(i)]["rejected"])
        label = panel[rng.integers(len(panel))].compare(rec, comp_c, comp_r)
        swap.append(label == annotate.B)
        keep.append(label != annotate.TIE)
    return swap, keep


test_gold_c, test_gold_r = splits["test"].gold_chosen, splits["test"].gold_rejected


def refine(strategy, seed):
    """One run of the loop; returns [(labelled pairs, test accuracy, test gold agreement)] per round."""
    rng = np.random.default_rng(seed)
    full = splits["train"]
    order = rng.permutation(len(full))
    n0 = max(8, int(M.refine_seed_frac * len(full)))
    pool = list(order[n0:])
    swap, keep = panel_labels(order[:n0], rng)
    labelled = [int(i) for i, k in zip(order[:n0], keep, strict=True) if k]
    swapped = [s for s, k in zip(swap, keep, strict=True) if k]
    curve = []
    for step in range(M.refine_rounds + 1):
        net, _ = train_ffn(subset(full, labelled, swapped), lr=best_lr, batch_size=best_bs,
                           epochs=M.refine_epochs, seed=seed)
        m_te = ffn_margins(net, splits["test"])
        curve.append((n0 + step * M.refine_batch, accuracy(m_te), reward.gold_agreement(m_te, np.zeros(len(m_te)), test_gold_c,
                                                                          test_gold_r)))
        if step == M.refine_rounds or not pool:
            break
        k = min(M.refine_batch, len(pool))
        pick = metrics.select_pairs(ffn_margins(net, subset(full, pool)), k, strategy, seed=seed + step)
        new = [pool[i] for i in pick]
        swap, keep = panel_labels(new, rng)
        labelled += [int(i) for i, k in zip(new, keep, strict=True) if k]
        swapped += [s for s, k in zip(swap, keep, strict=True) if k]
        taken = set(pick.tolist())
        pool = [p for i, p in enumerate(pool) if i not in taken]
    return curve


t = time.perf_counter()
curves = {s: [refine(s, cfg.seed + rep) for rep in range(M.refine_repeats)] for s in ("uncertain", "random")}
timings["refine_s"] = time.perf_counter() - t
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
mean_curve = {}
for s, label in (("uncertain", "active (least sure)"), ("random", "random")):
    n_lab = [c[0] for c in curves[s][0]]
    res = np.array([[c[1:] for c in run] for run in curves[s]])  # (repeats, rounds + 1, 2)
    mean_curve[s] = res.mean(0)
    for j, ax in enumerate(axes):
        ax.errorbar(n_lab, res[:, :, j].mean(0), yerr=res[:, :, j].std(0), marker="o", capsize=3, label=label)
axes[0].axhline(ceiling["test"], color="grey", ls=":", label="Bayes ceiling")
axes[0].set(xlabel="pairs sent to annotators", ylabel="test accuracy", title="iterative refinement: test accuracy")
axes[1].set(xlabel="pairs sent to annotators", ylabel="agreement with gold", title="... and noise-free gold agreement")
axes[0].legend()
fig.tight_layout()
report.save_plot(fig, "03b_refinement")
plt.show()
refine_gain = {s: (mean_curve[s][-1] - mean_curve[s][0]).tolist() for s in mean_curve}  # [accuracy, gold]
active_vs_random = (mean_curve["uncertain"][-1] - mean_curve["random"][-1]).tolist()
print(f"start: accuracy {mean_curve['random'][0][0]:.3f}, gold {mean_curve['random'][0][1]:.3f}")
for s in ("uncertain", "random"):
    print(f"{s:9s} after {M.refine_rounds} rounds of {M.refine_batch}: accuracy {mean_curve[s][-1][0]:.3f} "
          f"({refine_gain[s][0]:+.3f}), gold agreement {mean_curve[s][-1][1]:.3f} ({refine_gain[s][1]:+.3f})")
print(f"active - random: accuracy {active_vs_random[0]:+.3f}, gold agreement {active_vs_random[1]:+.3f} "
      f"(mean of {M.refine_repeats} seeds)")

# %% [markdown]
# ## 5. The figures of this appendix

# %%
timings["total_s"] = time.perf_counter() - T0
figures = {
    "shift_heldout_category_accuracy": round(shift_out, 4), "shift_seen_category_accuracy": round(shift_in, 4),
    "shift_rephrased_accuracy": round(phrasing["rephrased"], 4), "shift_original_accuracy": round(phrasing["original"], 4),
    "shift_rephrased_flips": round(phrasing["flips"], 4),
    "length_bias_prefers_padded": round(len_probe["prefers_longer"], 4),
    "length_bias_ci": f"[{len_probe['lo']:.3f}, {len_probe['hi']:.3f}]", "length_bias_pairs": len_probe["n"],
    "order_symmetry_rm_max_asymmetry": pointwise_sym["max_asymmetry"],
    "order_symmetry_rm_consistency": pointwise_sym["consistency"],
    "order_symmetry_judge_consistency": round(judge_sym["consistency"], 4),
    "order_symmetry_judge_first_wins": round(judge_sym["first_wins"], 4),
    "paraphrase_flip_rate": round(para["flip_rate"], 4), "paraphrase_relative_shift": round(para["relative_shift"], 4),
    "pairwise_no_swap_first_wins": round(swap_rows[False]["first_wins"], 4),
    "pairwise_swap_first_wins": round(swap_rows[True]["first_wins"], 4),
    "refine_active_gain_accuracy": round(refine_gain["uncertain"][0], 4),
    "refine_random_gain_accuracy": round(refine_gain["random"][0], 4),
    "refine_active_minus_random_accuracy": round(active_vs_random[0], 4),
    "refine_active_gain_gold": round(refine_gain["uncertain"][1], 4),
    "refine_random_gain_gold": round(refine_gain["random"][1], 4),
    "refine_active_minus_random_gold": round(active_vs_random[1], 4),
    **{f"chapter_{k}": round(v, 1) for k, v in timings.items()},
}
report.record("03b", **figures)
for k, v in figures.items():
    print(f"{k:36s} {v}")
print()
print(report.vs_reference("03b", figures, keys=report.KEY_FIGURES["03b"]))

# %% [markdown]
# ## Summary
#
# * A test split of the same kinds of prompt overstates how a reward model does on new kinds: hold out a category,
#   or rephrase the prompts, and compare (§1).
# * Probe before you optimise: position, length and paraphrase biases are what a policy will find and exploit in
#   chapter 4. A pointwise RM is order-symmetric by construction; a pairwise judge is not (§2).
# * Swapping the two answers is a real augmentation only for a model that reads both; without it such a model can
#   learn "the first answer wins" (§3).
# * Labels are the expensive part: spend new ones where the model is unsure, retrain, re-evaluate, and compare with
#   random labelling over several seeds before trusting the gain (§4).
#
# Back to the course: chapter 4 optimises a policy against this reward model.
