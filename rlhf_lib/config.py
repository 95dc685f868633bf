"""Profiles, paths and seeds: every size of every chapter lives in the one table below.

A profile is chosen once per process: `RLHF_PROFILE` (ci | cpu | gpu | gpu-smoke) if set, else `ci` when the
`CI` variable is set, else `gpu` when CUDA is available, else `cpu`.

    ci         nbval in CI: each chapter in minutes on 2 cores; the numbers only show the code runs.
    cpu        a learner without a GPU: real results, each chapter well under 30 minutes on 2 cores.
    gpu        one GPU: larger batches and more samples; a hub model may replace the embedded one.
    gpu-smoke  not a column: the gpu profile's choices (GPU_CHOICES) at the ci profile's sizes, so that CI runs
               on a CPU the branches a GPU run takes (tests/test_gpu_smoke.py, docs/profiles.md).
"""

from __future__ import annotations

import hashlib
import math
import os
import random
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

COLUMNS = ("ci", "cpu", "gpu")  # the columns of TABLE
PROFILES = (*COLUMNS, "gpu-smoke")  # what RLHF_PROFILE, --config and --profile accept

# setting                          ci       cpu      gpu      what it sizes
TABLE: dict[str, tuple] = {
    # chapter 0: the base model
    "model.name":                 ("smollm2", "smollm2", "smollm2"),  # embedded GGUF, a hub id or a folder
    "model.max_new_tokens":       (48,      96,      160),    # answer length when chatting
    "model.probe_samples":        (4,       16,      32),     # samples per probe question in chapter 0
    # chapter 0, "RLHF in one minute": chapter 5.3's melody loop at the sizes of a first look (cpu: under a minute)
    "minute.melodies":            (300,     1500,    4000),   # procedural melodies the tiny generator learns from
    "minute.hidden":              (32,      32,      64),     # tiny Llama generator: width ...
    "minute.layers":              (2,       2,       2),      # ... and decoder layers
    "minute.pretrain_epochs":     (1,       2,       3),
    "minute.pool":                (64,      256,     512),   # generator samples shown to the listener panel
    "minute.pairs":               (80,      600,     1000),   # pairs the panel compares (85% train, 15% val)
    "minute.rm_dim":              (32,      32,      48),     # width of the bidirectional transformer RM
    "minute.rm_epochs":           (2,       4,       6),
    "minute.ppo_steps":           (2,       15,      30),     # PPO iterations (chapter 5.3's beta and learning rate)
    "minute.ppo_batch_size":      (8,       32,      64),     # melodies per rollout
    "minute.ppo_minibatch":       (8,       16,      16),
    "minute.eval_samples":        (32,      256,     1024),   # melodies per model for the gold win rate
    # chapter 1, first: supervised fine-tuning on data/demos.jsonl (InstructGPT's step 1). The SFT model is what the
    # preference data is sampled from, PPO's start and its reference. ci trains a few steps only: its numbers show
    # the code runs, and it reuses the responses shipped in data/, which the cpu column's SFT model sampled
    "model.policy":               ("smollm2-sft", "smollm2-sft", "smollm2-sft"),  # the SFT model of the sft.* rows
    "sft.epochs":                 (0.25,    1.0,     1.0),    # passes over the demonstrations (gated, not maximised:
                                                              # benchmarks/sft_gate.py chose it on val prompts)
    "sft.lr":                     (3e-4,    3e-4,    3e-4),   # AdamW on LoRA adapters (every layer, rank sft.lora_r)
    "sft.lora_r":                 (8,       8,       8),
    "sft.batch_size":             (8,       8,       8),
    "sft.max_length":             (256,     256,     256),    # prompt + answer tokens of a demonstration
    "sft.seed":                   (0,       0,       0),      # not RLHF_SEED: every PPO seed starts from one model
    "sft.gate_prompts":           (12,      None,    None),   # val prompts the chapter's gate samples (None = all)
    "sft.gate_samples":           (1,       2,       4),      # samples per gate prompt and model
    # chapter 1: preference data
    # ci and cpu sample with the same settings, so both reuse the responses shipped in data/responses.jsonl
    "data.max_prompts":           (48,      None,    None),   # None = every prompt in data/prompts.jsonl
    "data.samples_per_prompt":    (4,       8,       8),      # K responses sampled per prompt (ci: the first 4 of 8)
    "data.max_new_tokens":        (64,      64,      96),     # the SFT model finishes ~95% of its answers in 64
    "data.temperature":           (0.9,     0.9,     0.9),
    "data.top_p":                 (0.95,    0.95,    0.95),
    "data.gen_batch_size":        (32,      32,      128),
    "data.live_prompts":          (2,       6,       12),     # prompts sampled live in the notebook to show sampling
    "data.n_annotators":          (5,       5,       5),
    # chapter 2: reward model
    "reward.arch":                ("topk",  "topk",  "lora"), # transformer RM: top-k layers on cached states | LoRA
    "reward.top_k":               (2,       4,       4),      # decoder layers trained in the "topk" arch
    "reward.max_length":          (256,     256,     512),    # prompt + response tokens seen by the RM (left-cut)
    "reward.max_train_pairs":     (96,      None,    None),   # None = every pair of the split
    "reward.chapter_train_pairs": (None,    2000,    None),   # the notebooks' cap on train, whole prompts (cpu:
                                                              # chapter 2 in 20 min); python -m rlhf_lib.train_reward: all
    "reward.max_eval_pairs":      (48,      None,    None),   # val and test pairs
    "reward.feature_batch_size":  (16,      16,      64),     # sequences per frozen forward pass
    "reward.batch_size":          (16,      16,      32),     # pairs per step
    "reward.epochs":              (2,       2,       3),      # explicit loop (early-stopped on val accuracy)
    "reward.trl_epochs":          (1,       0.4,     3),      # TRL RewardTrainer (no early stopping; cpu: in the budget)
    "reward.trl_eval_every":      (None,    None,    40),     # TRL steps between its own evaluations (None: none)
    "reward.lr":                  (1e-4,    1e-4,    1e-4),   # AdamW, transformer RM
    "reward.lora_r":              (8,       16,      16),
    "reward.lora_epochs":         (0.5,     0.6,     None),   # LoRA on every layer after the top-k RM (None: §6 is LoRA)
    "reward.lora_lr":             (3e-4,    3e-4,    3e-4),   # AdamW on those adapters (cpu: 0.6 epoch, where it peaks)
    "reward.chapter_lora":        (True,    False,   False),  # chapter 2 trains that LoRA RM (cpu: over its budget, so
                                                              # it shows the recorded run; train_reward --arch lora trains)
    "reward.ffn_layer":           (24,      24,      24),     # which layer's pooled hidden states feed the FFN
    "reward.probe_layers":        ((24,),   (16, 24), (8, 16, 24, 30)),  # the linear-probe baseline's layers (val picks)
    "reward.ffn_hidden":          (128,     256,     256),
    "reward.ffn_lr":              (1e-3,    1e-3,    1e-3),   # AdamW, FFN
    "reward.ffn_sgd_lr":          (0.05,    0.05,    0.05),   # SGD with momentum 0.9, FFN
    "reward.ffn_epochs":          (10,      20,      40),
    "reward.ffn_seeds":           (2,       3,       5),      # FFNs (seeds) averaged in the ensemble
    "reward.eval_every":          (4,       25,      40),     # steps between validation passes
    "reward.patience":            (4,       2,       5),      # evaluations without improvement before stopping
    # chapter 3: validation metrics
    "metrics.n_boot":             (200,     1000,    1000),   # bootstrap resamples per confidence interval
    "metrics.n_bins":             (10,      10,      10),     # reliability-diagram bins
    "metrics.probe_pairs":        (12,      96,      192),    # pairs per bias probe / shifted test (RM forward passes)
    "metrics.judge_pairs":        (4,       24,      96),     # pairs the base-LM judge reads (2 long forward passes each)
    "metrics.sweep_epochs":       (3,       12,      15),     # FFN epochs per tuning-sweep / shift run
    "metrics.sweep_lrs":          ((1e-3, 1e-2), (3e-4, 1e-3, 3e-3), (3e-4, 1e-3, 3e-3, 1e-2)),
    "metrics.sweep_batch_sizes":  ((16,),   (16, 64), (8, 32, 128)),
    "metrics.overfit_frac":       (0.5,     0.25,    0.25),   # share of train pairs in the overfitting study
    "metrics.overfit_epochs":     (4,       40,      60),
    "metrics.refine_seed_frac":   (0.3,     0.15,    0.15),   # labelled share of train at round 0 (rest: the pool)
    "metrics.refine_rounds":      (1,       4,       4),      # label-and-retrain rounds
    "metrics.refine_batch":       (8,       40,      80),     # pairs sent to annotators per round
    "metrics.refine_repeats":     (1,       3,       5),      # seeds averaged (random selection is noisy)
    "metrics.refine_epochs":      (3,       12,      20),
    # chapter 4: PPO with a KL penalty
    "ppo.lora_r":                 (8,       16,      16),     # LoRA rank of the policy's adapters
    "ppo.lora_layers":            (2,       8,       None),   # adapters on the top N decoder layers (None = all)
    "ppo.steps":                  (2,       24,      120),    # PPO iterations of the main run (cpu: 24 with the
                                                              # decode sampler fit 30 min on a CPU without native bf16)
    "ppo.batch_size":             (4,       16,      64),     # episodes per rollout
    "ppo.minibatch_size":         (4,       4,       16),     # episodes per gradient step
    "ppo.epochs":                 (1,       4,       4),      # PPO epochs over each rollout (cheap: trunk cached)
    "ppo.max_new_tokens":         (24,      48,      96),     # response budget (an unfinished response is penalised)
    "ppo.samples_per_prompt":     (2,       1,       1),      # answers to each prompt per rollout (ci: the code path)
    "ppo.baseline":               ("loo",   "value", "value"),  # "value" (GAE's head) | "loo": + leave-one-out score
    "ppo.temperature":            (0.7,     0.7,     0.7),    # sampling = log-prob temperature
    "ppo.sampler":                ("decode", "decode", "generate"),  # rollouts and the judge: decode.Sampler
                                   # (LoRA merged; it also hands PPO the frozen trunk) | model.generate; on 2 free
                                   # fp32 cores a cpu-size step was faster with decode (benchmarks/NOTES.md)
    "ppo.lr":                     (5e-4,    5e-4,    3e-4),   # AdamW on the LoRA adapters and value head
    "ppo.beta":                   (0.1,     0.1,     0.1),    # initial KL coefficient
    "ppo.target_kl":              (6.0,     6.0,     6.0),    # adaptive controller target, nats per response
    "ppo.kl_horizon":             (64,      64,      1_000),  # episodes over which β responds (short runs: short)
    "ppo.eval_prompts":           (8,       50,      50),     # held-out test prompts judged by the gold utility
    "ppo.eval_samples":           (1,       3,       8),      # responses per eval prompt and model (CIs by prompt)
    "ppo.eval_long_tokens":       (48,      160,     256),    # the reference's ample budget is sought up to here
    "ppo.sweep_betas":            ((0.0,),  (0.0, 0.3), (0.0, 0.01, 0.1, 0.3)),  # fixed-β runs for the trade-off
    "ppo.sweep_steps":            (1,       3,       60),     # short runs: the gpu profile shows the curve
    "ppo.trl_steps":              (1,       1,       30),     # TRL GRPO steps in the comparison section (cpu: 1, for the budget)
    # chapter 5: chatbots, voice (language applications; PPO sizes not listed here are chapter 4's ppo.* rows)
    "apps.chat_rm_epochs":        (3,       6,       20),     # FFN reward model on frozen features (QA + summaries)
    "apps.chat_rm_seeds":         (1,       3,       5),      # FFNs averaged in the ensemble
    "apps.chat_ppo_steps":        (2,       8,       100),    # PPO iterations on QA + summarisation train prompts
    "apps.chat_eval_prompts":     (6,       None,    None),   # held-out test prompts judged (None = all 34)
    "apps.chat_eval_samples":     (1,       2,       4),      # responses per test prompt and model
    "apps.chat_eval_long_tokens": (48,      160,     256),    # the reference's ample budget is sought up to here
    "apps.voice_max_prompts":     (24,      None,    None),   # voice prompts used (None = all of data/voice_prompts.jsonl)
    # ci and cpu sample with the same settings, so both reuse the responses shipped in data/voice_responses.jsonl
    "apps.voice_samples_per_prompt": (4,    4,       8),      # base-model responses per voice prompt
    "apps.voice_sample_tokens":   (64,      64,      96),     # their token budget (long enough to see the habits)
    "apps.voice_rm_max_length":   (192,     192,     256),    # prompt + response tokens the voice RM reads
    "apps.voice_rm_epochs":       (3,       15,      30),
    "apps.voice_rm_seeds":        (1,       3,       5),
    "apps.voice_ppo_steps":       (2,       8,       100),
    "apps.voice_max_new_tokens":  (24,      40,      64),     # PPO response budget: a spoken answer is short
    "apps.voice_eval_samples":    (1,       2,       4),
    "apps.voice_eval_long_tokens": (48,     160,     256),    # the reference's ample budget is sought up to here
    # chapter 5: images, music, iteration (small custom-token generators; rlhf_lib.apps.seqrl, sprites, melody)
    "apps.img_sprites":           (600,     4000,    20000),  # procedural 8x8 sprites the generator learns from
    "apps.img_hidden":            (32,      64,      128),    # tiny Llama generator: width ...
    "apps.img_layers":            (2,       2,       4),      # ... and decoder layers
    "apps.img_pretrain_epochs":   (1,       3,       4),
    "apps.img_pool":              (96,      1024,    4096),   # generator samples shown to the rater panel ...
    "apps.img_pool_temperature":  (1.5,     1.5,     1.5),    # ... half of them drawn hotter, so raters see failures
    "apps.img_pairs":             (120,     5000,    16000),  # pairs the panel compares (85% train, 15% val)
    "apps.img_rm_dim":            (32,      48,      64),     # width of the bidirectional transformer RM
    "apps.img_rm_epochs":         (2,       10,      10),
    "apps.img_ppo_steps":         (2,       40,      200),
    "apps.img_ppo_lr":            (3e-4,    3e-4,    3e-4),   # images' own PPO lr (seq_ppo_lr's 1e-3 fails even on the gold)
    "apps.img_missing_eos_penalty": (-2.0,  -2.0,    -2.0),   # a sprite that never ends is truncated: fixed low score
    "apps.img_beta":              (0.05,    0.05,    0.05),   # fixed KL coefficient (nats are cheap: 64 tokens)
    "apps.mus_melodies":          (600,     4000,    20000),  # procedural 16-note melodies
    "apps.mus_hidden":            (32,      64,      128),
    "apps.mus_layers":            (2,       2,       4),
    "apps.mus_pretrain_epochs":   (1,       3,       4),
    "apps.mus_pool":              (96,      1024,    4096),
    "apps.mus_pairs":             (120,     1500,    6000),
    "apps.mus_rm_dim":            (32,      48,      64),
    "apps.mus_rm_epochs":         (2,       6,       10),
    "apps.mus_ppo_steps":         (2,       40,      200),
    "apps.mus_beta":              (0.05,    0.05,    0.05),
    "apps.seq_ppo_batch_size":    (8,       32,      64),     # episodes per rollout (images and music)
    "apps.seq_ppo_minibatch":     (8,       16,      16),
    "apps.seq_ppo_epochs":        (2,       4,       4),
    "apps.seq_ppo_lr":            (1e-3,    1e-3,    5e-4),   # AdamW, full fine-tuning of the tiny generator
    "apps.seq_panel":             (5,       5,       5),      # simulated raters per pair
    "apps.seq_eval_samples":      (32,      256,     1024),   # samples per model for the gold win rate
    "apps.iter_steps":            (2,       30,      150),    # PPO steps of each round of the iterate notebook
    "apps.iter_pairs":            (80,      1000,    4000),   # round-2 pairs, on the round-1 policy's samples
    "apps.iter_val_pairs":        (40,      300,     1000),   # held-out pairs on tuned samples (RM accuracy)
    # the language model's second round (python -m rlhf_lib.iterate; 5.5 shows the recorded run): PPO sizes are ppo.*
    "apps.iter_lm_prompts":       (8,       48,      None),   # train prompts the round-1 policy answers for new feedback
    "apps.iter_lm_val_prompts":   (8,       24,      None),   # val prompts whose answer pairs measure RM1 / RM2 there
    "apps.iter_lm_samples":       (2,       4,       4),      # answers per prompt (K(K-1)/2 pairs each)
    "apps.iter_lm_temperature":   (1.0,     1.0,     1.0),    # of those answers: at PPO's 0.7 the round-1 policy often
                                                              # gives one answer 4 times, and a duplicate is no pair
    "apps.iter_lm_steps":         (2,       12,      120),    # PPO steps of each round-2 run (round 1: ppo.steps)
    "apps.iter_lm_target_kl":     (12.0,    12.0,    12.0),   # round 2's KL target: the reference stays the base model
    "apps.iter_lm_eval_samples":  (1,       2,       8),      # answers per test prompt and policy (ppo.eval_prompts)
    # chapter 6: beyond PPO (best-of-n, DPO, RLOO vs PPO; LoRA, temperature and token budget are chapter 4's ppo.*)
    "beyond.eval_prompts":        (7,       32,      100),    # stratified held-out prompts every method is judged on
    "beyond.eval_samples":        (1,       2,       4),      # answers per prompt and method (same seeds for all)
    "beyond.bon_ns":              ((1, 2, 4), (1, 2, 4, 8), (1, 2, 4, 8, 16, 32, 64)),  # best-of-n curve (same prompts)
    "beyond.dpo_pairs":           (8,       256,     None),   # chapter-1 train pairs DPO sees (None = all)
    "beyond.dpo_epochs":          (1,       1,       2),
    "beyond.dpo_batch_size":      (8,       8,       32),     # pairs per DPO step
    "beyond.dpo_lr":              (3e-4,    3e-4,    1e-4),   # AdamW on the LoRA adapters
    "beyond.dpo_beta":            (0.1,     0.1,     0.1),    # β of the DPO loss (the KL strength it assumes)
    "beyond.implicit_pairs":      (4,       48,      None),   # test pairs for DPO's implicit-reward accuracy
    "beyond.online_steps":        (1,       4,       30),     # RLOO and same-budget PPO: rollouts of ppo.batch_size
    "beyond.rloo_group":          (2,       4,       8),      # answers per prompt in an RLOO group
}

