"""Chapter 4's PPO run, headless: policy = the SFT model + LoRA, chapter 2's reward model (or yours), the profile's sizes.

    python -m rlhf_lib.train_ppo --config cpu --set ppo.steps=40
    python -m rlhf_lib.train_ppo --reward-model artifacts/cpu/reward_model-mine --prompts my_prompts.txt
    accelerate launch --num_processes 2 --cpu -m rlhf_lib.train_ppo --config ci        # 2 CPU processes
    accelerate launch --multi_gpu --num_processes 4 -m rlhf_lib.train_ppo --config gpu  # 4 GPUs

`--reward-model` takes any sequence-classification reward model folder (num_labels=1), such as the ones
`python -m rlhf_lib.train_reward --data ...` writes; `--prompts` a JSONL file of {"prompt": text or chat messages}
or a text file, one prompt per line (`data.read_prompt_file`; a conversation reaches the policy and the reward
model as chat turns). Without them: chapter 2's reward model (trained first if missing) and the course's prompts.
`ppo.batch_size` is the GLOBAL batch: with N processes each rolls out batch_size / N episodes and the update
equals one process's on the whole batch (`rlhf_lib.ppo`, data parallelism). Writes `<output_dir>/ppo_policy`
(merged safetensors that transformers loads, `save_policy`), `ppo_history.json` and a resumable checkpoint
`ppo_ckpt/`; with `--reward-model` and no `--output-dir`, into `<profile's artifacts>/ppo-<reward model folder>`.
The chapters build their PPO set-up with the same functions: `load_actor_critic` (or `lora_actor_critic`) and
`profile_ppo_config`.
"""

from __future__ import annotations

import contextlib
import copy
import json
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

from . import config, data, judge, launch, models, ppo, reward, sft, train_reward


def lora_actor_critic(base, lora_r: int, lora_layers: int | None) -> ppo.ActorCritic:
    """Chapter 4's actor-critic around `base`: LoRA (rank `lora_r`) on the top `lora_layers` layers (every layer when
    0/None), the layers below them frozen and cached (`frozen_bottom`), π_ref = the adapters switched off."""
    n_frozen = base.config.num_hidden_layers - lora_layers if lora_layers else 0
    return ppo.ActorCritic(models.with_lora(base, r=lora_r, top_layers=lora_layers), frozen_bottom=n_frozen)


def load_actor_critic(cfg, device: torch.device | None = None, name: str | None = None):
    """The profile's SFT model (`model.policy`, or the model `name`; bf16 weights where bf16 is fast, else fp32) as
    `lora_actor_critic` with the profile's `ppo.lora_r` / `ppo.lora_layers`, on `device`. Returns (actor-critic,
    tokenizer, bf16 flag)."""
    device = device or models.pick_device()
    fast_bf16 = models.bf16_is_fast(device)  # fp32 on a CPU without native bf16 (faster there)
    name = name or cfg.model.policy
    if name == models.SMOLLM2_SFT:  # cfg's own SFT model (not the detected profile's), trained once if need be
        name = str(sft.ensure(sft.from_config(cfg)))
    base, tokenizer = models.load_model(name, device=device, dtype=models.fast_dtype(device))
    ac = lora_actor_critic(base, cfg.ppo.lora_r, cfg.ppo.lora_layers)
    return ac.to(device), tokenizer, fast_bf16


def profile_ppo_config(cfg, **changes) -> ppo.PPOConfig:
    """A `ppo.PPOConfig` from the profile's `ppo.*` rows and seed; `changes` set any other field (steps, autocast,
    save_every, reward_id, ...)."""
    P = cfg.ppo
    settings = dict(steps=P.steps, batch_size=P.batch_size, minibatch_size=P.minibatch_size, epochs=P.epochs,
                    max_new_tokens=P.max_new_tokens, temperature=P.temperature, lr=P.lr, beta=P.beta,
                    target_kl=P.target_kl, kl_horizon=P.kl_horizon, sampler=P.sampler,
                    samples_per_prompt=P.samples_per_prompt, baseline=P.baseline, seed=cfg.seed)
    return ppo.PPOConfig(**{**settings, **changes})


