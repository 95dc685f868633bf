"""The same seed and profile on a CPU give the same numbers, run to run: a small reward model is trained twice
in this process and once in a fresh one, and every metric must be bit-for-bit identical (README: Determinism)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from datasets import DatasetDict
from transformers import AutoModelForSequenceClassification

from rlhf_lib import config, data, models, pairs, reward
from rlhf_lib.reward import TrainConfig

HERE = Path(__file__).resolve().parent


def train_small_rm(seed: int) -> dict:
    """Train a tiny transformer RM with the ci profile's settings on a slice of the shipped data; its metrics."""
    cfg = config.load("ci")
    r = cfg.reward
    config.seed_everything(seed)
    causal, tokenizer = models.load_tiny_model(seed=seed)
    model = AutoModelForSequenceClassification.from_config(
        causal.config.__class__.from_dict({**causal.config.to_dict(), "num_labels": 1}))
    model.model.load_state_dict(causal.model.state_dict())
    model.config.pad_token_id = tokenizer.pad_token_id
    shipped = data.load_preferences(config.DATA_DIR / "preferences")
    prefs = DatasetDict({"train": shipped["train"].select(range(48)), "val": shipped["val"].select(range(16))})
    table = pairs.build_pairs(prefs, tokenizer, max_length=64, seed=seed)
    fn = reward.token_reward_fn(model, table, tokenizer.pad_token_id)
    tc = TrainConfig(lr=3e-3, batch_size=r.batch_size, epochs=r.epochs, eval_every=r.eval_every, patience=r.patience,
                     seed=seed)
    result = reward.train(model, fn, table.splits["train"], table.splits["val"], tc, progress=False)
    r_c, r_r = reward.score_split(fn, table.splits["val"])
    return {"history": [{k: v for k, v in row.items() if k != "seconds"} for row in result.history],
            "best_step": result.best_step, "val_margins": (r_c - r_r).tolist(),
            "weights_sum": float(sum(p.detach().double().sum() for p in model.parameters()))}


@pytest.fixture(autouse=True)
def one_thread():
    """One thread: the thread count is part of what must match run to run (it changes how sums are split), and
    tensors this small run faster on one thread than on two that wait for each other on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_same_seed_same_metrics_in_this_process_and_a_fresh_one():
    threads = torch.get_num_threads()
    first, second = train_small_rm(0), train_small_rm(0)
    assert len(first["history"]) >= 2
    assert first == second
    code = (f"import sys, json, torch; torch.set_num_threads({threads}); sys.path.insert(0, {str(HERE)!r}); "
            f"import test_determinism as t; print(json.dumps(t.train_small_rm(0)))")
    env = {**os.environ, "PYTHONHASHSEED": "random", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300, check=True)
    fresh = json.loads(out.stdout.strip().splitlines()[-1])
    assert fresh == first, "a fresh process with the same seed gave different metrics"


def test_another_seed_gives_other_numbers():
    """The test above would pass vacuously if the seed did nothing."""
    assert train_small_rm(1)["val_margins"] != train_small_rm(0)["val_margins"]
