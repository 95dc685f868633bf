# %% [markdown]
# # Chapter 5.4 — Applications: a voice assistant
#
# ![Notebook 5.4: the whole loop for a voice assistant](../docs/img/pipeline_loop.svg)
#
# **What you will learn**
#
# * how one use of a model changes what a good answer is: spoken answers, without markdown, links or long sentences;
# * how to write that as a hidden voice gold utility, and build prompts, answers and panel feedback for it;
# * a reward model and PPO with a KL penalty for a voice assistant, evaluated with controls;
# * what the tuned answers look like next to the reference's, as text a synthesiser would read.
#
# **What you need**
#
# * **Earlier chapters:** chapters 1–4 (the annotation of chapter 1, the feature reward model of chapter 2, chapter
#   4's PPO and its evaluation). Nothing has to be run first.
# * **Background:** none beyond those chapters.
#
# **Run time.** The next cell prints how long this notebook took in each profile when it was last measured (the
# committed notebook benchmark and reference run); your machine will differ.

# %%
from rlhf_lib import report

print(report.run_times("05_applications_4"))

# %% [markdown]
# The course text's last application is the **voice assistant**: people rate spoken answers for being natural,
# fluent and in the right tone, and RLHF tunes the assistant towards what they prefer. A text model becomes a
# voice assistant when its words go through a speech synthesiser — and much of what reads well, reads badly
# aloud: a bulleted list, a bold heading, a link, an emoji, a 60-word sentence. This notebook builds the whole
# loop for that use, on SmolLM2, from data to evaluation:
#
# | step | here | library |
# |---|---|---|
# | what a listener wants | §1 a hidden **voice gold utility**: correct + speakable + short enough + friendly | `voice.gold_components` |
# | prompts | §2 85 things people say to a voice assistant (timers, weather, facts, conversions, how-to, small talk) | `data/voice_prompts.jsonl`, `voice.load_prompts` |
# | answers to compare | §3 four answers per prompt from the base model (shipped in `data/voice_responses.jsonl`) | `voice.sample_responses` |
# | human feedback | §4 a simulated panel of five noisy annotators, agreeing like people do | `voice.make_panel`, `voice.annotate_pairs` |
# | reward model | §5 FFN on frozen features (chapter 2) | `language.train_feature_rm` |
# | RL with a KL penalty | §6 chapter 4's PPO | `ppo.train` |
# | evaluation | §7 held-out prompts judged by the gold utility, win rates with CIs and three controls | `judge.sample`, `judge.versus` |

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import Audio

from rlhf_lib import config, data, features, judge, metrics, models, pairs, ppo, report, train_ppo
from rlhf_lib.apps import language, speech, voice

T0 = time.perf_counter()
cfg = config.load()
config.seed_everything(cfg.seed)
A, R, P = cfg.apps, cfg.reward, cfg.ppo
timings = {}
print(f"profile {cfg.profile}:", {k: v for k, v in vars(A).items() if k.startswith("voice")})

# %% [markdown]
# ## 1. What a listener wants: the voice gold utility
#
# `rlhf_lib/apps/voice.py` defines the hidden utility the simulated annotators judge by, a weighted sum of
# components in $[-1, 1]$:
#
# - **correct** — the right answer where one is known: the time a timer was set for, a fact, a number
#   (chapter 1's checker: right and no wrong answer $+1$, both $+0.25$, a wrong one $-1$, none $-0.5$);
# - **relevance** — the words a useful answer uses (how-to steps, weather advice, a warm reply in small talk);
# - **spoken** — nothing that only works on a screen: markdown (`**`, `#`, bullets, numbered lists, tables),
#   URLs, emoji, code, parentheses; no sentence longer than a listener can follow (25 words);
# - **length** — how long the answer takes to **hear**, in seconds of audio (`speech.seconds`: espeak-ng reads it
#   aloud where it is installed, see "Hearing it" below; elsewhere an estimate from syllables): a timer
#   confirmation in a few seconds, a how-to in one breath (`voice.LISTEN_SECONDS` sets the ranges). Seconds, not
#   words: `1,609.34` is one word and a long read;
# - **tone** — friendly and direct: no "As an AI" disclaimers, no "Certainly! Here is…" filler, no refusing a
#   harmless request; warmth in small talk (VADER sentiment);
# - **truncation, repetition, style** — as in chapter 1.
#
# The weights put correctness first: a short, clean answer that is wrong or empty must lose. Below, hand-written
# answers scored by it.

