# %% [markdown]
# # Chapter 5.3 — RLHF for music: melodies people like
#
# ![Notebook 5.3: the whole loop for music](../docs/img/pipeline_loop.svg)
#
# **What you will learn**
#
# * the whole RLHF loop on melodies: a tiny pre-trained generator, a listener panel, a reward model, PPO with a KL
#   penalty;
# * how to turn what listeners like (key, harmony, shape, resolution, variety) into a hidden gold taste that only the
#   evaluation sees;
# * how to read which components of the taste moved, and which one fell;
# * how a policy drifts to where the reward model is uninformed (the set-up of notebook 5.5);
# * personalised RLHF: two listeners with different tastes, a reward model and a tuned policy for each, and the
#   2×2 table and a head-to-head that test whether each policy pleases its own listener.
#
# **What you need**
#
# * **Earlier chapters:** the ideas of chapters 1, 2 and 4; no artifacts (this is the smallest domain of the course).
# * **Background:** none beyond those chapters; no music theory is assumed.
#
# **Run time.** The next cell prints how long this notebook took in each profile when it was last measured (the
# committed notebook benchmark and reference run); your machine will differ.

# %%
from rlhf_lib import report

print(report.run_times("05_applications_3"))

# %% [markdown]
# The course text: *"RLHF improves the creativity and appeal of AI compositions. Users' feedback on the harmony,
# melody and pleasantness of a piece trains a reward model that predicts how well a piece will be received; the
# fine-tuned music model composes music closer to human taste."*
#
# Chapters 1–4 ran that loop on language. Here it runs on **melodies**, end to end and small enough for a CPU:
#
# | step | here | library |
# |---|---|---|
# | a pre-trained generator | a tiny Llama over 29 note tokens, trained on generated melodies of mixed quality | `seqrl.pretrained_generator`, `melody.procedural` |
# | human feedback | a panel of simulated listeners compares pairs of the generator's melodies | `annotate.make_panel` (chapter 1's annotators), `seqrl.label_pairs` |
# | reward model | a small transformer trained with the Bradley–Terry loss | `seqrl.SeqRewardModel`, `reward.bradley_terry_loss` |
# | fine-tuning | PPO with a KL penalty against the frozen pre-trained generator | chapter 4's `ppo.train`, `ppo.ActorCritic` |
# | validation | the hidden gold taste judges tuned vs pre-trained melodies: win rate with its 95% bootstrap CI, KL spent | `seqrl.compare`, `metrics.bootstrap_ci` |
#
# Nothing below is specific to music except `rlhf_lib/apps/melody.py` (tokens, data, taste, piano roll, synthesis):
# the image notebook, notebook 5.2, runs the same `seqrl` code on pixel art.

# %%
import copy
import time

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Audio, display

from rlhf_lib import annotate, config, judge, metrics, plots, report
from rlhf_lib.apps import melody, seqrl

T0 = time.perf_counter()
cfg = config.load()
config.seed_everything(cfg.seed)
A = cfg.apps
SR = 16_000  # audio sample rate
print(f"profile {cfg.profile}:", {k: v for k, v in vars(A).items() if k.startswith(("mus_", "seq_"))})

# %% [markdown]
# ## 1. Melodies as tokens, and what listeners like
#
# A melody is 16 notes — four bars of four beats — each a **rest** or a **pitch** from C4 to C6, all twelve
# semitones (so a model can play wrong notes). With EOS, PAD and BOS that is a vocabulary of 29 tokens; a melody
# is `BOS n1 … n16 EOS`.
#
# The listeners' **gold taste** is a weighted sum of named components, each in $[-1, 1]$ (`melody.gold_components`):
# notes **in key** (C major), **harmony** (strong beats on the tonic chord C–E–G), melodic **shape** (mostly steps,
# few leaps, none wider than a fifth), **resolution** (ending on the tonic C), **variety** (five or more pitches,
# few repeated notes), a few **rests** but not many, and being **well formed** (exactly 16 notes). Nobody in the
# RLHF loop sees this function: the listeners use it with their own weights and noise, and the notebook uses it
# only to judge the result — like asking people again at the end.

