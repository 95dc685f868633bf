"""PPO episodes/s and tokens/s: the course's `rlhf_lib.ppo` against TRL's GRPO trainer, side by side.

Same base model (SmolLM2-135M-Instruct; bf16 only where the hardware runs it natively), same LoRA adapters
(rank and layers of the profile), same reward model, same episodes per step, same response budget and
temperature. Every optimisation step after a warm-up one is timed; we report the median seconds per step,
episodes/s and generated tokens/s.

GRPO does one update pass per batch (`num_iterations=1`); our PPO is timed with 1 epoch (matched work, the profile's
rollout sampler `ppo.sampler`) and with the profile's epochs (what chapter 4 runs) twice: with `decode.Sampler` and
with transformers' `generate` as the sampler, the A/B of what the sampler changes in a whole step. Run it alone with
`python -m benchmarks --only ppo_vs_trl`.
"""

from __future__ import annotations

import time

import torch

from .common import median
from .models_for_bench import load_base, prompt_ids


def options(quick: bool, profile: str) -> dict:
    from rlhf_lib import config

    cfg = config.load(profile)
    if quick:
        return {"model": "tiny", "batch": 4, "minibatch": 2, "epochs": 2, "max_new_tokens": 6, "steps": 2,
                "lora_r": 4, "lora_layers": 2, "temperature": 0.7, "lr": 1e-3, "beta": 0.1, "reward": "length",
                "reward_max_length": 64, "sampler": "decode", "profile": profile}
    P = cfg.ppo
    return {"model": cfg.model.name, "batch": P.batch_size, "minibatch": P.minibatch_size, "epochs": P.epochs,
            "max_new_tokens": P.max_new_tokens, "steps": 2, "lora_r": P.lora_r, "lora_layers": P.lora_layers,
            "temperature": P.temperature, "lr": P.lr, "beta": P.beta, "reward": "chapter2",
            "reward_max_length": cfg.reward.max_length, "sampler": P.sampler, "profile": profile}


def _bf16() -> bool:
    from rlhf_lib.models import bf16_is_fast

    return bf16_is_fast("cuda" if torch.cuda.is_available() else "cpu")


def _reward_fns(opts: dict, tokenizer):
    """(our `ppo.ResponseScoreFn`, TRL's reward function): the chapter-2 reward model, or the response length (--quick)."""
    from rlhf_lib import models, reward, train_reward

    if opts["reward"] == "length":
        return (lambda meta, responses: [len(r) / 8 for r in responses],
                lambda prompts, completions, **kw: [len(tokenizer(c[-1]["content"] if isinstance(c, list) else c)
                                                        ["input_ids"]) / 8 for c in completions])
    rm, rm_tok = train_reward.load_or_train(dtype=models.fast_dtype())  # as chapter 4 scores: bf16 only where native
    return (reward.text_reward_fn(rm, rm_tok, tokenizer, max_length=opts["reward_max_length"]),
            reward.trl_reward_fn(rm, rm_tok, max_length=opts["reward_max_length"]))


def _summary(per_step: list[float], batch: int, tokens: list[float]) -> dict:
    med = median(per_step)
    return {"seconds_per_step": per_step, "median_s_per_step": med, "episodes_per_s": batch / med,
            "tokens_per_s": median(tokens) / med if tokens else None}


def _ours(opts: dict, epochs: int) -> dict:
    from rlhf_lib import ppo, train_ppo

    base, tokenizer = load_base(opts)
    ac = train_ppo.lora_actor_critic(base, opts["lora_r"], opts["lora_layers"])
    ids, prompts = prompt_ids(tokenizer, 10_000)
    reward_fn, _ = _reward_fns(opts, tokenizer)
    run = ppo.PPOConfig(steps=opts["steps"] + 1, batch_size=opts["batch"], minibatch_size=opts["minibatch"],
                        epochs=epochs, max_new_tokens=opts["max_new_tokens"], temperature=opts["temperature"],
                        lr=opts["lr"], beta=opts["beta"], seed=0, autocast=_bf16(),
                        sampler=opts.get("sampler", "generate"))
    stamps = [time.perf_counter()]
    history = ppo.train(ac, ids, prompts, reward_fn, run, tokenizer.eos_token_id, tokenizer.pad_token_id,
                        progress=False, callback=lambda *a: stamps.append(time.perf_counter()))
    per_step = [b - a for a, b in zip(stamps[1:], stamps[2:], strict=False)]  # skip the warm-up step
    tokens = [h["response/length"] * run.batch_size for h in history[1:]]
    return _summary(per_step, run.batch_size, tokens)


