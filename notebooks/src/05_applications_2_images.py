# %% [markdown]
# # Chapter 5.2 — RLHF for image generation: pixel art that is appealing and follows its prompt
#
# ![Notebook 5.2: the whole loop for images](../docs/img/pipeline_loop.svg)
#
# **What you will learn**
#
# * that the same RLHF loop works on a generator that is not a language model: pixel-art sprites as tokens, each
#   made for a short prompt ("a red cross", "a symmetric blue figure");
# * how feedback on **visual appeal and relevance** enters one gold judgement, and how to report relevance per
#   prompt word;
# * how a panel of simulated raters, a Bradley–Terry reward model and PPO with a KL penalty fit together end to end on
#   a CPU;
# * how to judge the result with a hidden gold appeal: the win rate with its interval, and the KL it cost;
# * mode collapse: what a reward model that scores each image alone does to the variety of a generator.
#
# **What you need**
#
# * **Earlier chapters:** the ideas of chapters 1, 2 and 4 (panel, Bradley–Terry, PPO); no artifacts.
# * **Background:** none beyond those chapters.
#
# **Run time.** The next cell prints how long this notebook took in each profile when it was last measured (the
# committed notebook benchmark and reference run); your machine will differ.

# %%
from rlhf_lib import report

print(report.run_times("05_applications_2"))

# %% [markdown]
# The course text: *"In AI image generation, RLHF uses human feedback on the visual appeal and relevance of
# generated images to improve their quality and artistry. The feedback trains a reward model that predicts the
# appeal of new images; the generator fine-tuned by reinforcement learning creates images that are both
# beautiful and fitting."*
#
# Real text-to-image RLHF (ImageReward, DDPO, DPOK) fine-tunes diffusion models with rewards learned from
# people's image ratings. Here the same loop runs on a generator small enough for a CPU: **8x8 pixel-art sprites
# written as token sequences**, one token per pixel, produced by a tiny Llama — so that chapter 4's PPO code
# drives it unchanged.
#
# | step | here | library |
# |---|---|---|
# | a pre-trained generator | a tiny Llama over 16 tokens (6 colours, 7 prompt words, EOS, PAD, BOS), trained on procedural sprites that follow their prompt only half of the time | `seqrl.pretrained_generator`, `sprites.procedural` |
# | human feedback | a panel of simulated raters compares pairs of sprites made for the same prompt | `annotate.make_panel` (chapter 1's annotators), `seqrl.label_pairs` |
# | reward model | a small transformer over the prompt and the 64 pixels, Bradley–Terry loss | `seqrl.SeqRewardModel`, `reward.bradley_terry_loss` |
# | fine-tuning | PPO with a KL penalty against the frozen pre-trained generator, on every prompt | chapter 4's `ppo.train`, `ppo.ActorCritic` |
# | validation | the hidden gold judges tuned vs pre-trained sprites on the same prompts: win rate with its 95% bootstrap CI by prompt, relevance per prompt word, KL spent | `seqrl.compare`, `metrics.bootstrap_ci` |

# %%
import copy
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from rlhf_lib import annotate, config, judge, metrics, plots, report
from rlhf_lib.apps import seqrl, sprites

T0 = time.perf_counter()
cfg = config.load()
config.seed_everything(cfg.seed)
A = cfg.apps
print(f"profile {cfg.profile}:", {k: v for k, v in vars(A).items() if k.startswith(("img_", "seq_"))})

# %% [markdown]
# ## 1. Prompts and sprites as tokens, and what raters find appealing and relevant
#
# A sprite is an 8x8 grid of palette colours (colour 0 is the background), read row by row: 64 pixel tokens.
# It is made for a **prompt** of two word tokens, a colour and a shape, from ten: five colours (yellow, red,
# blue, green, white) times two shapes (`cross`: a plus sign; `figure`: any symmetric figure). A training
# sequence is `BOS colour shape p1 … p64 EOS`; the generator is given `BOS colour shape` and draws the pixels.
# `sprites.prompt_tokens`, `sprites.to_tokens` / `sprites.to_grid` convert; `sprites.render` draws.
#
# The raters' **gold** is a weighted sum of named components, each in $[-1, 1]$ (`sprites.gold_components`).
# Appeal:
#
# - **symmetry** — left-right mirror symmetry, as in most designed sprites (faces, creatures, ships);
# - **coverage** — a figure that fills between a fifth and three fifths of the canvas: not blank, not a slab of
#   colour;
# - **connected** — one figure: the largest 4-connected blob holds the foreground, no stray speckles;
# - **colours** — two or three foreground colours: one is flat, five a mess;
# - **well formed** — exactly 64 pixel tokens (a generator can stop early or run on).
#
# Relevance to the prompt:
#
# - **hue** — the prompt's colour is the figure's: its share of the foreground pixels (full marks from three fifths);
# - **shape** — for `cross`, the overlap of the figure with a centred plus sign (intersection over union); for
#   `figure`, its symmetry.
#
# Nobody in the RLHF loop sees this function: the raters use it with their own weights and noise, and the notebook
# uses it only to judge the result, as if asking people again at the end.