# The rows whose gpu value picks other code, not another size: gpu-smoke takes these from the gpu column and
# every other row from the ci column. ("None = all" rows are sizes: the smoke profile keeps ci's numbers.)
GPU_CHOICES = (
    "reward.arch",         # "lora": chapter 2's transformer is the LoRA model, no top-k cache, §6's LoRA cell skipped
    "reward.lora_epochs",  # None: no second (LoRA) reward model after the first
    "ppo.lora_layers",     # None: LoRA on every layer, no frozen trunk cached (chapters 4-6)
    "ppo.sampler",         # "generate": transformers' sampler (the decode loop is measured on CPUs only)
)


# The range of a numeric row's values, checked on every override (`--set`, a run file, `config.load(**overrides)`)
# before anything loads: (kind, lowest, highest), kind "int" (an integer: 1.5 and 2.0 are refused) or "num" (a finite
# number); a lowest of "0+" means above zero; None: unbounded; "layers" / "context" (highest): the model's number of
# decoder layers / positions (`model_size`). A row not listed here: an integer >= 1 where the table holds integers, a number > 0 where
# it holds other numbers. The table's own values always lie in these ranges (tests/test_config.py).
RANGES: dict[str, tuple] = {
    "sft.seed": ("int", 0, None),
    "data.samples_per_prompt": ("int", 2, None),       # a pair needs two answers
    "data.top_p": ("num", "0+", 1),
    "reward.top_k": ("int", 1, "layers"),               # of model.name, the reward model's base
    "reward.ffn_layer": ("int", 0, "layers"),           # 0 = the embeddings
    "reward.epochs": ("num", "0+", None),              # a fraction is part of an epoch (reward.TrainConfig)
    "reward.ffn_epochs": ("num", "0+", None),
    "metrics.overfit_frac": ("num", "0+", 1),
    "metrics.refine_seed_frac": ("num", "0+", 1),
    "ppo.lora_layers": ("int", 0, "layers"),            # of model.policy; 0 (like None) = every layer
    "reward.max_length": ("int", 1, "context"),         # tokens the reward model reads: at most its context
    "sft.max_length": ("int", 1, "context"),
    "ppo.beta": ("num", 0, None),                       # 0: no KL penalty
    "apps.img_missing_eos_penalty": ("num", None, None),
    "apps.img_beta": ("num", 0, None),
    "apps.mus_beta": ("num", 0, None),
    "beyond.rloo_group": ("int", 2, None),              # leave-one-out needs another answer
    "apps.iter_lm_samples": ("int", 2, None),
}
CHOICES = {"reward.arch": ("topk", "lora"), "ppo.baseline": ("value", "loo"), "ppo.sampler": ("decode", "generate")}
SMOLLM2_LAYERS, SMOLLM2_CONTEXT = 30, 8192  # decoder layers and positions of the course's model and its SFT model