# %%
display(pd.DataFrame(voice.VOICE_WEIGHTS).fillna(0).T)  # noqa: F821 -- IPython's display
prompts_all = voice.load_prompts()
by_id = {p["id"]: p for p in prompts_all}
examples = [
    ("voice-fact-00", "Spiders have eight legs."),
    ("voice-fact-00", "**Spiders** have **8 legs**:\n- four pairs\n- all arachnids do"),
    ("voice-fact-00", "Spiders have six legs."),
    ("voice-fact-00", "As an AI language model, I can tell you that spiders have 8 legs (see https://en.wikipedia.org/wiki/Spider)."),
    ("voice-timer-00", "Okay, ten minutes, starting now."),
    ("voice-timer-00", "Okay."),
    ("voice-howto-00", "Put the egg in boiling water for about nine minutes, then cool it under cold water."),
    ("voice-howto-00", "1. Boil water.\n2. Add the egg.\n3. Wait 9 minutes.\n4. Cool it in cold water."),
]
pd.set_option("display.max_colwidth", 120)
display(pd.DataFrame([{"prompt": by_id[i]["prompt"], "answer": a, "gold": round(voice.gold_utility(by_id[i], a, True), 2),  # noqa: F821
                       **{k: round(v, 2) for k, v in voice.gold_components(by_id[i], a, True).items() if v}}
                      for i, a in examples]).fillna(0))  # 0: no penalty, or not applicable

# %% [markdown]
# ## 2. The prompts
#
# 85 prompts in six categories, written for this chapter (`data/make_voice_prompts.py`), each with what a
# checker can verify: `answers` (and tempting `wrong` ones) or the `keywords` a relevant answer uses. A seeded
# shuffle puts `round(0.6 * n)` of a category's $n$ prompts in train, `round(0.15 * n)` in val, the rest in test.
# `voice.load_prompts` checks every line and names file, line and field on bad input.

# %%
prompts = prompts_all if A.voice_max_prompts is None else data.stratified_subset(prompts_all, A.voice_max_prompts, cfg.seed)
display(pd.crosstab(pd.Series([p["category"] for p in prompts], name="category"),  # noqa: F821
                    pd.Series([p["split"] for p in prompts], name="split")))
for c in voice.VOICE_CATEGORIES:
    print(f"{c:10s} e.g. {next(p['prompt'] for p in prompts if p['category'] == c)!r}")

# %% [markdown]
# ## 3. The base model's answers
#
# Four answers per prompt from SmolLM2 at temperature 0.9 (top-p 0.95, up to 64 tokens: more than a spoken answer needs), as in chapter 1. They
# are shipped in `data/voice_responses.jsonl`: the ci and cpu profiles reuse them, anything missing is sampled
# now. How do they sound? A chat model trained on written dialogue writes for a screen.

# %%
t = time.perf_counter()
responses = voice.sample_responses(prompts, cfg)
timings["responses"] = time.perf_counter() - t
flat = [(by_id[pid], r) for pid, rs in responses.items() for r in rs]
stats = pd.DataFrame([{"category": p["category"], "words": len(r["text"].split()),
                       "seconds": speech.seconds(r["text"]), "finished": r["finished"],
                       "unspeakable": bool(voice.unspeakable(r["text"])),
                       "gold": voice.gold_utility(p, r["text"], r["finished"])} for p, r in flat])
print(f"{len(flat)} answers in {timings['responses']:.0f} s (0 s: all shipped); listening time from {speech.source()}")
display(stats.groupby("category").mean(numeric_only=True).round(2))  # noqa: F821
fig, axes = plt.subplots(1, 2, figsize=(11, 3.2))
stats.groupby("category")["unspeakable"].mean().plot.bar(ax=axes[0], color="tab:red")
axes[0].set(ylabel="share of answers", title="Answers with screen-only formatting", ylim=(0, 1))
axes[1].hist(stats["seconds"], bins=30, color="tab:gray")
axes[1].axvspan(1, 10, color="tab:green", alpha=0.15, label="a fact's range (voice.LISTEN_SECONDS)")
axes[1].set(xlabel="seconds to hear an answer", title="Answer length, by ear")
axes[1].legend()
fig.tight_layout()
plt.show()
worst = stats.sort_values("gold").index[:2].tolist() + stats.sort_values("gold").index[-2:].tolist()
for i in worst:
    p, r = flat[i]
    print(f"\n[{p['category']}] {p['prompt']}  (gold {stats.gold[i]:+.2f})\n  {r['text'][:300]!r}")

