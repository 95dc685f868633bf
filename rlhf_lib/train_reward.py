"""Chapter 2's transformer reward model, headless: the top-k layers of SmolLM2 on cached frozen states.

    python -m rlhf_lib.train_reward --config cpu                      # our explicit loop (reward.train)
    python -m rlhf_lib.train_reward --config cpu --engine trl         # TRL's RewardTrainer, same data and model
    accelerate launch --num_processes 2 --cpu -m rlhf_lib.train_reward --config ci --engine trl
    accelerate launch --multi_gpu --num_processes 4 -m rlhf_lib.train_reward --config gpu --engine trl

Our loop is the course's single-process reference; data parallelism comes from TRL's trainer (an HF `Trainer`:
under `accelerate launch` it wraps the model in DistributedDataParallel and shards the pairs), so `--engine trl`
is the one to launch on several processes. The frozen features are extracted once, by the main process, and
cached for the others. Writes `<output_dir>/reward_model` (what `reward.load_reward_model` reads).
`load_or_train()` is the same recipe in-process, for the chapters that need chapter 2's model when it is missing.
"""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path

import torch

from . import config, features, launch, models, pairs, reward
from .data import load_panel_votes, load_preferences


def main(argv: list[str] | None = None) -> int:
    p = launch.parser(__doc__)
    p.add_argument("--engine", choices=("ours", "trl"), default="ours")
    args = p.parse_args(argv)
    cfg = launch.load_run(args.config, args.set, args.output_dir)
    state = launch.process_state()
    if args.engine == "ours" and state.num_processes > 1:
        raise SystemExit("--engine ours is the single-process loop of chapter 2; launch several processes with "
                         "--engine trl (TRL's RewardTrainer is data parallel under accelerate)")
    train_and_save(cfg, cfg.output_dir / "reward_model", args.engine, state)
    state.wait_for_everyone()
    return 0


def train_and_save(cfg, path: str | Path, engine: str = "ours", state=None) -> Path:
    """Chapter 2's recipe at the sizes of `cfg` (`config.load`; engine "trl" also writes to `cfg.output_dir`, as
    `launch.load_run` sets it): top-k transformer RM, Bradley-Terry, AdamW, every panel label; saved to `path`.
    `state`: accelerate's process state under a launcher (None: one process)."""
    main_process = state is None or state.is_main_process
    processes = 1 if state is None else state.num_processes
    config.seed_everything(cfg.seed)
    r = cfg.reward
    model, tokenizer = reward.load_transformer_rm(cfg.model.name, "topk", r.top_k, seed=cfg.seed)
    prefs = load_preferences()
    table = pairs.build_pairs(prefs, tokenizer, r.max_length,
                              {"train": r.max_train_pairs, "val": r.max_eval_pairs, "test": r.max_eval_pairs},
                              seed=cfg.seed)
    votes = load_panel_votes()
    if votes and engine == "ours":  # every panel label (soft targets); TRL takes one label per pair
        pairs.add_vote_splits(table, prefs, votes)
    tr, va = ("train_votes", "val_votes") if "train_votes" in table.splits else ("train", "val")
    # the main process extracts and caches, the others read the cache
    with state.main_process_first() if state is not None else contextlib.nullcontext():
        cache = features.extract(model, tokenizer, table, r.top_k, models.resolve(cfg.model.name),
                                 r.feature_batch_size, progress=main_process)
    top = reward.top_layers_model(model, r.top_k)
    tcfg = reward.TrainConfig(lr=r.lr, batch_size=r.batch_size, epochs=r.epochs, eval_every=r.eval_every,
                              patience=r.patience, center_coef=0.01, seed=cfg.seed)
    start = time.perf_counter()
    if engine == "ours":
        result = reward.train(top, features.topk_reward_fn(top, cache), table.splits[tr], table.splits[va], tcfg,
                              autocast=True, desc="train RM (top-k)")
        val_accuracy = result.best_val_accuracy
    else:
        trainer = features.train_with_trl(top, cache, table, tcfg, epochs=r.trl_epochs,
                                          output_dir=cfg.output_dir / "trl_reward", eval_steps=None)
        val_accuracy = None
        if main_process:
            val = table.splits["val"]
            with torch.no_grad():
                rc, rr = reward.score_split(features.topk_reward_fn(top, cache), val)
            val_accuracy = reward.pairwise_accuracy(rc, rr)
        del trainer
    seconds = time.perf_counter() - start
    path = Path(path)
    if main_process:
        info = {"arch": "topk", "top_k": r.top_k, "max_length": r.max_length, "profile": cfg.profile,
                "engine": engine, "processes": processes, "seconds": seconds,
                "val_accuracy": val_accuracy, "trained_by": "rlhf_lib.train_reward"}
        reward.save_reward_model(model, tokenizer, path, info)
        print(f"reward model ({engine}, {processes} process(es), {seconds:.0f} s, val accuracy "
              f"{val_accuracy:.3f}) saved to {path}")
    return path


def load_or_train(path: str | Path | None = None, device: str | None = None):
    """(model, tokenizer) of chapter 2's reward model (`reward.load_reward_model`), trained first when it is missing.

    What later chapters call, so each runs without chapter 2 having run: the missing model is trained by
    `train_and_save` at this profile's sizes (a few minutes on a CPU).
    """
    path = Path(path or config.artifacts_dir() / reward.REWARD_DIR)
    if not (path / "model.safetensors").is_file():
        print(f"no reward model at {path}: training a small one (this profile's sizes) ...")
        train_and_save(config.load(), path)
    return reward.load_reward_model(path, device)


if __name__ == "__main__":
    sys.exit(main())
