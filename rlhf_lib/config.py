"""Profiles, paths and seeds: every size of every chapter lives in the one table below.

A profile is chosen once per process: `RLHF_PROFILE` (ci | cpu | gpu) if set, else `ci` when the
`CI` variable is set, else `gpu` when CUDA is available, else `cpu`.

    ci   nbval in CI: each chapter in minutes on 2 cores; the numbers only show the code runs.
    cpu  a learner without a GPU: real results, each chapter well under 30 minutes on 2 cores.
    gpu  one GPU: larger batches and more samples; a hub model may replace the embedded one.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

PROFILES = ("ci", "cpu", "gpu")

# setting                          ci       cpu      gpu      what it sizes
TABLE: dict[str, tuple] = {
    # chapter 0: the base model
    "model.name":                 ("smollm2", "smollm2", "smollm2"),  # embedded GGUF, a hub id or a folder
    "model.max_new_tokens":       (48,      96,      160),    # answer length when chatting
    "model.probe_samples":        (4,       16,      32),     # samples per probe question in chapter 0
    # chapter 1: preference data
    "data.max_prompts":           (48,      None,    None),   # None = every prompt in data/prompts.jsonl
    "data.samples_per_prompt":    (2,       4,       8),      # K responses sampled per prompt
    "data.max_new_tokens":        (48,      96,      160),
    "data.temperature":           (0.9,     0.9,     0.9),
    "data.top_p":                 (0.95,    0.95,    0.95),
    "data.gen_batch_size":        (16,      32,      128),
    "data.n_annotators":          (5,       5,       5),
    # chapter 2: reward model
    "reward.arch":                ("ffn",   "lora",  "full"), # best architecture trained per profile
    "reward.max_length":          (192,     256,     512),    # prompt + response tokens seen by the RM
    "reward.batch_size":          (16,      16,      32),
    "reward.epochs":              (1,       3,       3),
    "reward.lr":                  (1e-4,    1e-4,    2e-5),
    "reward.ffn_lr":              (1e-3,    1e-3,    1e-3),
    "reward.ffn_epochs":          (30,      60,      60),
    "reward.lora_r":              (8,       16,      16),
    "reward.max_train_pairs":     (256,     None,    None),
    "reward.eval_every":          (8,       25,      50),
    "reward.patience":            (3,       4,       4),
}


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
    col = PROFILES.index(profile)
    values = {key: row[col] for key, row in TABLE.items()}
    for key, value in overrides.items():
        dotted = key.replace("__", ".")
        if dotted not in values:
            raise KeyError(f"override {dotted!r} is not in rlhf_lib.config.TABLE")
        values[dotted] = value
    cfg = SimpleNamespace(profile=profile, seed=int(os.environ.get("RLHF_SEED", 0)))
    for dotted, value in values.items():
        section, name = dotted.split(".")
        if not hasattr(cfg, section):
            setattr(cfg, section, SimpleNamespace())
        setattr(getattr(cfg, section), name, value)
    return cfg


def table_rows() -> list[tuple]:
    """The size table as rows (setting, ci, cpu, gpu), for display in a notebook."""
    return [(key, *row) for key, row in TABLE.items()]


# ---------------------------------------------------------------------------------------------- paths
REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / "data"  # shipped, versioned inputs


def artifacts_dir() -> Path:
    """Where the chapters write models, caches and figures: git-ignored, `RLHF_ARTIFACTS` moves it."""
    path = Path(os.environ.get("RLHF_ARTIFACTS", REPO_ROOT / "artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    """Long-lived cache shared by every clone (the converted base model): `RLHF_CACHE` moves it."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "rlhf-course"
    path = Path(os.environ.get("RLHF_CACHE", default))
    path.mkdir(parents=True, exist_ok=True)
    return path


# ---------------------------------------------------------------------------------------------- seeds
def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and torch so that a chapter repeats run to run on the same hardware."""
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 -- seeds the legacy global generator learners' code may use
    torch.manual_seed(seed)