# %%
examples = {
    "scale down to C": [72, 71, 69, 67, 65, 64, 62, 60, 62, 64, 65, 67, 65, 64, 62, 60],
    "arpeggio, resolves": [60, 64, 67, 72, 71, 67, 64, 62, 60, 64, 67, 69, 67, 65, 62, 60],
    "random chromatic": [61, 75, 66, 80, 63, 70, None, 78, 68, 61, 82, 73, 66, None, 70, 63],
    "one note": [60] * 16,
}
fig, axes = plt.subplots(1, len(examples), figsize=(14, 2.4), sharey=True)
for ax, (title, pitches) in zip(axes, examples.items(), strict=True):
    toks = melody.to_tokens(pitches)
    melody.piano_roll(ax, toks, f"{title}: gold {melody.gold_utility(toks):+.1f}")
plt.tight_layout()
plt.show()
for title, pitches in examples.items():
    comp = melody.gold_components(melody.to_tokens(pitches))
    print(f"{title:20s}", {k: round(v, 2) for k, v in comp.items()})
display(Audio(melody.synth_many([melody.to_tokens(p) for p in examples.values()]), rate=SR))

# %% [markdown]
# ## 2. Pre-training data, and the pre-trained generator
#
# `melody.procedural` draws random walks over the C major scale with a **quality** knob: low quality means more
# leaps, out-of-key notes and rests, and an ending anywhere instead of on C. That is the "internet data" of this
# tiny world — mixed quality, so the pre-trained generator has good and bad habits, as a real one does.
# The generator is a 2-layer Llama (`seqrl.tiny_llama`) trained by next-token prediction (`seqrl.pretrain`);
# it is saved under `artifacts/` and reused by notebook 5.5.

# %%
data_seqs, quality = melody.procedural(A.mus_melodies, seed=cfg.seed)
data_gold = np.array([melody.gold_utility(s) for s in data_seqs])
print(f"{len(data_seqs)} melodies; correlation of quality knob and gold taste: {np.corrcoef(quality, data_gold)[0, 1]:.2f}")
t = time.perf_counter()
base_model, losses = seqrl.pretrained_generator(
    config.artifacts_dir() / "apps_music_generator", [[seqrl.BOS, *s, seqrl.EOS] for s in data_seqs],
    melody.VOCAB_SIZE, A.mus_hidden, A.mus_layers, A.mus_pretrain_epochs, max_len=32, seed=cfg.seed)
pretrain_s = time.perf_counter() - t
print(f"generator: {sum(p.numel() for p in base_model.parameters()):,} parameters, "
      f"{'pre-trained' if losses else 'loaded'} in {pretrain_s:.0f} s")
if losses:
    fig, ax = plt.subplots(figsize=(5, 2.5))
    ax.plot(losses)
    ax.set(xlabel="step", ylabel="next-token loss (nats)", title="Pre-training the melody generator")
    plt.show()

# %% [markdown]
# The policy of PPO is this generator, fully fine-tuned (it is tiny), and the reference $\pi_{\mathrm{ref}}$ a
# frozen copy of it: `ppo.ActorCritic(policy, ref_policy=copy)` — the same class chapter 4 used with LoRA.
# Every episode's "prompt" is the single token BOS: generation is unconditional.

# %%
ac = seqrl.actor_critic(base_model)
pool, _ = seqrl.generate(ac, A.mus_pool, melody.MAX_NEW_TOKENS, seed=1, reference=True)
pool_gold = np.array([melody.gold_utility(s) for s in pool])
print(f"pre-trained generator: mean gold {pool_gold.mean():+.2f} (training data {data_gold.mean():+.2f}); "
      f"{np.mean([len(s) == melody.LENGTH for s in pool]):.0%} of samples are exactly 16 notes")