# %%
rng = np.random.default_rng(cfg.seed)
red_cross = sprites.prompt_tokens("red", "cross")
hand = {kind: red_cross + sprites.to_tokens(sprites.sample_grid(rng, kind)) for kind in sprites.KINDS}
hand["follows prompt"] = red_cross + sprites.to_tokens(sprites.follow_prompt(rng, ("red", "cross")))
hand["a blue cross"] = red_cross + sprites.to_tokens(sprites.follow_prompt(rng, ("blue", "cross")))
fig = sprites.grid_figure(list(hand.values()), ncols=len(hand), scale=1.8, captions=list(hand),
                          scores=[sprites.gold_utility(s) for s in hand.values()],
                          title='Seven sprites for the prompt "a red cross" (caption: what it is, gold)')
plt.show()
for kind, s in hand.items():
    print(f"{kind:17s} gold {sprites.gold_utility(s):+.2f}",
          {k: round(v, 2) for k, v in sprites.gold_components(s).items()})

# %% [markdown]
# ## 2. Pre-training data, and the pre-trained generator
#
# `sprites.procedural(prompted=True)` gives each sprite a random prompt. Half of them do what it asks (kind
# "follows prompt"); the others are five kinds that ignore it — symmetric figures, lopsided figures, noise,
# near-blank canvases and busy stripes — and pixel noise is sprinkled over all: the "captioned images of the web"
# of this tiny world, of mixed quality and only partly matching their captions, so the pre-trained generator learns
# good and bad habits as a real one does. The generator is a 2-layer Llama (`seqrl.tiny_llama`) trained by
# next-token prediction (`seqrl.pretrain`) on `BOS colour shape pixels EOS` and saved under `artifacts/`.

# %%
data_seqs, kinds = sprites.procedural(A.img_sprites, seed=cfg.seed, prompted=True)
data_gold = np.array([sprites.gold_utility(s) for s in data_seqs])
for kind in ("follows prompt", *sprites.KINDS):
    sel = np.array(kinds) == kind
    print(f"{kind:17s} {sel.mean():4.0%} of the data, mean gold {data_gold[sel].mean():+.2f}")
t = time.perf_counter()
base_model, losses = seqrl.pretrained_generator(
    config.artifacts_dir() / "apps_sprite_generator", [[seqrl.BOS, *s, seqrl.EOS] for s in data_seqs],
    sprites.VOCAB_SIZE, A.img_hidden, A.img_layers, A.img_pretrain_epochs, max_len=80, seed=cfg.seed)
# every prompt equally often, in a fixed order: the samples below, the raters' pairs and the evaluation use them
prompt_of = [sprites.prompt_tokens(*sprites.PROMPTS[i % len(sprites.PROMPTS)]) for i in range(max(A.img_pool, A.seq_eval_samples))]
pretrain_s = time.perf_counter() - t
print(f"generator: {sum(p.numel() for p in base_model.parameters()):,} parameters, "
      f"{'pre-trained' if losses else 'loaded'} in {pretrain_s:.0f} s")
if losses:
    fig, ax = plt.subplots(figsize=(5, 2.5))
    ax.plot(losses)
    ax.set(xlabel="step", ylabel="next-token loss (nats)", title="Pre-training the sprite generator")
    plt.show()