class SettingError(ValueError):
    """A setting outside its row's kind or range; `key` names the row (the command line says where it came from)."""

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key


def detect_profile() -> str:
    """The profile named by RLHF_PROFILE, else one guessed from the environment and hardware."""
    name = os.environ.get("RLHF_PROFILE", "").strip().lower()
    if name:
        if name not in PROFILES:
            raise ValueError(f"RLHF_PROFILE={name!r} is not a profile; choose one of {', '.join(PROFILES)}")
        return name
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        return "ci"
    return "gpu" if torch.cuda.is_available() else "cpu"


def load(profile: str | None = None, **overrides) -> SimpleNamespace:
    """The configuration of one profile as nested attributes: `cfg.data.samples_per_prompt`.

    Overrides use the table's dotted names with `__` for the dot: `load("cpu", data__max_prompts=10)`.
    """
    profile = profile or detect_profile()
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    col = COLUMNS.index("ci" if profile == "gpu-smoke" else profile)
    values = {key: row[col] for key, row in TABLE.items()}
    if profile == "gpu-smoke":
        values.update({key: TABLE[key][COLUMNS.index("gpu")] for key in GPU_CHOICES})
    for key, value in overrides.items():
        dotted = key.replace("__", ".")
        if dotted not in values:
            import difflib

            near = difflib.get_close_matches(dotted.lower(), list(values), n=1) or \
                [k for k in values if k.split(".")[-1] == dotted.lower().split(".")[-1]][:1]
            err = KeyError(f"override {dotted!r} is not in rlhf_lib.config.TABLE" +
                           (f" (did you mean {near[0]!r}?)" if near else ""))
            err.key = dotted  # where the command line says it came from (--set or the run file)
            raise err
        _check_override(dotted, value)
        values[dotted] = value
    changed = {key.replace("__", ".") for key in overrides}
    for dotted in changed:
        _check_range(dotted, values[dotted], values)
    _check_together(values, changed)
    seed = os.environ.get("RLHF_SEED", "0").strip()
    if not (seed.isascii() and seed.isdigit()):  # "-1", "--5", "²", "1e3": numpy's seeds are 0 .. 2**32 - 1
        raise ValueError(f"RLHF_SEED={seed!r} is not an integer from 0 to 2**32 - 1")
    if int(seed) >= 2**32:
        raise ValueError(f"RLHF_SEED={seed!r} is not an integer from 0 to 2**32 - 1 (numpy's seeds)")
    cfg = SimpleNamespace(profile=profile, seed=int(seed))
    for dotted, value in values.items():
        section, name = dotted.split(".")
        if not hasattr(cfg, section):
            setattr(cfg, section, SimpleNamespace())
        setattr(getattr(cfg, section), name, value)
    return cfg


