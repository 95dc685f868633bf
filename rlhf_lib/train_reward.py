"""Chapter 2's transformer reward model, headless: the top-k layers of SmolLM2 on cached frozen states.

    python -m rlhf_lib.train_reward --config cpu                      # our explicit loop (reward.train)
    python -m rlhf_lib.train_reward --config cpu --engine trl         # TRL's RewardTrainer, same data and model
    accelerate launch --num_processes 2 --cpu -m rlhf_lib.train_reward --config ci --engine trl
    accelerate launch --multi_gpu --num_processes 4 -m rlhf_lib.train_reward --config gpu --engine trl

Our loop is the course's single-process reference; data parallelism comes from TRL's trainer (an HF `Trainer`:
under `accelerate launch` it wraps the model in DistributedDataParallel and shards the pairs), so `--engine trl`
is the one to launch on several processes. The frozen features are extracted once, by the main process, and
cached for the others. Writes `<output_dir>/reward_model` (what `reward.load_reward_model` reads).
"""

from __future__ import annotations

import sys
import time

import torch

from . import config, features, launch, models, reward
from .data import load_preferences


def main(argv: list[str] | None = None) -> int:
    p = launch.parser(__doc__)
    p.add_argument("--engine", choices=("ours", "trl"), default="ours")
    args = p.parse_args(argv)
    cfg = launch.load_run(args.config, args.set, args.output_dir)
    state = launch.process_state()
    if args.engine == "ours" and state.num_processes > 1:
        raise SystemExit("--engine ours is the single-process loop of chapter 2; launch several processes with "
                         "--engine trl (TRL's RewardTrainer is data parallel under accelerate)")
    config.seed_everything(cfg.seed)
    r = cfg.reward
    model, tokenizer = reward.load_transformer_rm(cfg.model.name, "topk", r.top_k, seed=cfg.seed)
    prefs = load_preferences()
    table = reward.build_pairs(prefs, tokenizer, r.max_length,
                               {"train": r.max_train_pairs, "val": r.max_eval_pairs, "test": r.max_eval_pairs},
                               seed=cfg.seed)
    votes = reward.load_panel_votes()
    if votes and args.engine == "ours":  # every panel label (soft targets); TRL takes one label per pair
        reward.add_vote_splits(table, prefs, votes)
    tr, va = ("train_votes", "val_votes") if "train_votes" in table.splits else ("train", "val")
    with state.main_process_first():  # the main process extracts and caches, the others read the cache
        cache = features.extract(model, tokenizer, table, r.top_k, models.resolve(cfg.model.name),
                                 r.feature_batch_size, progress=state.is_main_process)
    top = reward.top_layers_model(model, r.top_k)
    tcfg = reward.TrainConfig(lr=r.lr, batch_size=r.batch_size, epochs=r.epochs, eval_every=r.eval_every,
                              patience=r.patience, center_coef=0.01, seed=cfg.seed)
    start = time.perf_counter()
    if args.engine == "ours":
        result = reward.train(top, features.topk_reward_fn(top, cache), table.splits[tr], table.splits[va], tcfg,
                              autocast=True, desc="train RM (top-k)")
        val_accuracy = result.best_val_accuracy
    else:
        trainer = features.train_with_trl(top, cache, table, tcfg, epochs=r.trl_epochs,
                                          output_dir=cfg.output_dir / "trl_reward", eval_steps=None)
        val_accuracy = None
        if state.is_main_process:
            val = table.splits["val"]
            with torch.no_grad():
                rc, rr = reward.score_split(features.topk_reward_fn(top, cache), val)
            val_accuracy = reward.pairwise_accuracy(rc, rr)
        del trainer
    seconds = time.perf_counter() - start
    if state.is_main_process:
        info = {"arch": "topk", "top_k": r.top_k, "max_length": r.max_length, "profile": cfg.profile,
                "engine": args.engine, "processes": state.num_processes, "seconds": seconds,
                "val_accuracy": val_accuracy, "trained_by": "rlhf_lib.train_reward"}
        path = reward.save_reward_model(model, tokenizer, cfg.output_dir / "reward_model", info)
        print(f"reward model ({args.engine}, {state.num_processes} process(es), {seconds:.0f} s, val accuracy "
              f"{val_accuracy:.3f}) saved to {path}")
    state.wait_for_everyone()
    return 0


if __name__ == "__main__":
    sys.exit(main())