fig, axes = plt.subplots(1, 4, figsize=(14, 2.4), sharey=True)
for ax, s in zip(axes, pool[:4], strict=True):
    melody.piano_roll(ax, s, f"gold {melody.gold_utility(s):+.1f}")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 3. Human feedback: a panel of listeners compares pairs
#
# Each simulated listener is chapter 1's `annotate.Annotator`: their own weights over the gold components
# (log-normal around the gold weights — people differ) and Bradley–Terry noise: for melodies $A$, $B$ they compute
# $d = (u(A) - u(B))/T + \varepsilon$, $\varepsilon \sim \mathrm{Logistic}(0,1)$, answer "tie" when $|d|$ is small and
# otherwise the sign. The temperature $T = 1$ (`melody.RATER_TEMPERATURE`) puts two listeners' agreement in the range reported for human
# labellers (65–77%; InstructGPT 72.6%), like chapter 1's annotators. Every pair is judged by the whole panel;
# the reward model learns from every vote.

# %%
panel = annotate.make_panel(A.seq_panel, seed=cfg.seed, temperature=melody.RATER_TEMPERATURE,
                           weights={melody.DOMAIN: melody.GOLD_WEIGHTS})
pairs = seqrl.label_pairs(panel, melody.DOMAIN, pool, A.mus_pairs, melody.gold_components, melody.gold_utility,
                          seed=cfg.seed)
stats = seqrl.panel_stats(pairs)
print(f"{len(pairs)} pairs x {len(panel)} listeners: pairwise agreement {stats['agreement']:.1%} "
      f"(human range 65-77%), ties {stats['ties']:.1%}, votes agreeing with the gold {stats['votes_agree_with_gold']:.1%}, "
      f"Fleiss' kappa {stats['fleiss_kappa']:.2f}")
train_pairs, val_pairs = pairs.split(int(0.85 * len(pairs)))

# %% [markdown]
# ## 4. The reward model: Bradley–Terry on the panel's votes
#
# `seqrl.SeqRewardModel` reads the whole melody at once (a 2-layer bidirectional transformer, mean-pooled, one
# scalar out). It is trained with chapter 2's loss, `reward.bradley_terry_loss`, on **soft labels**: the target
# of a pair is the share of non-tie votes for $A$, weighted by the number of such votes, which equals the
# Bradley–Terry loss summed over every single vote:
# $$\mathcal{L} = -\sum_{\text{votes}} \log \sigma\big(r(\text{preferred}) - r(\text{other})\big).$$
# We report its accuracy on held-out pairs against the panel majority and against the hidden gold.

# %%
t = time.perf_counter()
rm = seqrl.SeqRewardModel(melody.VOCAB_SIZE, max_len=melody.MAX_NEW_TOKENS + 2, dim=A.mus_rm_dim, seed=cfg.seed)
rm_log = seqrl.train_reward_model(rm, train_pairs, val_pairs, epochs=A.mus_rm_epochs, lr=3e-3, seed=cfg.seed)
rm_s = time.perf_counter() - t
fig, ax = plt.subplots(figsize=(5, 2.8))
ax.plot([h["epoch"] for h in rm_log], [h["acc_panel"] for h in rm_log], "o-", label="vs panel majority")
ax.plot([h["epoch"] for h in rm_log], [h["acc_gold"] for h in rm_log], "o-", label="vs gold")
ax.set(xlabel="epoch", ylabel="held-out pair accuracy", title="Melody reward model")
ax.legend()
plt.show()
rm_acc = rm_log[-1]
print(f"reward model trained in {rm_s:.0f} s; held-out accuracy: panel {rm_acc['acc_panel']:.1%}, gold {rm_acc['acc_gold']:.1%}")