# %% [markdown]
# ## 4. Human feedback: a panel that agrees like people
#
# Chapter 1's `annotate.Annotator`, with the voice weights: each of five simulated people scales every weight
# by its own log-normal factor (people weigh "short" and "correct" differently) and chooses with
# Bradley–Terry noise. Every pair of distinct answers to a prompt is labelled by all five; as in real data
# collection one assigned label per pair goes into the dataset, and the reward model may use all five (chapter
# 2's "vote splits"). Human labellers agree on 65–77% of comparisons (InstructGPT: 72.6 ± 1.5%); the panel's
# noise (`voice.TEMPERATURE`) was set so that the simulated people do too — below, measured, with a small
# sweep to show what the knob does.

# %%
t = time.perf_counter()
panel = voice.make_panel(cfg.data.n_annotators, seed=cfg.seed)
labelled = voice.annotate_pairs(prompts, responses, panel, seed=cfg.seed)
agreement = data.agreement_stats(labelled)
sweep = {tau: data.agreement_stats(voice.annotate_pairs(prompts, responses, voice.make_panel(
    cfg.data.n_annotators, seed=cfg.seed, temperature=tau), seed=cfg.seed))["pairwise_agreement"]
    for tau in (0.2, 0.4, voice.TEMPERATURE, 1.6, 3.2)}
rows = data.to_preference_rows(prompts, responses, labelled)
prefs = language.preference_dataset(rows)
timings["annotation"] = time.perf_counter() - t
print({k: round(v, 3) for k, v in agreement.items()})
print(f"{len(labelled)} pairs labelled by {len(panel)} annotators; dataset (assigned label, ties dropped): "
      + ", ".join(f"{s} {len(prefs[s])}" for s in prefs))
fig, ax = plt.subplots(figsize=(5.5, 3))
ax.plot(list(sweep), list(sweep.values()), "o-")
ax.axhspan(0.65, 0.77, color="tab:green", alpha=0.15, label="human range")
ax.axvline(voice.TEMPERATURE, color="black", ls=":", label="voice.TEMPERATURE")
ax.set(xscale="log", xlabel="annotator temperature (noise)", ylabel="pairwise agreement", title="Voice panel")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## 5. The reward model
#
# The same recipe as the chatbot (§5.1): features of the frozen base model (layer `reward.ffn_layer`, last
# token and response mean) for each (prompt, answer), an ensemble of small FFNs trained with Bradley–Terry on
# every panel label, early-stopped on the validation prompts' labels.

# %%
t = time.perf_counter()
rm_lm, tokenizer = models.load_model(cfg.model.name, dtype=torch.float32)
table = pairs.build_pairs(prefs, tokenizer, A.voice_rm_max_length, seed=cfg.seed)
cache = features.extract(rm_lm, tokenizer, table, R.top_k, models.resolve(cfg.model.name), R.feature_batch_size)
X = cache.features(R.ffn_layer, "both")  # (S, 2H)
pairs.add_vote_splits(table, prefs, data.panel_vote_rows(labelled, data.response_texts(responses)))
timings["features"] = time.perf_counter() - t
rm_head, rm_results = language.train_feature_rm(X, table.splits["train_votes"], table.splits["val_votes"], R.ffn_hidden,
                                            R.ffn_lr, A.voice_rm_epochs, R.batch_size, A.voice_rm_seeds, seed=cfg.seed)
timings["reward model"] = time.perf_counter() - t - timings["features"]
rm_test = language.rm_metrics(rm_head, X, table.splits["test"])
print(f"features of {len(table)} answers in {timings['features']:.0f} s; RM trained in {timings['reward model']:.0f} s")
print(f"test: accuracy {rm_test['accuracy']:.3f} (Bayes ceiling {rm_test['bayes_ceiling']:.3f}), "
      f"gold agreement {rm_test['gold_agreement']:.3f}, {rm_test['pairs']} pairs")