def _check_override(dotted: str, value) -> None:
    """An override has the kind of value its row holds: a number where the table has numbers ("16" is not 16)."""
    kinds = {type(v) for v in TABLE[dotted] if v is not None}
    numeric = kinds <= {int, float}
    if value is None:
        if None not in TABLE[dotted]:
            raise SettingError(dotted, f"override {dotted}=None: this setting needs a value (the table has "
                                       f"{TABLE[dotted]})")
    elif numeric and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise SettingError(dotted, f"override {dotted}={value!r}: expected a number like the table's {TABLE[dotted]}")
    elif kinds == {str} and not isinstance(value, str):
        raise SettingError(dotted, f"override {dotted}={value!r}: expected a string like the table's {TABLE[dotted]}")
    elif kinds == {tuple} and (not isinstance(value, list | tuple) or not value
                               or any(isinstance(v, bool) or not isinstance(v, int | float) for v in value)):
        raise SettingError(dotted, f"override {dotted}={value!r}: expected a non-empty list of numbers like the "
                                   f"table's {TABLE[dotted]}")


def value_range(dotted: str) -> tuple:
    """(kind, lowest, highest) of a numeric row: its `RANGES` entry, else an integer >= 1 where the table holds
    integers only and a number > 0 otherwise."""
    if dotted in RANGES:
        return RANGES[dotted]
    ints = all(isinstance(v, int) for v in TABLE[dotted] if v is not None)
    return ("int", 1, None) if ints else ("num", "0+", None)


