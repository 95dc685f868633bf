"""PPO episodes per second: the course's `rlhf_lib.ppo` against TRL's GRPO trainer, side by side in one run.

Same base model (SmolLM2-135M-Instruct; bf16 only where the hardware runs it natively), same LoRA adapters (rank and layers of the profile), same
reward model, same episodes per step, same response budget and temperature. We time every optimisation step
after a warm-up one and report the median seconds per step, episodes/s and generated tokens/s, and the ratio.

    python benchmarks/ppo_vs_trl.py [--profile cpu] [--steps 4] [--out benchmarks/results/ppo_vs_trl.json]

GRPO does one update pass per batch (`num_iterations=1`); our PPO is timed with 1 epoch (matched work) and with
the profile's epochs (what chapter 4 runs).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch

from rlhf_lib.reward import bf16_is_fast

# bf16 only where the hardware runs it natively, for both contestants (on other CPUs fp32 is faster)
FAST_BF16 = bf16_is_fast("cuda" if torch.cuda.is_available() else "cpu")

def time_ours(cfg, tokenizer, prompts, ids, reward_fn, epochs: int, steps: int) -> dict:
    from rlhf_lib import models, ppo

    base, _ = models.load_model(cfg.model.name, dtype=torch.bfloat16 if FAST_BF16 else torch.float32)
    n_frozen = base.config.num_hidden_layers - cfg.ppo.lora_layers if cfg.ppo.lora_layers else 0
    ac = ppo.ActorCritic(ppo.with_lora(base, r=cfg.ppo.lora_r, top_layers=cfg.ppo.lora_layers), frozen_bottom=n_frozen)
    run = ppo.PPOConfig(steps=steps + 1, batch_size=cfg.ppo.batch_size, minibatch_size=cfg.ppo.minibatch_size,
                        epochs=epochs, max_new_tokens=cfg.ppo.max_new_tokens, temperature=cfg.ppo.temperature,
                        lr=cfg.ppo.lr, beta=cfg.ppo.beta, seed=cfg.seed, autocast=FAST_BF16)
    stamps = [time.perf_counter()]
    history = ppo.train(ac, ids, prompts, reward_fn, run, tokenizer.eos_token_id, tokenizer.pad_token_id,
                        callback=lambda *a: stamps.append(time.perf_counter()))
    per_step = [b - a for a, b in zip(stamps[1:], stamps[2:], strict=False)]  # skip the warm-up step
    tokens = [h["response/length"] * run.batch_size for h in history[1:]]
    return _summary(per_step, run.batch_size, tokens)


def time_trl(cfg, tokenizer, prompts, reward_fn_text, steps: int) -> dict:
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    from rlhf_lib import config, models, ppo

    base, _ = models.load_model(cfg.model.name, dtype=torch.float32)
    lora = ppo.lora_config(base.config.num_hidden_layers, cfg.ppo.lora_r, cfg.ppo.lora_layers)
    args = GRPOConfig(output_dir=str(config.artifacts_dir() / "bench_grpo"), max_steps=steps + 1,
                      learning_rate=cfg.ppo.lr, per_device_train_batch_size=cfg.ppo.batch_size, num_generations=4,
                      max_completion_length=cfg.ppo.max_new_tokens, temperature=cfg.ppo.temperature, top_p=1.0,
                      beta=cfg.ppo.beta, logging_steps=1, report_to="none", save_strategy="no",
                      use_cpu=not torch.cuda.is_available(), bf16=FAST_BF16, seed=cfg.seed)
    data = Dataset.from_list([{"prompt": [{"role": "user", "content": p["prompt"]}]} for p in prompts])

    class Clock(TrainerCallback):
        stamps: list[float] = []

        def on_step_end(self, *a, **k):
            self.stamps.append(time.perf_counter())

    clock = Clock()
    trainer = GRPOTrainer(model=base, reward_funcs=reward_fn_text, args=args, train_dataset=data,
                          processing_class=tokenizer, peft_config=lora, callbacks=[clock])
    clock.stamps.append(time.perf_counter())
    trainer.train()
    per_step = [b - a for a, b in zip(clock.stamps[1:], clock.stamps[2:], strict=False)]
    lengths = [h["completions/mean_length"] for h in trainer.state.log_history if "completions/mean_length" in h]
    tokens = [x * cfg.ppo.batch_size for x in lengths[1:]]
    return _summary(per_step, cfg.ppo.batch_size, tokens)


def _summary(per_step: list[float], batch: int, tokens: list[float]) -> dict:
    med = statistics.median(per_step)
    return {"seconds_per_step": per_step, "median_s_per_step": med, "episodes_per_s": batch / med,
            "tokens_per_s": statistics.median(tokens) / med if tokens else None}


def main(argv=None) -> int:
    from rlhf_lib import config, data, models, ppo, reward

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--steps", type=int, default=4, help="timed steps per method, after one warm-up step")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default="benchmarks/results/ppo_vs_trl.json")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = config.load(args.profile)
    config.seed_everything(cfg.seed)
    tokenizer = models.load_tokenizer(cfg.model.name)
    rm, rm_tok = reward.load_reward_model()
    prompts = data.load_prompts("train")
    ids = ppo.chat_prompt_ids(tokenizer, prompts)
    reward_fn = ppo.text_reward_fn(rm, rm_tok, tokenizer, max_length=cfg.reward.max_length)

    reward_fn_text = ppo.trl_reward_fn(rm, rm_tok, max_length=cfg.reward.max_length)

    results = {
        "ours_ppo_1_epoch": time_ours(cfg, tokenizer, prompts, ids, reward_fn, 1, args.steps),
        f"ours_ppo_{cfg.ppo.epochs}_epochs": time_ours(cfg, tokenizer, prompts, ids, reward_fn, cfg.ppo.epochs,
                                                        args.steps),
        "trl_grpo": time_trl(cfg, tokenizer, prompts, reward_fn_text, args.steps),
    }
    results["ratio_ours_1_epoch_over_trl"] = (results["ours_ppo_1_epoch"]["episodes_per_s"]
                                              / results["trl_grpo"]["episodes_per_s"])
    import transformers
    import trl

    results["machine"] = {"cpu": platform.processor() or platform.machine(), "threads": args.threads,
                          "torch": torch.__version__, "transformers": transformers.__version__, "trl": trl.__version__,
                          "date": time.strftime("%Y-%m-%d"), "profile": args.profile,
                          "batch": cfg.ppo.batch_size, "max_new_tokens": cfg.ppo.max_new_tokens}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=1))
    for key in ("ours_ppo_1_epoch", f"ours_ppo_{cfg.ppo.epochs}_epochs", "trl_grpo"):
        r = results[key]
        print(f"{key:18s} {r['median_s_per_step']:6.1f} s/step  {r['episodes_per_s']:.3f} episodes/s  "
              f"{r['tokens_per_s'] or 0:.1f} tokens/s")
    print(f"ratio (ours, 1 epoch) / TRL GRPO: {results['ratio_ours_1_epoch_over_trl']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