# %% [markdown]
# ## 5. PPO with a KL penalty
#
# Exactly chapter 4's objective, $\max_\theta \mathbb{E}[r_\phi(y)] - \beta\,\mathrm{KL}(\pi_\theta\|\pi_{\mathrm{ref}})$,
# with the reward model's score normalised on the pre-trained generator's samples. β is fixed here: each step
# away from the reference costs the policy β nats of reward per nat of KL. A callback records the mean gold
# taste of every rollout batch, so we can watch the proxy (reward model) and the truth (gold) side by side.

# %%
reward_fn, rm_mean, rm_std = seqrl.reward_fn(rm, pool)
ppo_cfg = seqrl.ppo_config(A, "mus_", melody.MAX_NEW_TOKENS, seed=cfg.seed)
t = time.perf_counter()
history, gold_log = seqrl.train_ppo(ac, reward_fn, ppo_cfg, melody.gold_utility)
ppo_s = time.perf_counter() - t
print(f"{ppo_cfg.steps} PPO steps x {ppo_cfg.batch_size} melodies in {ppo_s:.0f} s")

# %%
fig = plots.proxy_gold_curves(history, gold_log, unit="melody", gold_label="gold taste")
report.save_plot(fig, "05_music_ppo")
plt.show()

# %% [markdown]
# ## 6. Did listeners get melodies they like better?
#
# We sample fresh melodies from the tuned policy and from the frozen pre-trained generator and let the gold taste
# compare them one to one (ties split): the **win rate** of the tuned generator, with its 95% bootstrap CI over the
# pairs (each pair is two independent samples; there are no prompts to group by). The KL is
# $\sum_t \log\pi_\theta(y_t) - \log\pi_{\mathrm{ref}}(y_t)$ over the tuned policy's own samples, in nats per melody.
# The mean of each gold component shows *what* changed.

# %%
ev = seqrl.compare(ac, melody.gold_utility, A.seq_eval_samples, melody.MAX_NEW_TOKENS, seed=100, rm=rm)
print(f"gold win rate of the tuned generator over the pre-trained one: {judge.ci_text(ev['win'])} "
      f"({A.seq_eval_samples} melodies each, ties split; 95% bootstrap CI over the pairs)")
print(f"KL(tuned ‖ pre-trained): {ev['kl']:.2f} nats per melody")
print(f"mean gold: pre-trained {ev['gold_base']:+.2f} -> tuned {ev['gold_tuned']:+.2f};  "
      f"reward model: {ev['rm_base']:+.2f} -> {ev['rm_tuned']:+.2f}")
fig = plots.component_bars(melody.gold_components, list(melody.GOLD_WEIGHTS),
                           {"pre-trained": ev["base"], "tuned (PPO)": ev["tuned"]})
report.save_plot(fig, "05_music_components")
plt.show()

# %% [markdown]
# ### Before and after: piano rolls and sound
#
# Red bars are out-of-key notes. Listen to four melodies of each generator, one after the other.

# %%
fig, axes = plt.subplots(2, 4, figsize=(14, 4.4), sharey=True)
for row, (label, seqs, golds) in enumerate((("pre-trained", ev["base"], ev["gold_b"]),
                                           ("tuned", ev["tuned"], ev["gold_t"]))):
    for ax, s, g in zip(axes[row], seqs[:4], golds[:4], strict=True):
        melody.piano_roll(ax, s, f"{label}: gold {g:+.1f}", color="tab:gray" if row == 0 else "tab:blue")
fig.tight_layout()
report.save_plot(fig, "05_music_rolls")
plt.show()
for s in ev["tuned"][:4]:
    print("tuned:      ", melody.describe(s))
for s in ev["base"][:4]:
    print("pre-trained:", melody.describe(s))
print("pre-trained generator:")
display(Audio(melody.synth_many(ev["base"][:4]), rate=SR))
print("tuned generator:")
display(Audio(melody.synth_many(ev["tuned"][:4]), rate=SR))