# %% [markdown]
# The policy of PPO is this generator, fully fine-tuned (it is tiny), and the reference $\pi_{\mathrm{ref}}$ a
# frozen copy: `ppo.ActorCritic(policy, ref_policy=copy)`. Every episode's prompt is `BOS colour shape`; a
# sample is kept with its prompt in front (`seqrl.generate(prompts=...)`), which is what the gold, the raters and
# the reward model judge.
#
# The raters are shown a **pool** of the generator's sprites. Half are drawn at the generator's own temperature
# ($T = 1$) and half hotter (`apps.img_pool_temperature`): a hotter sample stops early, runs on or scatters pixels
# more often. PPO will push the policy somewhere the pre-trained generator rarely goes, and a reward model that has
# never seen a sprite run on past 64 pixels cannot know it is bad. Showing the raters a wider spread of the
# generator's failures is the cheap version of collecting comparisons from several policies, as InstructGPT did.

# %%
ac = seqrl.actor_critic(base_model)
half = A.img_pool // 2
pool_cool, _ = seqrl.generate(ac, half, sprites.MAX_NEW_TOKENS, seed=1, reference=True, prompts=prompt_of[:half])
pool_hot, _ = seqrl.generate(ac, A.img_pool - half, sprites.MAX_NEW_TOKENS, seed=2, reference=True,
                             prompts=prompt_of[:A.img_pool - half], temperature=A.img_pool_temperature)
pool = pool_cool + pool_hot
pool_gold = np.array([sprites.gold_utility(s) for s in pool_cool])  # the generator's own samples: also the normaliser
for name, part, golds in (("T = 1", pool_cool, pool_gold),
                          (f"T = {A.img_pool_temperature}", pool_hot, [sprites.gold_utility(s) for s in pool_hot])):
    print(f"pool at {name}: {len(part)} sprites, {np.mean([len(sprites.split_prompt(s)[1]) == sprites.N_PIXELS for s in part]):.0%} "
          f"with exactly 64 pixels, mean gold {np.mean(golds):+.2f}")
pool_comp = [sprites.gold_components(s) for s in pool_cool]
print(f"pre-trained generator at T = 1: mean gold {pool_gold.mean():+.2f} (training data {data_gold.mean():+.2f}); "
      f"mean hue {np.mean([c['hue'] for c in pool_comp]):+.2f}, shape {np.mean([c['shape'] for c in pool_comp]):+.2f}")
fig = sprites.grid_figure(pool_cool[:20], ncols=10, scores=pool_gold[:20],
                          title="Samples of the pre-trained generator at T = 1 (caption: prompt, gold)",
                          captions=[sprites.prompt_text(sprites.split_prompt(s)[0]).removeprefix("a ") for s in pool_cool[:20]])
plt.show()

# %% [markdown]
# ## 3. Human feedback: a panel of raters compares pairs
#
# Each simulated rater is chapter 1's `annotate.Annotator`: their own weights over the gold components
# (log-normal around the gold weights — tastes differ) and Bradley–Terry noise: for sprites $A$, $B$ they compute
# $d = (u(A) - u(B))/T + \varepsilon$, $\varepsilon \sim \mathrm{Logistic}(0,1)$, answer "tie" when $|d|$ is small and
# otherwise the sign. With $T$ = `sprites.RATER_TEMPERATURE` two raters agree about as often as human labellers do (65–77%;
# InstructGPT 72.6%), like chapter 1's annotators. Every pair is judged by the whole panel, and both sprites of a
# pair were made for the **same prompt** (`groups=`), as a person compares two images for one request.

# %%
panel = annotate.make_panel(A.seq_panel, seed=cfg.seed, temperature=sprites.RATER_TEMPERATURE,
                           weights={sprites.DOMAIN: sprites.GOLD_WEIGHTS})
pairs = seqrl.label_pairs(panel, sprites.DOMAIN, pool, A.img_pairs, sprites.gold_components, sprites.gold_utility,
                          seed=cfg.seed, groups=[tuple(s[:2]) for s in pool])
stats = seqrl.panel_stats(pairs)
print(f"{len(pairs)} pairs x {len(panel)} raters: pairwise agreement {stats['agreement']:.1%} "
      f"(human range 65-77%), ties {stats['ties']:.1%}, votes agreeing with the gold {stats['votes_agree_with_gold']:.1%}, "
      f"Fleiss' kappa {stats['fleiss_kappa']:.2f}")
train_pairs, val_pairs = pairs.split(int(0.85 * len(pairs)))
i = int(np.argmax(pairs.weight))
side_a, side_b = pairs.sides()
fig = sprites.grid_figure([side_a[i], side_b[i]], ncols=2, scale=1.8,
                          title=f"One comparison: votes {list(pairs.labels[i])}")
plt.show()