fig, ax = plt.subplots(figsize=(6, 3))
for i, res in enumerate(rm_results):
    ax.plot([h["step"] for h in res.history], [h["val_accuracy"] for h in res.history], label=f"FFN seed {i}")
ax.set(xlabel="step", ylabel="val accuracy (all labels)", title="Voice reward model")
ax.legend(fontsize=8)
plt.show()
rm = language.FeatureRM(rm_lm, tokenizer, rm_head, R.ffn_layer, A.voice_rm_max_length)

# %% [markdown]
# ## 6. PPO with a KL penalty
#
# Chapter 4's PPO, with a shorter answer budget (`apps.voice_max_new_tokens`): a spoken answer that needs more
# is already too long, and an answer cut by the budget is scored as unfinished.

# %%
# the voice data was sampled from the base model (chapter 0's), so its policy and reference start there too
ac, tokenizer, fast_bf16 = train_ppo.load_actor_critic(cfg, name=cfg.model.name)
prompts_train = [p for p in prompts if p["split"] == "train"]
prompts_test = [p for p in prompts if p["split"] == "test"]
ppo_cfg = train_ppo.profile_ppo_config(cfg, steps=A.voice_ppo_steps, max_new_tokens=A.voice_max_new_tokens,
                                        save_every=2, autocast=fast_bf16)
t = time.perf_counter()
# The normaliser's prompts: a stratified sample (every category in proportion). The prompt file is sorted by
# category, so a prefix would normalise on timers and weather only.
norm_recs = judge.stratified(prompts_train, 2 * P.batch_size, seed=1)
norm = judge.sample(ac, norm_recs, ppo_cfg, tokenizer, seed=1, reference=True, gold=voice.gold_utility,
                    score=rm.score, batch_size=P.batch_size)
rm_mean, rm_std = judge.reward_normaliser(norm["rm"])
reward_fn = language.reward_fn(rm, tokenizer, rm_mean, rm_std)
timings["reference samples"] = time.perf_counter() - t
print(f"{len(prompts_train)} training prompts, {len(prompts_test)} test prompts; RM on {len(norm_recs)} reference "
      f"answers ({judge.category_mix(norm_recs)}): mean {rm_mean:+.3f}, std {rm_std:.3f}")
t = time.perf_counter()
history = ppo.train(ac, models.chat_prompt_ids(tokenizer, prompts_train), prompts_train, reward_fn, ppo_cfg,
                    tokenizer.eos_token_id, tokenizer.pad_token_id,
                    ckpt_dir=config.artifacts_dir() / "voice_ppo_checkpoint")
timings["PPO"] = time.perf_counter() - t
print(f"{ppo_cfg.steps} PPO steps x {ppo_cfg.batch_size} episodes in {timings['PPO']:.0f} s "
      f"({timings['PPO'] / ppo_cfg.steps:.0f} s per step; 0 if resumed from a finished checkpoint)")
fig = language.plot_ppo_curves(history, "Voice assistant PPO")
report.save_plot(fig, "05_voice_ppo")
plt.show()

# %% [markdown]
# ## 7. Did it help? Held-out prompts, the voice gold, and three controls
#
# The judge of chapter 4 and §5.1 (`rlhf_lib.judge`), with the voice gold utility. The held-out set is every test
# prompt: the split already holds a seeded share of each category (§2; the mix is printed). Each model answers
# each prompt `apps.voice_eval_samples` times with the same seeds; the gold judges each pair (a tie counts half);
# the win rate's 95% bootstrap CI is resampled **by prompt**, overall and per category, and a win is established
# only when the CI's lower end lies above one half.
#
# The controls matter even more here, where *short* is part of what a listener wants:
#
# - **(a) the reference** at the training budget (`apps.voice_max_new_tokens`): the plain comparison.
# - **(b) the reference at an ample budget**, the smallest at which at least nine in ten of its answers end. The
#   training budget is short and a cut-off answer scores badly: does the policy win only because it learned to
#   stop in time?
# - **(c) the brevity baseline**: the reference asked to answer in one or two sentences (`judge.BRIEF`). For a voice
#   assistant that instruction is the obvious competitor: if it does as well, a system prompt would have done.
# - **(d) both finished**: inside each comparison, the win rate on the pairs where both answers ended.
#
# `judge.controls` runs them all on the same prompts and seeds, judged by the voice gold (`gold=`).

