"""Chapter 4's PPO run, headless: policy = SmolLM2 + LoRA, chapter 2's reward model, the profile's sizes.

    python -m rlhf_lib.train_ppo --config cpu --set ppo.steps=40
    accelerate launch --num_processes 2 --cpu -m rlhf_lib.train_ppo --config ci        # 2 CPU processes
    accelerate launch --multi_gpu --num_processes 4 -m rlhf_lib.train_ppo --config gpu  # 4 GPUs

`ppo.batch_size` is the GLOBAL batch: with N processes each rolls out batch_size / N episodes and the update
equals one process's on the whole batch (`rlhf_lib.ppo`, data parallelism). Writes `<output_dir>/ppo_policy`
(merged safetensors), `ppo_history.json` and a resumable checkpoint `ppo_ckpt/`.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from types import SimpleNamespace

import torch

from . import config, data, judge, launch, models, ppo, reward, train_reward


def prepare(cfg, device, state=None) -> SimpleNamespace:
    """Chapter 4's set-up: policy with LoRA (+ value head), chapter 2's reward model, the training prompts, the
    PPO settings of the profile and the reward function normalised on the reference's samples."""
    P = cfg.ppo
    fast_bf16 = models.bf16_is_fast(device)
    base, tokenizer = models.load_model(cfg.model.name, device=device,
                                        dtype=torch.bfloat16 if fast_bf16 else torch.float32)
    n_frozen = base.config.num_hidden_layers - P.lora_layers if P.lora_layers else 0
    ac = ppo.ActorCritic(ppo.with_lora(base, r=P.lora_r, top_layers=P.lora_layers), frozen_bottom=n_frozen)
    ac.to(device)
    with state.main_process_first() if state else contextlib.nullcontext():  # trains a reward model once if missing
        rm, rm_tokenizer = train_reward.load_or_train(device=str(device))
    prompts = data.load_prompts("train")
    ids = ppo.chat_prompt_ids(tokenizer, prompts)
    eos, pad = tokenizer.eos_token_id, tokenizer.pad_token_id
    run = ppo.PPOConfig(steps=P.steps, batch_size=P.batch_size, minibatch_size=P.minibatch_size, epochs=P.epochs,
                        max_new_tokens=P.max_new_tokens, temperature=P.temperature, lr=P.lr, beta=P.beta,
                        target_kl=P.target_kl, kl_horizon=P.kl_horizon, seed=cfg.seed, autocast=fast_bf16,
                        reward_id=reward.fingerprint())
    # reward normalisation on the reference's samples (as chapter 4): the same prompts and seed on every process
    # a stratified sample: the prompt file is sorted by category, so a prefix would hold one category only
    chosen = {p["id"] for p in judge.stratified(prompts, 2 * P.batch_size, seed=1)}
    norm = [i for i, p in enumerate(prompts) if p["id"] in chosen]
    ref_ids, _, _ = ppo.sample_reference(ac, [ids[i] for i in norm], run, eos, pad, seed=1, batch_size=P.batch_size)
    texts = [tokenizer.decode(r, skip_special_tokens=True).strip() for r in ref_ids]

    def score(prompts_, texts_):
        return reward.score(rm, rm_tokenizer, prompts_, texts_, max_length=cfg.reward.max_length)

    mean, std = ppo.reward_normaliser(score([prompts[i]["prompt"] for i in norm], texts))
    reward_fn = ppo.text_reward_fn(rm, rm_tokenizer, tokenizer, mean, std, max_length=cfg.reward.max_length)
    return SimpleNamespace(ac=ac, tokenizer=tokenizer, prompts=prompts, ids=ids, run=run, reward_fn=reward_fn,
                           score=score, reward_norm=(mean, std), eos=eos, pad=pad)


def main(argv: list[str] | None = None) -> int:
    args = launch.parser(__doc__).parse_args(argv)
    cfg = launch.load_run(args.config, args.set, args.output_dir)
    state = launch.process_state()
    config.seed_everything(cfg.seed)
    s = prepare(cfg, state.device, state)
    start = time.perf_counter()
    history = ppo.train(s.ac, s.ids, s.prompts, s.reward_fn, s.run, s.eos, s.pad, ckpt_dir=cfg.output_dir / "ppo_ckpt")
    seconds = time.perf_counter() - start
    if state.is_main_process:
        info = {"profile": cfg.profile, "processes": state.num_processes, "seconds": seconds,
                "reward_norm": list(s.reward_norm), "final": history[-1] if history else None}
        ppo.save_policy(s.ac, s.tokenizer, cfg.output_dir / "ppo_policy", info)
        (cfg.output_dir / "ppo_history.json").write_text(json.dumps(history, indent=1))
        print(f"{len(history)} PPO steps on {state.num_processes} process(es) in {seconds:.0f} s; "
              f"policy saved to {cfg.output_dir / 'ppo_policy'}")
    state.wait_for_everyone()
    return 0


if __name__ == "__main__":
    sys.exit(main())
