# %% [markdown]
# # Chapter 5.2 — RLHF for image generation: pixel art people find appealing
#
# ![Notebook 5.2: the whole loop for images](../docs/img/pipeline_loop.svg)
#
# **What you will learn**
#
# * that the same RLHF loop works on a generator that is not a language model: pixel-art sprites as tokens;
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
# | a pre-trained generator | a tiny Llama over 9 tokens (6 colours + EOS, PAD, BOS), trained on procedural sprites | `seqrl.pretrained_generator`, `sprites.procedural` |
# | human feedback | a panel of simulated raters compares pairs of generated sprites | `annotate.make_panel` (chapter 1's annotators), `seqrl.label_pairs` |
# | reward model | a small transformer over the 64 pixels, Bradley–Terry loss | `seqrl.SeqRewardModel`, `reward.bradley_terry_loss` |
# | fine-tuning | PPO with a KL penalty against the frozen pre-trained generator | chapter 4's `ppo.train`, `ppo.ActorCritic` |
# | validation | the hidden gold appeal judges tuned vs pre-trained sprites: win rate with its 95% bootstrap CI, KL spent | `seqrl.compare`, `metrics.bootstrap_ci` |

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

from rlhf_lib import annotate, config, judge, plots, report
from rlhf_lib.apps import seqrl, sprites

T0 = time.perf_counter()
cfg = config.load()
config.seed_everything(cfg.seed)
A = cfg.apps
print(f"profile {cfg.profile}:", {k: v for k, v in vars(A).items() if k.startswith(("img_", "seq_"))})

# %% [markdown]
# ## 1. Sprites as tokens, and what raters find appealing
#
# A sprite is an 8x8 grid of palette colours (colour 0 is the background), read row by row: 64 pixel tokens,
# framed as `BOS p1 … p64 EOS`. `sprites.to_tokens` / `sprites.to_grid` convert; `sprites.render` draws.
#
# The raters' **gold appeal** is a weighted sum of named components, each in $[-1, 1]$ (`sprites.gold_components`):
#
# - **symmetry** — left-right mirror symmetry, as in most designed sprites (faces, creatures, ships);
# - **coverage** — a figure that fills between a fifth and three fifths of the canvas: not blank, not a slab of
#   colour;
# - **connected** — one figure: the largest 4-connected blob holds the foreground, no stray speckles;
# - **colours** — two or three foreground colours: one is flat, five a mess;
# - **well formed** — exactly 64 pixel tokens (a generator can stop early or run on).
#
# Nobody in the RLHF loop sees this function: the raters use it with their own weights and noise, and the notebook
# uses it only to judge the result, as if asking people again at the end.

# %%
rng = np.random.default_rng(cfg.seed)
hand = {kind: sprites.to_tokens(sprites.sample_grid(rng, kind)) for kind in sprites.KINDS}
fig = sprites.grid_figure(list(hand.values()), ncols=len(hand), scale=1.8,
                          scores=[sprites.gold_utility(s) for s in hand.values()])
plt.show()
for kind, s in hand.items():
    print(f"{kind:17s} gold {sprites.gold_utility(s):+.2f}",
          {k: round(v, 2) for k, v in sprites.gold_components(s).items()})

# %% [markdown]
# ## 2. Pre-training data, and the pre-trained generator
#
# `sprites.procedural` mixes five kinds — symmetric figures, lopsided figures, noise, near-blank canvases and busy
# stripes — and sprinkles pixel noise over them: the "internet data" of this tiny world, of mixed quality, so the
# pre-trained generator learns good and bad habits as a real one does. The generator is a 2-layer Llama
# (`seqrl.tiny_llama`) trained by next-token prediction (`seqrl.pretrain`) and saved under `artifacts/`.

# %%
data_seqs, kinds = sprites.procedural(A.img_sprites, seed=cfg.seed)
data_gold = np.array([sprites.gold_utility(s) for s in data_seqs])
for kind in sprites.KINDS:
    sel = np.array(kinds) == kind
    print(f"{kind:17s} {sel.mean():4.0%} of the data, mean gold {data_gold[sel].mean():+.2f}")
t = time.perf_counter()
base_model, losses = seqrl.pretrained_generator(
    config.artifacts_dir() / "apps_sprite_generator", [[seqrl.BOS, *s, seqrl.EOS] for s in data_seqs],
    sprites.VOCAB_SIZE, A.img_hidden, A.img_layers, A.img_pretrain_epochs, max_len=80, seed=cfg.seed)
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
# frozen copy: `ppo.ActorCritic(policy, ref_policy=copy)`. Every episode's "prompt" is the single token BOS.

# %%
ac = seqrl.actor_critic(base_model)
pool, _ = seqrl.generate(ac, A.img_pool, sprites.MAX_NEW_TOKENS, seed=1, reference=True)
pool_gold = np.array([sprites.gold_utility(s) for s in pool])
print(f"pre-trained generator: mean gold {pool_gold.mean():+.2f} (training data {data_gold.mean():+.2f}); "
      f"{np.mean([len(s) == sprites.N_PIXELS for s in pool]):.0%} of samples have exactly 64 pixels")
fig = sprites.grid_figure(pool[:16], ncols=8, title="Samples of the pre-trained generator (gold appeal)",
                          scores=pool_gold[:16])
plt.show()

# %% [markdown]
# ## 3. Human feedback: a panel of raters compares pairs
#
# Each simulated rater is chapter 1's `annotate.Annotator`: their own weights over the gold components
# (log-normal around the gold weights — tastes differ) and Bradley–Terry noise: for sprites $A$, $B$ they compute
# $d = (u(A) - u(B))/T + \varepsilon$, $\varepsilon \sim \mathrm{Logistic}(0,1)$, answer "tie" when $|d|$ is small and
# otherwise the sign. With $T = 1.4$ (`sprites.RATER_TEMPERATURE`) two raters agree about as often as human labellers do (65–77%;
# InstructGPT 72.6%), like chapter 1's annotators. Every pair is judged by the whole panel.