def ours_1_epoch(opts: dict) -> dict:
    return _ours(opts, 1)


def ours_profile_epochs_decode(opts: dict) -> dict:
    """Chapter 4's epochs with `decode.Sampler` (LoRA merged into a bf16 copy) as the rollout sampler."""
    return {**_ours({**opts, "sampler": "decode"}, opts["epochs"]), "epochs": opts["epochs"], "sampler": "decode"}


def trl_grpo(opts: dict) -> dict:
    import tempfile

    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    from rlhf_lib import models

    base, tokenizer = load_base({**opts, "dtype": "fp32"})
    _, prompts = prompt_ids(tokenizer, 10_000)
    _, reward_fn = _reward_fns(opts, tokenizer)
    lora = models.lora_config(base.config.num_hidden_layers, opts["lora_r"], opts["lora_layers"])
    stamps: list[float] = []

    class Clock(TrainerCallback):
        def on_step_end(self, *a, **k):
            stamps.append(time.perf_counter())

    with tempfile.TemporaryDirectory() as tmp:
        args = GRPOConfig(output_dir=tmp, max_steps=opts["steps"] + 1, learning_rate=opts["lr"],
                          per_device_train_batch_size=opts["batch"], num_generations=4,
                          max_completion_length=opts["max_new_tokens"], temperature=opts["temperature"], top_p=1.0,
                          beta=opts["beta"], logging_steps=1, report_to="none", save_strategy="no",
                          use_cpu=not torch.cuda.is_available(), bf16=_bf16(), seed=0, disable_tqdm=True)
        data = Dataset.from_list([{"prompt": [{"role": "user", "content": p["prompt"]}]} for p in prompts])
        trainer = GRPOTrainer(model=base, reward_funcs=reward_fn, args=args, train_dataset=data,
                              processing_class=tokenizer, peft_config=lora, callbacks=[Clock()])
        stamps.append(time.perf_counter())
        trainer.train()
    per_step = [b - a for a, b in zip(stamps[1:], stamps[2:], strict=False)]
    lengths = [h["completions/mean_length"] for h in trainer.state.log_history if "completions/mean_length" in h]
    return _summary(per_step, opts["batch"], [x * opts["batch"] for x in lengths[1:]])


def ours_profile_epochs_generate(opts: dict) -> dict:
    """The same run with transformers' `generate` as the rollout sampler: the A/B of the two samplers in a step."""
    return {**_ours({**opts, "sampler": "generate"}, opts["epochs"]), "epochs": opts["epochs"], "sampler": "generate"}


CONTESTANTS = {"ours_ppo_1_epoch": ours_1_epoch, "ours_ppo_profile_epochs_decode": ours_profile_epochs_decode,
               "ours_ppo_profile_epochs_generate": ours_profile_epochs_generate, "trl_grpo": trl_grpo}
RATIOS = [("ours_ppo_1_epoch", "trl_grpo", "episodes_per_s"), ("ours_ppo_1_epoch", "trl_grpo", "tokens_per_s"),
          ("ours_ppo_profile_epochs_decode", "trl_grpo", "episodes_per_s"),
          ("ours_ppo_profile_epochs_generate", "trl_grpo", "episodes_per_s"),
          ("ours_ppo_profile_epochs_decode", "ours_ppo_profile_epochs_generate", "episodes_per_s")]
