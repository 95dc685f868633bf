"""Issue 18's lever benchmark without the base model: gold agreement by category, the probe's learning curve in
prompts and the report's tables, on synthetic features whose signal is known."""

import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root holds `benchmarks/`
from benchmarks import report, reward_levers  # noqa: E402
from rlhf_lib import pairs, reward  # noqa: E402


def synthetic_split(rng, prompts: int, k: int, quality: torch.Tensor, offset: int, noise: float):
    """Every pair of k responses per prompt; gold = quality, one label per pair (chosen = the label's side)."""
    chosen, rejected, group = [], [], []
    for p in range(prompts):
        ids = [offset + p * k + i for i in range(k)]
        for a in range(k):
            for b in range(a + 1, k):
                i, j = ids[a], ids[b]
                better = quality[i] > quality[j]
                flip = rng.random() < noise
                c, r = (i, j) if better != flip else (j, i)
                chosen.append(c)
                rejected.append(r)
                group.append(p)
    chosen, rejected = torch.tensor(chosen), torch.tensor(rejected)
    n = len(chosen)
    return pairs.PairSplit(chosen, rejected, torch.full((n,), 0.5), quality[chosen], quality[rejected],
                           rows=torch.arange(n), group=torch.tensor(group), target=torch.ones(n), weight=torch.ones(n))


@pytest.fixture(scope="module")
def bench():
    """A stand-in for `reward_levers.Bench`: 4-dim features whose first coordinate is the quality."""
    rng = np.random.default_rng(0)
    k, train_p, test_p = 4, 40, 10
    s = k * (train_p + test_p)
    quality = torch.randn(s)
    feats = torch.randn(s, 4)
    feats[:, 0] = quality + 0.3 * torch.randn(s)
    train = synthetic_split(rng, train_p, k, quality, 0, 0.2)
    test = synthetic_split(rng, test_p, k, quality, k * train_p, 0.2)
    b = SimpleNamespace(cfg=SimpleNamespace(seed=0), split=lambda _k: train, test=test,
                        cache=SimpleNamespace(features=lambda layer, kind: feats), probe_chosen={"layer": 1, "C": 1.0},
                        test_categories=np.array(["a", "b"] * (len(test) // 2) + ["a"] * (len(test) % 2)))
    return b


def test_gold_agreement_by_category_counts_each_category_and_half_for_a_zero_margin(bench):
    gold = (bench.test.gold_chosen - bench.test.gold_rejected).numpy()
    right, cats = np.sign(gold), bench.test_categories
    assert reward.gold_agreement_by(right, gold, cats) == {"a": 1.0, "b": 1.0}
    assert reward.gold_agreement_by(-right, gold, cats) == {"a": 0.0, "b": 0.0}
    assert reward.gold_agreement_by(np.zeros_like(gold), gold, cats) == {"a": 0.5, "b": 0.5}
    gold[cats == "b"] = 0  # a gold tie is left out: category b has no pair left to judge
    assert reward.gold_agreement_by(right, gold, cats) == {"a": 1.0}


def test_probe_curve_keeps_whole_prompts_and_learns(bench):
    curve = reward_levers.probe_curve(bench, draws=2)
    assert [p["share"] for p in curve] == list(reward_levers.CURVE_SHARES)
    assert [p["prompts"] for p in curve] == [10, 20, 30, 40]
    assert [p["draws"] for p in curve] == [2, 2, 2, 1]
    # the first feature carries the quality: even a quarter of the prompts learns it, well above chance
    assert all(p["gold_agreement"] > 0.7 for p in curve)  # chance is 0.5
    assert all(0 <= p["test_accuracy"] <= 1 for p in curve)


def test_report_shows_runs_categories_and_the_curve():
    ci = {"value": 0.6, "lo": 0.55, "hi": 0.65}
    r = {"profile": "cpu", "test_prompts": 2, "pairs": {"test": 10}, "test_category_mix": "a 1, b 1",
         "bayes_ceiling_test": 0.75, "machine": {"note": "free cores"},
         "levers": {"probe": {"what": "the probe", "val_accuracy": ci, "test_accuracy": ci, "gold_agreement": ci,
                              "seconds": 3, "run": "2026-12-07, fp32 features",
                              "gold_agreement_by_category": {"a": 0.5, "b": 0.75}},
                    "old": {"what": "an older lever", "val_accuracy": ci, "test_accuracy": ci, "gold_agreement": ci,
                            "seconds": 4}},
         "judges": {"blind": {"test_accuracy": ci, "gold_agreement": ci,
                              "gold_agreement_by_category": {"a": 1.0, "b": 0.9}}, "base_model_right": {"a": "1/2"}},
         "probe_prompt_curve": {"run": "2026-12-07", "layer": 16, "C": 3e-4,
                                "points": [{"prompts": 5, "test_accuracy": 0.55, "gold_agreement": 0.6},
                                           {"prompts": 10, "test_accuracy": 0.6, "gold_agreement": 0.65}]}}
    text = "\n".join(report._reward_levers(r))
    assert "| 2026-12-07, fp32 features |" in text and "| earlier (see conditions) |" in text
    assert "| probe | 50% | 75% |" in text and "| judge: blind | 100% | 90% |" in text
    assert "5 prompts: test accuracy 0.550, gold agreement 60.0%" in text