def model_size(name, field: str = "num_hidden_layers") -> int | None:
    """A size of a model named in the table (the course's model, its SFT model, or a local folder, read from its
    config.json without loading weights): "num_hidden_layers" or "max_position_embeddings"; None when unknown
    without loading it (a hub id)."""
    if name in ("smollm2", "smollm2-sft", None, ""):
        return SMOLLM2_LAYERS if field == "num_hidden_layers" else SMOLLM2_CONTEXT
    path = Path(str(name)) / "config.json"
    if path.is_file():
        import json

        try:
            return int(json.loads(path.read_text()).get(field))
        except (ValueError, TypeError, AttributeError):
            return None
    return None


def _check_model_name(dotted: str, value) -> None:
    """A model named by a local path (absolute, "./...", "~/...", or more than one "/": a hub id is "owner/name")
    must be a folder with a config.json, refused here rather than by transformers after other models loaded."""
    if not isinstance(value, str) or value in ("smollm2", "smollm2-sft"):
        return
    path = Path(value).expanduser()
    if (path.is_absolute() or value.startswith((".", "~")) or value.count("/") > 1) and \
            not (path / "config.json").is_file():
        what = "no such folder" if not path.exists() else "a folder without config.json" if path.is_dir() else "a file"
        raise SettingError(dotted, f"override {dotted}={value!r}: {what}; a model is smollm2, smollm2-sft, a folder "
                                   f"saved by transformers (with config.json) or a hub id owner/name")