# %% [markdown]
# ## 7. Proxy versus gold
#
# The reward model learned from pairs of the *pre-trained* generator's melodies. The policy is rewarded for
# whatever the reward model likes, including what it likes by mistake, and it soon produces melodies unlike
# anything the listeners were shown. Each point below is one melody: where the reward model's score (x) and the
# gold taste (y) disagree, the policy can gain reward without pleasing anyone.

# %%
rm_b, rm_t = rm.score(ev["base"]), rm.score(ev["tuned"])
fig, ax = plt.subplots(figsize=(5.5, 4))
ax.scatter(rm_b, ev["gold_b"], s=8, alpha=0.5, color="tab:gray", label="pre-trained")
ax.scatter(rm_t, ev["gold_t"], s=8, alpha=0.5, color="tab:blue", label="tuned")
ax.set(xlabel="reward-model score (proxy)", ylabel="gold taste", title="Proxy vs gold, one point per melody")
ax.legend()
report.save_plot(fig, "05_music_proxy_gold")
plt.show()
corr_b, corr_t = np.corrcoef(rm_b, ev["gold_b"])[0, 1], np.corrcoef(rm_t, ev["gold_t"])[0, 1]
print(f"correlation of proxy and gold: pre-trained samples {corr_b:.2f}, tuned samples {corr_t:.2f}")

# %% [markdown]
# ## 8. Music for a listener: two tastes, two policies
#
# People do not share one taste. `melody.LISTENERS` documents two: the **classic** listener of §1 (steps, in key,
# home on C) and an **adventurous** one who wants leaps of a third to a sixth and the colour of A minor (strong beats
# on A–C–E, an ending on A; `leaps` and `minor` in `melody.gold_components`). Personalised RLHF gives each listener
# their own feedback, reward model and tuned policy (one policy conditioned on the listener is the other design).
# The §5 policy is the classic listener's. Below, a panel of adventurous listeners labels pairs of the same
# pre-trained melodies, a reward model learns from their votes, and PPO tunes a fresh copy of the pre-trained
# generator with the same settings. The adventurous gold spreads melodies less widely, so its panel's noise is
# calibrated separately (`melody.LISTENER_TEMPERATURE`) to agree like people do; check the agreement it prints.
#
# Then a 2×2 table: each tuned policy against the pre-trained generator, judged by each listener's gold, with the
# same samples and seeds in every cell. Personalisation worked if each policy wins for its own listener (the
# diagonal) and wins less, or loses, for the other (off the diagonal).

# %%
t = time.perf_counter()
gold_adv = melody.listener_gold("adventurous")
panel_adv = annotate.make_panel(A.seq_panel, seed=cfg.seed + 1, temperature=melody.LISTENER_TEMPERATURE["adventurous"],
                               weights={melody.DOMAIN: melody.LISTENERS["adventurous"]})
pairs_adv = seqrl.label_pairs(panel_adv, melody.DOMAIN, pool, A.mus_pairs, melody.gold_components, gold_adv,
                              seed=cfg.seed)
stats_adv = seqrl.panel_stats(pairs_adv)
print(f"adventurous panel: pairwise agreement {stats_adv['agreement']:.1%} (human range 65-77%), votes agreeing "
      f"with their gold {stats_adv['votes_agree_with_gold']:.1%}")
train_adv, val_adv = pairs_adv.split(int(0.85 * len(pairs_adv)))
rm_adv = seqrl.SeqRewardModel(melody.VOCAB_SIZE, max_len=melody.MAX_NEW_TOKENS + 2, dim=A.mus_rm_dim, seed=cfg.seed)
rm_adv_acc = seqrl.train_reward_model(rm_adv, train_adv, val_adv, epochs=A.mus_rm_epochs, lr=3e-3, seed=cfg.seed)[-1]
print(f"adventurous reward model, held-out accuracy: panel {rm_adv_acc['acc_panel']:.1%}, gold {rm_adv_acc['acc_gold']:.1%}")
ac_adv = seqrl.actor_critic(copy.deepcopy(ac.ref_policy).requires_grad_(True))  # the pre-trained generator again
reward_adv, _, _ = seqrl.reward_fn(rm_adv, pool)
history_adv, gold_log_adv = seqrl.train_ppo(ac_adv, reward_adv, ppo_cfg, gold_adv)
personal_s = time.perf_counter() - t
print(f"second listener's feedback, reward model and {ppo_cfg.steps} PPO steps in {personal_s:.0f} s")

