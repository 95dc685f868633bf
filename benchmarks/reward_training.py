"""Reward-model training pairs/s: our explicit loop (`rlhf_lib.reward.train`) against TRL's `RewardTrainer`.

Both train chapter 2's transformer reward model (the top-k layers of SmolLM2 on cached frozen states, as
`rlhf_lib.features.train_with_trl` does for TRL) on the same pairs, batch size, learning rate and precision.
We time every optimisation step after the first and report the median: pairs/s = batch / median step.

Our loop batches the pairs of a prompt together (`group_by_prompt`) and scores each unique response once, so
a batch of B pairs often needs fewer than 2B forward passes; `ours_loop_shuffled` turns the grouping off to
show how much of the difference that is.
"""

from __future__ import annotations

import time

from .common import median


def options(quick: bool, profile: str) -> dict:
    from rlhf_lib import config

    if quick:
        return {"model": "tiny", "top_k": 1, "max_length": 64, "train_pairs": 24, "batch": 8, "lr": 1e-4,
                "profile": profile}
    cfg = config.load(profile)
    return {"model": cfg.model.name, "top_k": cfg.reward.top_k, "max_length": cfg.reward.max_length,
            "train_pairs": 112, "batch": cfg.reward.batch_size, "lr": cfg.reward.lr, "profile": profile}


def _setup(opts: dict):
    """(top-k model, feature cache, pair table): the same for every contestant (cache shared on disk)."""
    from rlhf_lib import features, models, pairs, reward
    from rlhf_lib.data import load_preferences

    if opts["model"] == "tiny":
        from .models_for_bench import tiny_reward_model

        model, tokenizer = tiny_reward_model()
        model.requires_grad_(False)
        for module in (*model.model.layers[-opts["top_k"]:], model.model.norm, model.score):
            module.requires_grad_(True)
        path, cache = "", False
    else:
        model, tokenizer = reward.load_transformer_rm(opts["model"], "topk", opts["top_k"], seed=0)
        path, cache = models.resolve(opts["model"]), True
    table = pairs.build_pairs(load_preferences(), tokenizer, opts["max_length"],
                              {"train": opts["train_pairs"], "val": 8, "test": 8}, seed=0)
    feats = features.extract(model, tokenizer, table, opts["top_k"], path, cache=cache, progress=False)
    return reward.top_layers_model(model, opts["top_k"]), feats, table


def _summary(stamps: list[float], batch: int) -> dict:
    steps = [b - a for a, b in zip(stamps[1:], stamps[2:], strict=False)]  # the first step is a warm-up
    med = median(steps)
    return {"seconds_per_step": steps, "median_s_per_step": med, "pairs_per_s": batch / med}


def _ours(opts: dict, grouped: bool) -> dict:
    from rlhf_lib import features, reward

    top, feats, table = _setup(opts)
    fn, stamps = features.topk_reward_fn(top, feats), []

    def timed_fn(idx):  # called once per training step (model in train mode), then by the final evaluation
        if top.training:
            stamps.append(time.perf_counter())
        return fn(idx)

    cfg = reward.TrainConfig(lr=opts["lr"], batch_size=opts["batch"], epochs=1, eval_every=10_000, patience=1,
                             group_by_prompt=grouped, seed=0)
    reward.train(top, timed_fn, table.splits["train"], table.splits["val"], cfg, autocast=True, progress=False)
    return _summary(stamps, opts["batch"])


def ours(opts: dict) -> dict:
    return _ours(opts, grouped=True)


def ours_shuffled(opts: dict) -> dict:
    return _ours(opts, grouped=False)


def trl(opts: dict) -> dict:
    import tempfile

    from transformers import TrainerCallback

    from rlhf_lib import features, reward

    top, feats, table = _setup(opts)
    stamps: list[float] = []

    class Clock(TrainerCallback):
        def on_step_begin(self, *a, **k):
            stamps.append(time.perf_counter())

    cfg = reward.TrainConfig(lr=opts["lr"], batch_size=opts["batch"], epochs=1, seed=0)
    from trl import RewardTrainer

    original = RewardTrainer.__init__

    def with_clock(self, *a, **k):  # train_with_trl builds the trainer: add our clock to its callbacks
        original(self, *a, **k)
        self.add_callback(Clock())

    RewardTrainer.__init__ = with_clock
    try:
        with tempfile.TemporaryDirectory() as tmp:
            features.train_with_trl(top, feats, table, cfg, epochs=1, output_dir=tmp, eval_steps=None)
    finally:
        RewardTrainer.__init__ = original
    return _summary(stamps, opts["batch"])


CONTESTANTS = {"ours_loop": ours, "ours_loop_shuffled": ours_shuffled, "trl_reward_trainer": trl}
RATIOS = [("ours_loop", "trl_reward_trainer", "pairs_per_s"),
          ("ours_loop_shuffled", "trl_reward_trainer", "pairs_per_s")]