# %%
panel = annotate.make_panel(A.seq_panel, seed=cfg.seed, temperature=sprites.RATER_TEMPERATURE,
                           weights={sprites.DOMAIN: sprites.GOLD_WEIGHTS})
pairs = seqrl.label_pairs(panel, sprites.DOMAIN, pool, A.img_pairs, sprites.gold_components, sprites.gold_utility,
                          seed=cfg.seed)
stats = seqrl.panel_stats(pairs)
print(f"{len(pairs)} pairs x {len(panel)} raters: pairwise agreement {stats['agreement']:.1%} "
      f"(human range 65-77%), ties {stats['ties']:.1%}, votes agreeing with the gold {stats['votes_agree_with_gold']:.1%}, "
      f"Fleiss' kappa {stats['fleiss_kappa']:.2f}")
train_pairs, val_pairs = pairs.split(int(0.85 * len(pairs)))
i = int(np.argmax(pairs.weight))
fig = sprites.grid_figure([pairs.a[i], pairs.b[i]], ncols=2, scale=1.8,
                          title=f"One comparison: votes {list(pairs.labels[i])}")
plt.show()

# %% [markdown]
# ## 4. The reward model: Bradley–Terry on the panel's votes
#
# `seqrl.SeqRewardModel` reads all 64 pixels at once (a 2-layer bidirectional transformer with a learned embedding
# per position, mean-pooled, one scalar out). Symmetry is a relation between pixel $j$ and its mirror, which
# attention can learn to look up. It is trained with chapter 2's `reward.bradley_terry_loss` on **soft labels**
# (the share of non-tie votes for $A$, weighted by their number): the Bradley–Terry loss summed over every vote,
# $\mathcal{L} = -\sum_{\text{votes}} \log \sigma\big(r(\text{preferred}) - r(\text{other})\big)$.

# %%
t = time.perf_counter()
rm = seqrl.SeqRewardModel(sprites.VOCAB_SIZE, max_len=sprites.MAX_NEW_TOKENS + 2, dim=A.img_rm_dim, seed=cfg.seed)
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
# reward model's score normalised on the pre-trained generator's samples and a fixed β. A callback records the
# mean gold appeal of every rollout batch: the proxy and the truth, side by side.

# %%
reward_fn, rm_mean, rm_std = seqrl.reward_fn(rm, pool)
ppo_cfg = seqrl.ppo_config(A, "img_", sprites.MAX_NEW_TOKENS, seed=cfg.seed)
t = time.perf_counter()
history, gold_log = seqrl.train_ppo(ac, reward_fn, ppo_cfg, sprites.gold_utility)
ppo_s = time.perf_counter() - t
print(f"{ppo_cfg.steps} PPO steps x {ppo_cfg.batch_size} sprites in {ppo_s:.0f} s")

# %%
fig = plots.proxy_gold_curves(history, gold_log, unit="sprite", gold_label="gold appeal")
report.save_plot(fig, "05_images_ppo")
plt.show()

# %% [markdown]
# ## 6. Do raters find the tuned generator's sprites more appealing?
#
# Fresh samples from the tuned policy and from the frozen pre-trained generator, compared one to one by the gold
# appeal (ties split): the **win rate**, with its 95% bootstrap CI. There are no prompts here, every pair is two
# independent samples, so the bootstrap resamples pairs (chapter 3); a CI that includes one half is no win. The KL
# is $\sum_t \log\pi_\theta(y_t) - \log\pi_{\mathrm{ref}}(y_t)$ over the tuned policy's own samples, in nats per
# sprite. The mean of each gold component shows *what* changed.

# %%
ev = seqrl.compare(ac, sprites.gold_utility, A.seq_eval_samples, sprites.MAX_NEW_TOKENS, seed=100, rm=rm)
print(f"gold win rate of the tuned generator over the pre-trained one: {judge.ci_text(ev['win'])} "
      f"({A.seq_eval_samples} sprites each, ties split; 95% bootstrap CI over the pairs)")
print(f"KL(tuned ‖ pre-trained): {ev['kl']:.2f} nats per sprite")
print(f"mean gold: pre-trained {ev['gold_base']:+.2f} -> tuned {ev['gold_tuned']:+.2f};  "
      f"reward model: {ev['rm_base']:+.2f} -> {ev['rm_tuned']:+.2f}")
fig = plots.component_bars(sprites.gold_components, list(sprites.GOLD_WEIGHTS),
                           {"pre-trained": ev["base"], "tuned (PPO)": ev["tuned"]})
report.save_plot(fig, "05_images_components")
plt.show()

# %% [markdown]
# ### Before and after
#
# The same number of fresh samples from each generator, with their gold appeal.

# %%
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
    images_gold_base=round(ev["gold_base"], 3), images_gold_tuned=round(ev["gold_tuned"], 3),
    images_panel_agreement=round(stats["agreement"], 3), images_rm_acc_gold=round(rm_acc["acc_gold"], 3),
    images_rm_acc_panel=round(rm_acc["acc_panel"], 3), images_seconds=round(total),
)
print(f"notebook ran in {total:.0f} s (pre-training {pretrain_s:.0f}, reward model {rm_s:.0f}, PPO {ppo_s:.0f})")
{k: v for k, v in figures.items() if k.startswith("images")}

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
# * The hidden gold appeal judges the result: the win rate with its interval, and the KL spent to get it.
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
