"""The reward model scored in bf16 against fp32: time per pass, and what bf16 changes in every reward.

PPO scores every rollout with chapter 2's reward model (`reward.text_reward_fn`). Where the CPU runs bf16 natively
a bf16 copy reads half the bytes; the question is whether its rewards are still the same rewards. On the held-out
test split's (prompt, response) texts, one process scores each text in fp32 and with a bf16 copy of the same model
(`reward.load_reward_model(dtype=torch.bfloat16)`) and reports:

    seconds per pass     median of `repeats` passes over every text, after a warm-up pass
    spearman             rank correlation of the bf16 rewards with the fp32 ones (1: the same order)
    max / mean |diff|    in units of the fp32 rewards' standard deviation (PPO trains on (r - mean) / std)
    pairs flipped        share of the test split's pairs whose chosen-vs-rejected order bf16 reverses
    accuracy             pairwise accuracy on the test split's majority labels, each dtype

Both dtypes run in one process so they score the very same texts; `python -m benchmarks --only reward_bf16`.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from .common import median


def options(quick: bool, profile: str) -> dict:
    from rlhf_lib import config

    cfg = config.load(profile)
    return {"model": "tiny" if quick else "chapter2", "repeats": 1,
            "max_pairs": 12 if quick else None, "max_length": 64 if quick else cfg.reward.max_length,
            "batch_size": 16, "profile": profile}


def _models(opts: dict):
    """(fp32 reward model, bf16 copy, tokenizer): chapter 2's (trained first when missing), or a tiny random one."""
    from rlhf_lib import reward, train_reward

    if opts["model"] == "tiny":
        import tempfile

        from .models_for_bench import tiny_reward_model

        path = reward.save_reward_model(*tiny_reward_model(), tempfile.mkdtemp())
    else:
        train_reward.load_or_train()
        path = None
    rm, tokenizer = reward.load_reward_model(path, "cpu")
    rm16, _ = reward.load_reward_model(path, "cpu", dtype=torch.bfloat16)
    return rm, rm16, tokenizer


def compare(opts: dict) -> dict:
    from scipy.stats import spearmanr

    from rlhf_lib import data, reward

    rm, rm16, tokenizer = _models(opts)
    test = data.load_preferences()["test"]
    rows = range(len(test)) if opts["max_pairs"] is None else range(min(opts["max_pairs"], len(test)))
    pairs = [(test[i]["prompt"], test[i]["chosen"], test[i]["rejected"]) for i in rows]
    texts = sorted({(p, r) for p, c, j in pairs for r in (c, j)})
    prompts, responses = [p for p, _ in texts], [r for _, r in texts]
    out = {}
    for name, model in (("fp32", rm), ("bf16", rm16)):
        def one_pass(model=model):
            return reward.score(model, tokenizer, prompts, responses, opts["batch_size"], opts["max_length"])

        scores = one_pass()  # warm-up, and the scores
        seconds = []
        for _ in range(opts["repeats"]):
            start = time.perf_counter()
            one_pass()
            seconds.append(time.perf_counter() - start)
        out[name] = {"scores": np.array(scores), "seconds": median(seconds)}
    a, b = out["fp32"]["scores"], out["bf16"]["scores"]
    index = {t: i for i, t in enumerate(texts)}
    chosen = np.array([index[(p, c)] for p, c, _ in pairs])
    rejected = np.array([index[(p, j)] for p, _, j in pairs])
    margin32, margin16 = a[chosen] - a[rejected], b[chosen] - b[rejected]
    sd = float(a.std()) or 1.0
    return {"texts": len(texts), "pairs": len(pairs),
            "seconds_fp32": out["fp32"]["seconds"], "seconds_bf16": out["bf16"]["seconds"],
            "speedup": out["fp32"]["seconds"] / out["bf16"]["seconds"],
            "spearman": float(spearmanr(a, b).statistic),
            "max_abs_diff_sd": float(np.abs(a - b).max() / sd), "mean_abs_diff_sd": float(np.abs(a - b).mean() / sd),
            "pairs_flipped": float(np.mean(np.sign(margin32) != np.sign(margin16))),
            "accuracy_fp32": float(np.mean(margin32 > 0)), "accuracy_bf16": float(np.mean(margin16 > 0))}


CONTESTANTS = {"fp32_vs_bf16": compare}
RATIOS: list = []  # one process scores both dtypes: the speed-up and agreement are its own figures