# %%
eval_recs = prompts_test
print(f"held-out set: {len(eval_recs)} prompts x {A.voice_eval_samples} answers per model; categories:",
      judge.category_mix(eval_recs))
t = time.perf_counter()
ctl = judge.controls(ac, eval_recs, ppo_cfg, tokenizer, A.voice_eval_samples, long_budget=A.voice_eval_long_tokens,
                     score=rm.score, gold=voice.gold_utility)
evals, vs, curve, ample = ctl["samples"], ctl["versus"], ctl["curve"], ctl["ample_budget"]
policy = evals["PPO policy"]
timings["evaluation"] = time.perf_counter() - t
print(judge.controls_report(ctl, per_category=True))
unspeakable = {name: float(np.mean([bool(voice.unspeakable(x)) for x in e["texts"]])) for name, e in evals.items()}
print("screen-only formatting: " + ", ".join(f"{name} {u:.0%}" for name, u in unspeakable.items()))
kl = judge.summary(policy)["kl"]

# %%
groups = {f"vs {k}": vs[k]["per_category"] for k in ("reference", "reference, ample budget")}
fig = language.plot_win_rates(language.control_panels(vs, "per category", groups),
                          f"Voice assistant on held-out prompts, gold-judged (KL spent: {kl:.1f} nats per answer)")
report.save_plot(fig, "05_voice_win_rate")
plt.show()
display(language.component_means(evals, voice.gold_components, lambda r: "all"))  # noqa: F821

# %% [markdown]
# **How to read it.** As in §5.1: a win over (a) alone is a win under the training budget. If it falls to one half
# against (b), the policy learned to finish a short answer and little else; what stays above one half against (b)
# is what it does better than a reference allowed to finish. If the bar against (c) sits at one half, asking for
# brevity does what PPO learned. The (d) bars ask the same pair by pair. The component table says where each gain
# comes from, for every model: the ample-budget reference shows what finishing alone buys, the brevity baseline
# what the instruction buys.
#
# **What to look for.**
#
# * **The panel and the reward model first** (§4 and §5): the panel's agreement against the human range and its
#   Bayes ceiling; the reward model's test accuracy against the test split's ceiling, and its agreement with the gold.
# * **Every win rate with its CI.** A few dozen comparisons in all and a handful per category give wide intervals:
#   a rate whose CI includes one half is not a win, and the per-category rates are hints, not results.
# * **What moved** (the component table). Expect much of the gain to be the policy learning to **finish a short
#   sentence** (`truncation`, answers that end with EOS, fewer words), which a listener does want, and fewer
#   screen-only answers; the brevity baseline may get much of that for free. Then check `correct` and `relevance`:
#   if they barely move or fall, the policy is winning by being wrong in fewer words —
#   `"There are 2.58 meters in 1 km."` is short, finished, speakable and wrong.
# * **The KL against its target** (`target_kl` of the profile). With only a few PPO steps the adaptive β has no time
#   to react, and the KL can overshoot the target by far; then this run sits at the over-optimising end of chapter
#   4's trade-off.
# * **The gold's own blind spots**: "…Leonardo da Vinci's iconic Mona Lisa is actually Auréon Meir-ElRazi…" scores
#   as correct because it names da Vinci. A checker of strings has holes, and a policy finds them too.
# * **Run time**: the last cell prints the time of each step; the PPO steps and the features of the answers dominate.
#
# ### Side by side

# %%
pd.set_option("display.max_colwidth", 200)
shown = language.samples_table({"reference": evals["reference"], "PPO policy": evals["PPO policy"]})
display(shown.iloc[::max(1, A.voice_eval_samples)])  # noqa: F821 -- the first answer to each prompt

# %% [markdown]
# ### Hearing it
#
# A voice answer is heard, not read. Debian's `espeak-ng` speaks offline with no downloads (`apt-get install
# espeak-ng`; `brew install espeak-ng` on a Mac); `rlhf_lib.apps.speech` reads each answer aloud and measures how
# long it takes to hear. Listen to the two answers to the same prompt, then read the table: a listener's cost is
# seconds, and seconds are not words (a number with decimals is one word and several seconds). These are the
# seconds the gold's **length** component judged. Look at whether the policy's answers are quicker to hear than
# the reference's, and whether the brevity baseline gets there too.
# Where espeak-ng is missing the cell says so and skips.