# %% [markdown]
# ## 4. The reward model: Bradley–Terry on the panel's votes
#
# `seqrl.SeqRewardModel` reads the two prompt words and all 64 pixels at once (a 2-layer bidirectional
# transformer with a learned embedding per position, mean-pooled, one scalar out). Symmetry is a relation between
# pixel $j$ and its mirror, and relevance one between the prompt words and the pixels, which attention can learn to
# look up. It is trained with chapter 2's `reward.bradley_terry_loss` on **soft labels**
# (the share of non-tie votes for $A$, weighted by their number): the Bradley–Terry loss summed over every vote,
# $\mathcal{L} = -\sum_{\text{votes}} \log \sigma\big(r(\text{preferred}) - r(\text{other})\big)$.

# %%
t = time.perf_counter()
rm = seqrl.SeqRewardModel(sprites.VOCAB_SIZE, max_len=sprites.MAX_NEW_TOKENS + 4, dim=A.img_rm_dim, seed=cfg.seed)
rm_log = seqrl.train_reward_model(rm, train_pairs, val_pairs, epochs=A.img_rm_epochs, lr=3e-3, seed=cfg.seed)
rm_s = time.perf_counter() - t
fig, ax = plt.subplots(figsize=(5, 2.8))
ax.plot([h["epoch"] for h in rm_log], [h["acc_panel"] for h in rm_log], "o-", label="vs panel majority")
ax.plot([h["epoch"] for h in rm_log], [h["acc_gold"] for h in rm_log], "o-", label="vs gold")
ax.set(xlabel="epoch", ylabel="held-out pair accuracy", title="Sprite reward model")
ax.legend()
plt.show()
rm_acc = rm_log[-1]
print(f"reward model trained in {rm_s:.0f} s; held-out accuracy: panel {rm_acc['acc_panel']:.1%}, gold {rm_acc['acc_gold']:.1%}")

# %% [markdown]
# ## 5. PPO with a KL penalty
#
# Chapter 4's objective, $\max_\theta \mathbb{E}[r_\phi(y)] - \beta\,\mathrm{KL}(\pi_\theta\|\pi_{\mathrm{ref}})$, with the
# reward model's score normalised on the pre-trained generator's samples and a fixed β. Each episode draws one of
# the ten prompts; the reward model scores the sprite with its prompt. A callback records the mean gold of every
# rollout batch: the proxy and the truth, side by side.
#
# Two settings are the images' own (`seqrl.ppo_config` reads them from the `apps.img_*` rows). A sprite that has not
# ended after 64 pixels and one more token is truncated, and gets a fixed low score instead of the reward model's
# (`missing_eos_penalty`, chapter 4's rule for answers that never finish). The learning rate is lower than the
# melodies': section 6's control shows why.

# %%
reward_fn, rm_mean, rm_std = seqrl.reward_fn(rm, pool_cool)
ppo_cfg = seqrl.ppo_config(A, "img_", sprites.MAX_NEW_TOKENS, seed=cfg.seed)
print(f"PPO: lr {ppo_cfg.lr}, beta {ppo_cfg.beta}, missing-EOS score {ppo_cfg.missing_eos_penalty}")
t = time.perf_counter()
train_prompts = [sprites.prompt_tokens(*p) for p in sprites.PROMPTS]  # every episode draws one of the ten
history, gold_log = seqrl.train_ppo(ac, reward_fn, ppo_cfg, sprites.gold_utility, prompts=train_prompts)
ppo_s = time.perf_counter() - t
print(f"{ppo_cfg.steps} PPO steps x {ppo_cfg.batch_size} sprites in {ppo_s:.0f} s")

# %%
fig = plots.proxy_gold_curves(history, gold_log, unit="sprite", gold_label="gold appeal")
report.save_plot(fig, "05_images_ppo")
plt.show()

# %% [markdown]
# ## 6. Do raters find the tuned generator's sprites more appealing, and more relevant?
#
# Fresh samples from the tuned policy and from the frozen pre-trained generator for the **same prompts** (every
# prompt equally often), compared one to one by the gold (ties split): the **win rate**, with its 95% bootstrap
# CI. The two sprites of a pair answer the same prompt and the prompts are few, so the bootstrap resamples prompts
# (chapter 3's bootstrap by prompt); a CI that includes one half is no win. The KL is
# $\sum_t \log\pi_\theta(y_t) - \log\pi_{\mathrm{ref}}(y_t)$ over the tuned policy's own samples, in nats per
# sprite. The mean of each gold component shows *what* changed.