# %%
golds = {"classic": melody.gold_utility, "adventurous": gold_adv}
policies = {"classic": ac, "adventurous": ac_adv}
cells = {(p, g): seqrl.compare(policies[p], golds[g], A.seq_eval_samples, melody.MAX_NEW_TOKENS, seed=100)
         for p in policies for g in golds}  # seed 100: the same reference samples in every cell
print(f"gold win rate over the pre-trained generator, {A.seq_eval_samples} melodies each, 95% bootstrap CIs:")
print(f"{'policy tuned for':18s}" + "".join(f"{'judged by ' + g:>28s}" for g in golds) + f"{'KL (nats)':>12s}")
for p in policies:
    print(f"{p:18s}" + "".join(f"{judge.ci_text(cells[p, g]['win']):>28s}" for g in golds)
          + f"{cells[p, 'classic']['kl']:12.2f}")
fig, ax = plt.subplots(figsize=(5, 3.6))
grid = np.array([[cells[p, g]["win"]["value"] for g in golds] for p in policies])
ax.imshow(grid, cmap="RdBu", vmin=0, vmax=1)
for i, p in enumerate(policies):
    for j, g in enumerate(golds):
        w = cells[p, g]["win"]
        ax.text(j, i, f"{w['value']:.2f}\n[{w['lo']:.2f}, {w['hi']:.2f}]", ha="center", va="center")
ax.set(xticks=range(len(golds)), xticklabels=[f"judged by {g}" for g in golds], yticks=range(len(policies)),
       yticklabels=[f"tuned for {p}" for p in policies], title="Win rate over the pre-trained generator")
report.save_plot(fig, "05_music_personal")
plt.show()

# %% [markdown]
# The table compares each policy with the pre-trained generator. The sharper question for personalisation is head to
# head: given one melody from each tuned policy, does each listener pick the one tuned for them? The samples are
# those of the table (seed 100), each pair judged by that listener's gold; a win rate of one half would mean that
# tuning for them bought nothing over tuning for the other.

# %%
head_to_head = {}
for g in golds:
    other = next(p for p in policies if p != g)
    head_to_head[g] = metrics.bootstrap_ci(judge.win_rate, cells[g, g]["gold_t"], cells[other, g]["gold_t"],
                                           seed=cfg.seed)  # i-th melody of each policy: independent pairs
    print(f"the {g} listener, melody tuned for them vs one tuned for the {other} listener: "
          f"win rate {judge.ci_text(head_to_head[g])}")

# %%
fig, axes = plt.subplots(2, 4, figsize=(14, 4.4), sharey=True)
for row, p in enumerate(policies):
    seqs = cells[p, p]["tuned"]
    for ax, s in zip(axes[row], seqs[:4], strict=True):
        melody.piano_roll(ax, s, f"for {p}: {golds[p](s):+.1f} (other {golds[next(g for g in golds if g != p)](s):+.1f})",
                          color="tab:blue" if row == 0 else "tab:purple")
fig.tight_layout()
plt.show()
for p in policies:
    print(f"tuned for the {p} listener:")
    display(Audio(melody.synth_many(cells[p, p]["tuned"][:4]), rate=SR))