# %%
if speech.available():
    heard = [k for k in ("reference", "PPO policy", "brevity baseline") if k in evals]
    spoken = {k: np.array([speech.seconds(t) for t in evals[k]["texts"]]) for k in heard}  # what the gold heard
    rows = []
    for k in heard:
        groups = np.array([r["id"] for r in evals[k]["records"]])
        words = np.array([len(t.split()) for t in evals[k]["texts"]])
        sec = metrics.bootstrap_ci(np.mean, spoken[k], n_boot=cfg.metrics.n_boot, seed=cfg.seed, groups=groups)
        rows.append({"model": k, "words (mean)": words.mean(), "seconds to hear (mean)": sec["value"],
                     "95% CI": f"[{sec['lo']:.1f}, {sec['hi']:.1f}]", "seconds per word": spoken[k].sum() / words.sum(),
                     "answers over 10 s": np.mean(spoken[k] > 10)})
    display(pd.DataFrame(rows).round(2))  # noqa: F821
    for i in range(0, min(2, len(eval_recs)) * A.voice_eval_samples, A.voice_eval_samples):
        print(f"\n{evals['reference']['records'][i]['prompt']!r}")
        for k in ("reference", "PPO policy"):
            wav, sec = speech.speak(evals[k]["texts"][i] or "(silence)")
            print(f"  {k} ({sec:.1f} s): {evals[k]['texts'][i][:120]!r}")
            display(Audio(wav))  # noqa: F821
else:
    print("espeak-ng is not installed, so nothing is spoken here: `apt-get install espeak-ng` (Debian/Ubuntu) or "
          "`brew install espeak-ng` (macOS), then run this cell again")

# %% [markdown]
# ## 8. Save the voice policy, and the figures

# %%
policy_dir = train_ppo.save_policy(ac, tokenizer, config.artifacts_dir() / "voice_policy",
                             info={"win_rate": vs["reference"]["win"]["value"], "kl": kl, "steps": ppo_cfg.steps,
                                   "profile": cfg.profile})
total = time.perf_counter() - T0
figures = report.record(  # win rates as {value, lo, hi}: the 95% CI by prompt travels with the figure
    "05", voice_win_rate=vs["reference"]["win"], voice_win_rate_ample_budget=vs["reference, ample budget"]["win"],
    voice_win_rate_brevity_baseline=vs["brevity baseline"]["win"],
    voice_win_rate_both_finished=vs["reference"]["both_finished"],
    voice_win_rate_by_category=vs["reference"]["per_category"],
    voice_ample_budget_tokens=ample, voice_held_out=judge.category_mix(eval_recs),
    voice_kl_nats=round(kl, 2), voice_comparisons=vs["reference"]["n"],
    voice_gold_base=round(judge.summary(evals["reference"])["gold"], 3),
    voice_gold_tuned=round(judge.summary(policy)["gold"], 3),
    voice_unspeakable_base=round(unspeakable["reference"], 3),
    voice_unspeakable_tuned=round(unspeakable["PPO policy"], 3),
    voice_panel_agreement=round(agreement["pairwise_agreement"], 3),
    voice_rm_test_accuracy=round(rm_test["accuracy"], 3), voice_rm_gold_agreement=round(rm_test["gold_agreement"], 3),
    voice_ppo_s_per_step=round(timings["PPO"] / ppo_cfg.steps, 1), voice_seconds=round(total),
)
print(f"policy saved to {policy_dir}")
print({k: round(v) for k, v in timings.items()}, f"total {total:.0f} s")
print(report.vs_reference("05_applications_4", figures, prefix="voice_"))

# %% [markdown]
# ## Summary
#
# * One use changes what a good answer is: for a voice assistant, an answer must be correct, speakable, short enough
#   and friendly, and the voice gold utility says so.
# * Prompts, base-model answers, a panel, a feature reward model and chapter 4's PPO form the loop; the controls of
#   chapter 4 judge it.
# * The unspeakable share and the side-by-side answers show what the tuned model does differently from the reference,
#   as a synthesiser would read it.
#
# ## What to try next
#
# * Give PPO more steps (`config.load(apps__voice_ppo_steps=20)`) and compare the win rate's interval with this run's.
# * Change a weight in `voice.VOICE_WEIGHTS` (e.g. less on length) and see how the tuned answers change.
# * Read the tuned answers aloud with any text-to-speech you have and judge a few pairs yourself.