def _check_range(dotted: str, value, values: dict) -> None:
    """An override lies in its row's range (`value_range`, `CHOICES`): refused up front, naming the row, the value
    and the range, instead of failing after a model loaded or training ran (or running 0 steps without a word)."""
    if all(isinstance(v, bool) for v in TABLE[dotted] if v is not None):  # a switch
        if value is not None and not isinstance(value, bool):
            raise SettingError(dotted, f"override {dotted}={value!r}: must be true or false")
        return
    if value is None or isinstance(value, str):
        if isinstance(value, str) and dotted in CHOICES and value not in CHOICES[dotted]:
            raise SettingError(dotted, f"override {dotted}={value!r}: must be one of {', '.join(CHOICES[dotted])}")
        if dotted in ("model.name", "model.policy"):
            _check_model_name(dotted, value)
        return
    if isinstance(value, list | tuple):  # a list row (sweeps, layers): each value at least 0
        bad = [v for v in value if not math.isfinite(v) or v < 0]
        if bad:
            raise SettingError(dotted, f"override {dotted}={value!r}: every value must be a finite number >= 0")
        return
    kind, lo, hi = value_range(dotted)
    bound = hi if hi in ("layers", "context") else None
    if bound:
        model = values["model.policy" if dotted.startswith(("ppo.", "sft.")) else "model.name"]
        hi = model_size(model, "num_hidden_layers" if bound == "layers" else "max_position_embeddings")
    allowed = ("an integer" if kind == "int" else "a finite number") + \
        (" > 0" if lo == "0+" else f" >= {lo}" if lo is not None else "") + (f" and <= {hi}" if hi is not None else "")
    if bound and hi is not None:
        allowed += f" (the model has {hi} {'decoder layers' if bound == 'layers' else 'positions of context'})"
    ok = math.isfinite(value) and (kind == "num" or isinstance(value, int)) and \
        (lo is None or (value > 0 if lo == "0+" else value >= lo)) and (hi is None or value <= hi)
    if not ok:
        raise SettingError(dotted, f"override {dotted}={value!r}: must be {allowed} (the table has {TABLE[dotted]})")