# %% [markdown]
# **How to read it.** The diagonal is each policy judged by the listener it was tuned for; off the diagonal, by the
# other. Shared parts of the two tastes (well-formed melodies, variety, a few rests) let a policy win a little for
# both; what is personal shows as the gap between a row's two cells. Listen for it too: the classic policy's
# melodies walk by steps and come home to C, the adventurous one's leap and end on A. A reward model of one
# listener's votes cannot know what the other wants: that is why personalised systems keep feedback per user (or
# condition one model on who is listening).

# %%
total = time.perf_counter() - T0
figures = report.record(
    "05", music_win_rate=ev["win"], music_kl_nats=round(ev["kl"], 2),
    music_gold_base=round(ev["gold_base"], 3), music_gold_tuned=round(ev["gold_tuned"], 3),
    music_panel_agreement=round(stats["agreement"], 3), music_rm_acc_gold=round(rm_acc["acc_gold"], 3),
    music_rm_acc_panel=round(rm_acc["acc_panel"], 3), music_seconds=round(total),
    **{f"music_personal_{p}_judged_by_{g}": cells[p, g]["win"] for p in policies for g in golds},
    **{f"music_personal_head_to_head_{g}": head_to_head[g] for g in golds},
)
print(f"notebook ran in {total:.0f} s (pre-training {pretrain_s:.0f}, reward model {rm_s:.0f}, PPO {ppo_s:.0f}, "
      f"second listener {personal_s:.0f})")
print(report.vs_reference("05_applications_3", figures, prefix="music"))

# %% [markdown]
# **What to look for.**
#
# * **Before PPO**: the pre-trained generator's mean gold taste against the procedural data's, and the share of
#   its melodies that are well formed (exactly 16 notes); the listeners' agreement against the human range; the
#   reward model's agreement on held-out pairs with the panel majority and with the gold.
# * **The win rate with its CI and its KL**, as for the sprites: whether the CI lies above one half, how far, and
#   for how many nats per melody.
# * **Proxy against gold**: does the correlation on tuned samples hold up against the one on pre-trained samples?
#
# **Which components moved?** Expect most of the gain in **resolution** (ending on C), then shape and notes in key,
# and look for a component that *fell*: **variety** is the one to watch. Listen to the tuned melodies: a melody
# that ends by hammering the tonic (`… C4 C4 C4 C4 C4 C4`) resolves, stays in key and lands the strong beats on the
# tonic chord — everything the reward model learned to like — while a listener hears a stuck note. The pre-trained
# generator rarely did that, so the first reward model saw few such melodies and cannot tell that they are boring:
# the policy is drifting to where the proxy is uninformed. Notebook 5.5 asks the listeners about the tuned policy's
# own melodies and measures what that fixes.
#
# The last cell prints the time of each step (pre-training, reward model, PPO); with the same seed the figures
# repeat run to run on the same CPU.

# %% [markdown]
# ## Summary
#
# * The whole RLHF loop runs on melodies in minutes on a CPU: a pre-trained generator, a listener panel, a
#   Bradley–Terry reward model, PPO with a KL penalty.
# * The hidden gold taste judges the result; its components show where the gain came from and which one fell.
# * Where the pre-trained generator rarely went, the reward model has little data: the policy can drift there.
#   Notebook 5.5 asks the listeners about those melodies.
# * Tastes differ: a reward model and a policy per listener serve each one; the 2×2 table shows whether each policy
#   pleases its own listener more than the other, and the head-to-head whether each listener picks their own.
#
# ## What to try next
#
# * Raise the KL coefficient (`config.load(apps__mus_beta=0.2)`) and compare the win rate, the KL and the variety of
#   the tuned melodies.
# * Change a weight of the gold taste in `rlhf_lib/apps/melody.py` (e.g. more weight on variety) and listen to what
#   the tuned model composes.
# * Write a third listener into `melody.LISTENERS` (say, one who likes long notes and rests) and extend the 2×2 table.
# * Give the panel more pairs (`apps__mus_pairs`) or PPO more steps (`apps__mus_ppo_steps`) and read the win rate with
#   its interval.