# %%
eval_prompts = prompt_of[:A.seq_eval_samples]
ev = seqrl.compare(ac, sprites.gold_utility, A.seq_eval_samples, sprites.MAX_NEW_TOKENS, seed=100, rm=rm,
                   prompts=eval_prompts, n_boot=cfg.metrics.n_boot)
print(f"gold win rate of the tuned generator over the pre-trained one: {judge.ci_text(ev['win'])} "
      f"({A.seq_eval_samples} sprites each for {len(sprites.PROMPTS)} prompts, ties split; 95% CI by prompt)")
print(f"KL(tuned ‖ pre-trained): {ev['kl']:.2f} nats per sprite")
print(f"mean gold: pre-trained {ev['gold_base']:+.2f} -> tuned {ev['gold_tuned']:+.2f};  "
      f"reward model: {ev['rm_base']:+.2f} -> {ev['rm_tuned']:+.2f}")
fig = plots.component_bars(sprites.gold_components, list(sprites.GOLD_WEIGHTS),
                           {"pre-trained": ev["base"], "tuned (PPO)": ev["tuned"]})
report.save_plot(fig, "05_images_components")
plt.show()

# %% [markdown]
# ### A control: PPO on the gold itself
#
# Is a shortfall the reward model's or PPO's? Run the same PPO, from the same pre-trained generator, with the
# **gold utility as the reward** (normalised on the same samples): a perfect reward model, which no real project
# has, and so the ceiling this loop can reach in this many steps. The gap between it and the run above is what the
# reward model costs. A second gold run at the melodies' learning rate (`apps.seq_ppo_lr`) shows why the images
# use a lower one: with too large a step PPO fails even on the true reward. All three are judged on the same prompts
# with the same seeds.

# %%
def gold_reward(meta, responses):  # the oracle: the hidden gold, z-scored on the same samples as the reward model
    return [(sprites.gold_utility(list(m) + seqrl.strip_eos(r)) - pool_gold.mean()) / pool_gold.std()
            for m, r in zip(meta, responses, strict=True)]


runs = {f"reward model, lr {ppo_cfg.lr:g}": ev}
for lr in (ppo_cfg.lr, A.seq_ppo_lr):
    fresh = copy.deepcopy(ac.ref_policy).requires_grad_(True)  # the pre-trained generator (the frozen copy, thawed)
    ac_gold = seqrl.actor_critic(fresh)
    seqrl.train_ppo(ac_gold, gold_reward, seqrl.ppo_config(A, "img_", sprites.MAX_NEW_TOKENS, seed=cfg.seed, lr=lr),
                    sprites.gold_utility, prompts=train_prompts, progress=False)
    runs[f"gold as reward, lr {lr:g}"] = seqrl.compare(ac_gold, sprites.gold_utility, A.seq_eval_samples,
                                                       sprites.MAX_NEW_TOKENS, seed=100, prompts=eval_prompts,
                                                       n_boot=cfg.metrics.n_boot)
control = pd.DataFrame({name: {"win rate": judge.ci_text(r["win"]), "KL (nats)": round(r["kl"], 2),
                               "mean gold": round(r["gold_tuned"], 2),
                               "hue": round(float(np.mean([sprites.gold_components(x)["hue"] for x in r["tuned"]])), 2)}
                        for name, r in runs.items()}).T
display(control)  # noqa: F821 -- IPython's display

# %% [markdown]
# ### Per prompt word
#
# The win rate and the two relevance components for each word of the prompts: each colour word covers two prompts
# (its cross and its figure), each shape word five. Within one word the pairs are few, so the CI resamples pairs.
# Look for words where the tuned generator is more relevant but no more appealing (or the reverse), and for a word
# the reward model learned little about.

# %%
words = [sprites.split_prompt(s)[0] for s in ev["tuned"]]
rows = []
for word in sprites.WORDS:
    sel = np.array([word in w for w in words])
    win_w = metrics.bootstrap_ci(judge.win_rate, ev["gold_t"][sel], ev["gold_b"][sel], n_boot=cfg.metrics.n_boot,
                                 seed=cfg.seed)
    comp_t = [sprites.gold_components(s) for s, k in zip(ev["tuned"], sel, strict=True) if k]
    comp_b = [sprites.gold_components(s) for s, k in zip(ev["base"], sel, strict=True) if k]
    rows.append({"word": word, "sprites": int(sel.sum()), "win rate": judge.ci_text(win_w),
                 "hue before": np.mean([c["hue"] for c in comp_b]), "hue after": np.mean([c["hue"] for c in comp_t]),
                 "shape before": np.mean([c["shape"] for c in comp_b]),
                 "shape after": np.mean([c["shape"] for c in comp_t])})