def _check_together(values: dict, changed: set) -> None:
    """The rows that must agree with each other (PPO's batch shape), checked when an override touches one of them:
    what `ppo.train` would refuse only after the model loaded and the reference was sampled."""
    rows = ("ppo.batch_size", "ppo.minibatch_size", "ppo.samples_per_prompt", "ppo.baseline")
    if not changed & set(rows):
        return
    batch, mini, k, baseline = (values[r] for r in rows)
    key = next(r for r in rows if r in changed)  # the override that broke the agreement: where the message points
    if batch % mini:
        raise SettingError(key, f"ppo.minibatch_size={mini} must divide ppo.batch_size={batch} (episodes per "
                                f"gradient step, out of each rollout's)")
    if batch % k:
        raise SettingError(key, f"ppo.samples_per_prompt={k} must divide ppo.batch_size={batch} (each prompt's "
                                f"answers are drawn together)")
    if baseline == "loo" and k < 2:
        raise SettingError(key, f"ppo.baseline='loo' needs ppo.samples_per_prompt >= 2 (got {k}): the leave-one-out "
                                f"baseline is the other answers to the same prompt")


def table_rows() -> list[tuple]:
    """The size table as rows (setting, ci, cpu, gpu), for display in a notebook."""
    return [(key, *row) for key, row in TABLE.items()]