def prepare(cfg, device, state=None, reward_model: str | Path | None = None,
            prompts: str | Path | None = None) -> SimpleNamespace:
    """Chapter 4's set-up: policy with LoRA (+ value head), the reward model, the training prompts, the PPO settings
    of the profile and the reward function normalised on the reference's samples.

    `reward_model`: a sequence-classification folder (default: chapter 2's, trained first when missing), read at the
    `max_length` it was trained at (its reward_info.json) if it says; `prompts`: a file for `data.read_prompt_file`
    (default: the course's train prompts)."""
    P = cfg.ppo
    ac, tokenizer, fast_bf16 = load_actor_critic(cfg, device)
    if reward_model is None:
        with state.main_process_first() if state else contextlib.nullcontext():  # trains a reward model once if missing
            rm, rm_tokenizer = train_reward.load_or_train(device=str(device), dtype=models.fast_dtype(device))
    else:
        rm, rm_tokenizer = reward.load_reward_model(reward_model, str(device), models.fast_dtype(device))
    max_length = reward.trained_max_length(reward_model, cfg.reward.max_length)
    records = data.preference_prompts("train") if prompts is None else data.read_prompt_file(prompts)
    ids = models.chat_prompt_ids(tokenizer, records)
    eos, pad = tokenizer.eos_token_id, tokenizer.pad_token_id
    run = profile_ppo_config(cfg, autocast=fast_bf16, reward_id=reward.fingerprint(reward_model))
    # reward normalisation on the reference's samples (as chapter 4): the same prompts and seed on every process
    norm = _normaliser_rows(records, 2 * P.batch_size)
    ref_ids, _, _ = judge.sample_reference(ac, [ids[i] for i in norm], run, eos, pad, seed=1, batch_size=P.batch_size)
    texts = [tokenizer.decode(r, skip_special_tokens=True).strip() for r in ref_ids]
    reward_fn, score, (mean, std) = judge.normalised_text_reward(rm, rm_tokenizer, tokenizer,
                                                                 [records[i]["prompt"] for i in norm], texts, max_length)
    return SimpleNamespace(ac=ac, tokenizer=tokenizer, prompts=records, ids=ids, run=run, reward_fn=reward_fn,
                           score=score, reward_norm=(mean, std), eos=eos, pad=pad)


def _normaliser_rows(records: list[dict], n: int) -> list[int]:
    """The rows whose reference samples set the reward's scale: stratified by category where every record has one
    (the course's prompt file is sorted by category, so a prefix would hold one category only), else a seeded sample."""
    if all("category" in r for r in records):
        chosen = {r["id"] for r in judge.stratified(records, n, seed=1)}
        return [i for i, r in enumerate(records) if r["id"] in chosen]
    return sorted(np.random.default_rng(1).permutation(len(records))[:n].tolist())


def save_policy(ac: ppo.ActorCritic, tokenizer, path: str | Path, info: dict | None = None) -> Path:
    """`save_pretrained` (safetensors) of the policy with its LoRA merged in, plus tokenizer and run info."""
    path = Path(path)
    policy = copy.deepcopy(ac.policy)
    if hasattr(policy, "merge_and_unload"):
        policy = policy.merge_and_unload()
    policy.save_pretrained(path, safe_serialization=True)
    if tokenizer is not None:
        tokenizer.save_pretrained(path)
    (path / "ppo_info.json").write_text(json.dumps(info or {}, indent=1, default=str))
    return path


def main(argv: list[str] | None = None) -> int:
    p = launch.parser(__doc__)
    p.add_argument("--reward-model", default=None, metavar="PATH",
                   help="a sequence-classification reward model folder, e.g. one train_reward --data wrote "
                        "(default: chapter 2's, trained first when missing)")
    p.add_argument("--prompts", default=None, metavar="FILE",
                   help="prompts to train on: JSONL ({\"prompt\": text or chat messages}) or text, one per line "
                        "(default: the course's train prompts)")
    args = p.parse_args(argv)
    try:  # a user's mistake is refused here, before a model loads: settings, paths, the reward model, the prompts
        cfg = launch.load_run(args.config, args.set, args.output_dir)
        out = cfg.output_dir
        if args.reward_model and not args.output_dir:  # keep chapter 4's run (and its checkpoint) apart from yours
            out = cfg.output_dir / f"ppo-{Path(args.reward_model.rstrip('/')).name}"
        for name in ("ppo_policy", "ppo_ckpt"):
            launch.check_writable(out / name, "--output-dir")
        if (out / "ppo_history.json").is_dir():
            raise ValueError(f"--output-dir: {out / 'ppo_history.json'} is a folder; the run writes a file there")
        if args.reward_model:
            reward.check_reward_folder(args.reward_model)
        if args.prompts:
            data.read_prompt_file(args.prompts)
    except (ValueError, FileNotFoundError) as err:
        p.error(str(err))
    state = launch.process_state()
    config.seed_everything(cfg.seed)
    s = prepare(cfg, state.device, state, reward_model=args.reward_model, prompts=args.prompts)
    start = time.perf_counter()
    history = ppo.train(s.ac, s.ids, s.prompts, s.reward_fn, s.run, s.eos, s.pad, ckpt_dir=out / "ppo_ckpt")
    seconds = time.perf_counter() - start
    if state.is_main_process:
        info = {"profile": cfg.profile, "processes": state.num_processes, "seconds": seconds,
                "reward_model": str(args.reward_model or "chapter 2's"), "prompts": str(args.prompts or "the course's"),
                "reward_norm": list(s.reward_norm), "final": history[-1] if history else None}
        saved = launch.save_or_rescue(lambda path: save_policy(s.ac, s.tokenizer, path, info), out / "ppo_policy",
                                      "the PPO policy")
        try:
            (out / "ppo_history.json").write_text(json.dumps(history, indent=1))
        except OSError:
            (saved / "ppo_history.json").write_text(json.dumps(history, indent=1))
        print(f"{len(history)} PPO steps on {state.num_processes} process(es) in {seconds:.0f} s; "
              f"policy saved to {saved}")
    state.wait_for_everyone()
    return 0


if __name__ == "__main__":
    sys.exit(main())