by_word = pd.DataFrame(rows).set_index("word").round(2)
display(by_word)  # noqa: F821 -- IPython's display

# %% [markdown]
# ### Before and after: prompt → image
#
# Each column is one prompt; the first rows are the pre-trained generator's sprites for it, the last rows the
# tuned generator's, with their gold. Read down a column: is the tuned sprite the colour and shape it was asked for?

# %%
per_prompt, n_prompts = 2, len(sprites.PROMPTS)  # rows per generator; one column per prompt
cells = []  # (sprite, gold, prompt), row by row
for seqs, golds in ((ev["base"], ev["gold_b"]), (ev["tuned"], ev["gold_t"])):
    for r in range(per_prompt):
        for k in range(n_prompts):
            i = r * n_prompts + k  # the evaluation cycles through the prompts: sample i answers prompt i % n_prompts
            cells.append((seqs[i], golds[i], sprites.PROMPTS[k]))
fig = sprites.grid_figure([c[0] for c in cells], ncols=n_prompts, scores=[c[1] for c in cells], scale=1.3,
                          captions=[" ".join(c[2]) for c in cells],
                          title=f"Prompt -> image: the first {per_prompt} rows pre-trained, the last {per_prompt} "
                                f"tuned (caption: prompt, gold)")
report.save_plot(fig, "05_images_prompt_to_image")
plt.show()
for label, seqs, golds in (("pre-trained generator", ev["base"], ev["gold_b"]), ("tuned generator (PPO)", ev["tuned"], ev["gold_t"])):
    fig = sprites.grid_figure(seqs[:24], ncols=12, title=f"{label}: mean gold {np.mean(golds):+.2f}", scores=golds[:24])
    report.save_plot(fig, "05_images_" + label.split()[0].replace("-", ""))
    plt.show()

# %% [markdown]
# ## 7. Proxy versus gold
#
# The reward model learned from pairs of the *pre-trained* generator's sprites; PPO pushes the policy towards
# whatever it scores highly, including its mistakes, and towards sprites unlike any the raters were shown. Each
# point is one sprite: where proxy (x) and gold (y) part ways, the policy can gain reward without pleasing anyone.

# %%
rm_b, rm_t = rm.score(ev["base"]), rm.score(ev["tuned"])
fig, ax = plt.subplots(figsize=(5.5, 4))
ax.scatter(rm_b, ev["gold_b"], s=8, alpha=0.5, color="tab:gray", label="pre-trained")
ax.scatter(rm_t, ev["gold_t"], s=8, alpha=0.5, color="tab:blue", label="tuned")
ax.set(xlabel="reward-model score (proxy)", ylabel="gold appeal", title="Proxy vs gold, one point per sprite")
ax.legend()
report.save_plot(fig, "05_images_proxy_gold")
plt.show()
corr_b, corr_t = np.corrcoef(rm_b, ev["gold_b"])[0, 1], np.corrcoef(rm_t, ev["gold_t"])[0, 1]
print(f"correlation of proxy and gold: pre-trained samples {corr_b:.2f}, tuned samples {corr_t:.2f}")
top = np.argsort(-rm_t)[:12]
fig = sprites.grid_figure([ev["tuned"][i] for i in top], ncols=12, scores=[ev["gold_t"][i] for i in top],
                          title="The tuned sprites the reward model likes best (caption: gold appeal)")
plt.show()

# %%
total = time.perf_counter() - T0
figures = report.record(
    "05", images_win_rate=ev["win"], images_kl_nats=round(ev["kl"], 2),
    images_relevance_by_word={w: {"hue": [float(r["hue before"]), float(r["hue after"])],
                                  "shape": [float(r["shape before"]), float(r["shape after"])]}
                              for w, r in by_word.iterrows()},
    images_gold_base=round(ev["gold_base"], 3), images_gold_tuned=round(ev["gold_tuned"], 3),
    images_panel_agreement=round(stats["agreement"], 3), images_rm_acc_gold=round(rm_acc["acc_gold"], 3),
    images_rm_acc_panel=round(rm_acc["acc_panel"], 3),
    images_gold_reward_win_rate=runs[f"gold as reward, lr {ppo_cfg.lr:g}"]["win"],
    images_gold_reward_high_lr_win_rate=runs[f"gold as reward, lr {A.seq_ppo_lr:g}"]["win"],
    images_seconds=round(total),
)
print(f"notebook ran in {total:.0f} s (pre-training {pretrain_s:.0f}, reward model {rm_s:.0f}, PPO {ppo_s:.0f})")
print(report.vs_reference("05_applications_2", figures, prefix="images_"))

