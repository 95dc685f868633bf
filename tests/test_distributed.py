"""Data-parallel PPO: two CPU processes (gloo) must take the same step as one process on the same global batch."""

import copy
import os

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from rlhf_lib import checkpoint, models, ppo

CFG = dict(batch_size=8, minibatch_size=4, epochs=2, max_new_tokens=6, lr=3e-3, autocast=False,
           missing_eos_penalty=None)
QUESTIONS = ("Hi", "What is 2+2?", "Tell me a story", "Name a colour", "Why is the sky blue?", "Count to 3",
             "Say no", "Spell cat")


def _actor_critic(tokenizer):
    """A tiny 2-layer Llama with LoRA on its top layer and a cached frozen bottom layer (the chapter-4 set-up)."""
    model, _ = models.load_tiny_model(seed=0, tokenizer=tokenizer)
    torch.manual_seed(1)  # the LoRA A matrices
    return ppo.ActorCritic(models.with_lora(model, r=4, top_layers=1), frozen_bottom=1)


def _tokenizer():
    """The tests' tiny tokenizer (tests/conftest.py sets the variable; spawned workers inherit it)."""
    return models.load_tokenizer(os.environ["RLHF_TINY_TOKENIZER"])


def _prompts(tokenizer):
    return [tokenizer(models.chat_prompt(tokenizer, q), add_special_tokens=False)["input_ids"] for q in QUESTIONS]


def _token_reward(meta, responses):
    """A score that differs between episodes (and so between the two halves of the batch)."""
    return [sum(r) % 7 / 3 - 1 for r in responses]


def _worker(rank: int, world: int, folder: str, rollout_fields: dict) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{folder}/rendezvous", rank=rank, world_size=world)
    try:
        tokenizer = _tokenizer()
        # 1. one update on this process's half of a fixed global rollout
        ac = _actor_critic(tokenizer)
        share = CFG["batch_size"] // world
        part = {k: v[rank * share:(rank + 1) * share] if torch.is_tensor(v) and v.dim() else v
                for k, v in rollout_fields.items()}
        optimizer = torch.optim.AdamW(ac.trainable_parameters(), lr=CFG["lr"], eps=1e-5, weight_decay=0.0)
        stats = ppo.ppo_update(ac, optimizer, ppo.Rollout(**part), ppo.PPOConfig(**CFG), beta=0.1, seed=3)
        torch.save({"update": checkpoint.trainable_state(ac), "stats": stats}, f"{folder}/update{rank}.pt")
        # 2. the whole training loop: rollouts of each half, then synchronised updates
        ac = _actor_critic(tokenizer)
        history = ppo.train(ac, _prompts(tokenizer), [None] * 8, _token_reward, ppo.PPOConfig(steps=2, **CFG),
                            tokenizer.eos_token_id, tokenizer.pad_token_id, progress=False)
        torch.save({"train": checkpoint.trainable_state(ac), "history": history}, f"{folder}/train{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One process on the global rollout (here), and two gloo processes on its halves (spawned)."""
    tokenizer = _tokenizer()
    ac = _actor_critic(tokenizer)
    cfg = ppo.PPOConfig(**CFG)
    batch = ppo.rollout(ac, _prompts(tokenizer), [None] * 8, _token_reward, cfg, tokenizer.eos_token_id,
                        tokenizer.pad_token_id, seed=0)
    fields = {k: getattr(batch, k) for k in batch.__dataclass_fields__}
    single = copy.deepcopy(ac)
    optimizer = torch.optim.AdamW(single.trainable_parameters(), lr=cfg.lr, eps=1e-5, weight_decay=0.0)
    stats = ppo.ppo_update(single, optimizer, batch, cfg, beta=0.1, seed=3)
    halves = batch.scores.view(2, -1).mean(1)
    assert abs(halves[0] - halves[1]) > 0.1, halves  # per-half statistics differ from global ones
    folder = tmp_path_factory.mktemp("ddp")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    mp.spawn(_worker, args=(2, str(folder), fields), nprocs=2, join=True)
    ranks = [torch.load(folder / f"update{r}.pt", weights_only=True) | torch.load(folder / f"train{r}.pt",
                                                                                   weights_only=True)
             for r in range(2)]
    return checkpoint.trainable_state(single), stats, ranks


def test_two_processes_take_the_same_step_as_one(runs):
    single, stats, ranks = runs
    moved = max((single[k] - v).abs().max().item() for k, v in checkpoint.trainable_state(_actor_critic(
        _tokenizer())).items())
    assert moved > 1e-3  # the step did something, so equality below is not trivial
    for rank in ranks:
        for name, value in single.items():
            assert torch.allclose(rank["update"][name], value, atol=1e-5, rtol=1e-4), name
    for key in ("objective/kl", "objective/scores", "objective/rlhf_reward", "beta"):
        assert ranks[0]["stats"][key] == pytest.approx(stats[key], abs=1e-5), key


def test_processes_stay_in_sync_through_training(runs):
    _, _, (r0, r1) = runs
    assert len(r0["history"]) == len(r1["history"]) == 2
    for a, b in zip(r0["history"], r1["history"], strict=True):
        a, b = ({k: v for k, v in h.items() if k != "seconds"} for h in (a, b))  # wall times differ
        assert a == pytest.approx(b)  # logged means are global: both processes log (and adapt β to) the same
    for name, value in r0["train"].items():
        assert torch.equal(value, r1["train"][name]), name