# ---------------------------------------------------------------------------------------------- paths
REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / "data"  # shipped, versioned inputs


def artifacts_dir(profile: str | None = None) -> Path:
    """Where the chapters write models, caches and figures: `artifacts/<profile>/`, git-ignored.

    One folder per profile, so a quick `ci` run never replaces what a `cpu` run built. `RLHF_ARTIFACTS` moves it.
    """
    if os.environ.get("RLHF_ARTIFACTS"):
        path = Path(os.environ["RLHF_ARTIFACTS"])
    else:
        path = REPO_ROOT / "artifacts" / (profile or detect_profile())
    return _folder(path, "RLHF_ARTIFACTS")


def check_writable(path: str | Path, option: str) -> None:
    """Refuse a path a run could not write a folder to: an existing file, a file among its parents, or a folder
    without write permission. Raises ValueError naming the option, the path and the cause."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{option} {path}: is a file, not a folder; name a folder (it is created if missing)")
    parent = path
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ValueError(f"{option} {path}: {parent} is a file, so no folder can be made under it")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"{option} {path}: {parent} is not writable (permissions)")


def _folder(path: Path, variable: str) -> Path:
    """`path` made as a folder, or a ValueError naming the variable that moves it (a file in the way: was a bare
    FileExistsError)."""
    if not path.is_dir():
        check_writable(path, variable)
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    """Long-lived cache shared by every clone (the converted base model): `RLHF_CACHE` moves it."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "rlhf-course"
    return _folder(Path(os.environ.get("RLHF_CACHE", default)), "RLHF_CACHE")


def sft_settings(cfg) -> dict:
    """What trains a profile's SFT model (its sft.* rows): the fields of `sft.SFTConfig`."""
    S = cfg.sft
    return {"epochs": S.epochs, "lr": S.lr, "batch_size": S.batch_size, "lora_r": S.lora_r, "max_length": S.max_length,
            "seed": S.seed}


def sft_dir(settings: dict, demos_digest: str | None = None) -> Path:
    """Cache folder of the SFT model trained with `settings` (`sft_settings`) on the demonstrations whose content
    hashes to `demos_digest` (default: data/demos.jsonl's), named by both: another setting or another
    demonstration set is another model, never a stale one."""
    if demos_digest is None:
        demos_digest = hashlib.sha256((DATA_DIR / "demos.jsonl").read_bytes()).hexdigest()[:10]
    tag = "-".join(f"{k}{v}" for k, v in settings.items())
    return cache_dir() / "models" / f"SmolLM2-135M-SFT-{tag}-demos{demos_digest}"


# ---------------------------------------------------------------------------------------------- seeds
def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and torch so that a chapter repeats run to run on the same hardware."""
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 -- seeds the legacy global generator learners' code may use
    torch.manual_seed(seed)