# %% [markdown]
# **What to look for.**
#
# * **Before PPO**: the pre-trained generator's mean gold appeal against the procedural data's, and the share of
#   its sprites that are well formed (exactly 64 pixels); the panel's agreement against the human range; the reward
#   model's agreement on held-out pairs with the panel majority and with the gold. A reward model that agrees with
#   the gold more often than with the panel has learned the shared taste under the raters' noise.
# * **The win rate with its CI and its KL**: first whether the CI lies above one half, then the price. A win rate far
#   above one half bought with many nats per sprite is a long move away from the pre-trained generator. Check the
#   KL before calling it a success.
# * **The gold-reward control**: how close the reward-model run comes to PPO on the gold itself. A win rate near the
#   control's says the reward model passed on what the raters want; a large gap, or a hue that rises under the gold
#   but not under the reward model, says what the reward model missed. The run at the higher learning rate is the
#   reminder that a failed run is not always the reward model's fault.
# * **Relevance per word**: hue and shape before and after for each prompt word. The pre-trained generator follows
#   its prompts about as often as its data did; a rise in *hue* for every colour word says the policy learned to
#   read the prompt, not one favourite colour. A shape word whose *shape* does not move tells you the raters' votes
#   (and so the reward model) said little about it.
# * **Proxy against gold**: the correlation on tuned samples next to the one on pre-trained samples. If it holds
#   up, the reward model has not been fooled; if it drops sharply, PPO has found its mistakes.
#
# **Read the sprites before you celebrate.** The component bars show where the gain comes from. If *connected*,
# *colours* and *symmetry* rise together while the tuned sprites all look alike — one large blob in one colour with
# a few accent pixels — raters may well prefer that to the pre-trained generator's scatter, but the variety is gone:
# watch the entropy panel of the PPO curves fall over the steps. A slab is not the symmetric creatures of the data,
# and those still beat it on gold appeal. This is **mode collapse**, the usual price of RLHF on a generator (a house
# style in RLHF-tuned image models): the reward model scores each image alone and has no reason to value a varied
# *set*. A larger β keeps more of the variety at a lower win rate; a reward that sees a batch, or feedback on the
# tuned samples (notebook 5.5), would be the next step.
#
# The last cell prints the time of each step (pre-training, reward model, PPO); with the same seed the figures
# repeat run to run on the same CPU.

# %% [markdown]
# ## Summary
#
# * RLHF does not need a language model: sprites as tokens, a rater panel, a Bradley–Terry reward model and PPO with a
#   KL penalty form the same loop.
# * Feedback on appeal and on relevance enters one gold judgement; the raters compare two images made for the same
#   prompt, and the reward model reads the prompt with the pixels.
# * The hidden gold judges the result on the same prompts for both generators: the win rate with its interval by
#   prompt, relevance per prompt word, and the KL spent to get it.
# * A control with the gold as the reward separates the reward model's share of a shortfall from PPO's; the raters
#   should see the generator's failures (a hotter half of the pool) so that the reward model can score them.
# * A reward model that scores each image alone has no reason to value a varied set; the component bars, the samples
#   and the entropy curve show what PPO did to the variety.
#
# ## What to try next
#
# * Raise the KL coefficient (`config.load(apps__img_beta=0.2)`) and compare the win rate, the KL and the variety of
#   the tuned sprites.
# * Change a weight of the gold appeal in `rlhf_lib/apps/sprites.py` and see which component the tuned generator
#   chases.
# * Give the panel more pairs (`apps__img_pairs`) and check whether the reward model's agreement with the gold rises.
# * Show the raters only the generator's own samples (`apps__img_pool_temperature=1.0`) and look at the lengths of
#   the tuned sprites: what does PPO find that the raters were never shown?
# * Train PPO on the cross prompts only and measure relevance on the figure prompts: does following a prompt
#   transfer to prompts the policy was never tuned on?
