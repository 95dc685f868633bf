"""RLHF applications to language (chapter 5): one pipeline, preferences -> reward model -> PPO with KL -> judge.

Both language applications of chapter 5 (a QA / summarisation chatbot and a voice assistant) run the same four
steps with different prompts and a different gold utility; this module holds the steps so that the notebooks
only tell the story:

    preferences  `restrict_pairs`, `preference_dataset`   (chapter 1's format; vote rows: `data.panel_vote_rows`)
    reward model `train_feature_rm` -> `FeatureRM`: FFN ensemble on frozen base-model features (chapter 2)
    PPO          `reward_fn` (the set-up is chapter 4's: `train_ppo.load_actor_critic`, `profile_ppo_config`)
    reading      `samples_table`, `component_means`, `plot_win_rates`: samples and win rates of `rlhf_lib.judge`

The judging itself (held-out prompts, samples, win rates with CIs, controls) is `rlhf_lib.judge`, the one
evaluation of the course; the application gives it its gold utility and its reward model's `score`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from .. import features, metrics, models, ppo, reward
from ..pairs import PairSplit, PairTable


# ========================================================================================= preferences
def restrict_pairs(split: PairSplit, keep: Sequence[bool]) -> PairSplit:
    """The pairs of `split` where `keep` is true (one flag per pair), every per-pair field cut alike."""
    keep = torch.as_tensor(list(keep), dtype=torch.bool)
    if len(keep) != len(split):
        raise ValueError(f"{len(keep)} flags for a split of {len(split)} pairs")
    return split.take(keep)


def split_by_category(table: PairTable, prefs, categories: Sequence[str]) -> dict[str, PairSplit]:
    """The train / val / test pairs of `table` (built from the DatasetDict `prefs`) whose prompt is in `categories`."""
    out = {}
    for name in ("train", "val", "test"):
        split = table.splits[name]
        cats = prefs[name]["category"]
        out[name] = restrict_pairs(split, [cats[int(r)] in categories for r in split.rows])
    return out


def preference_dataset(rows: list[dict]):
    """Preference rows (`data.to_preference_rows`, with a `split` field) as a train / val / test DatasetDict."""
    import datasets

    splits = {}
    for name in ("train", "val", "test"):
        part = [{k: v for k, v in r.items() if k != "split"} for r in rows if r["split"] == name]
        if not part:
            raise ValueError(f"no preference pairs in split {name!r}: label more responses or move prompts to it")
        splits[name] = datasets.Dataset.from_list(part)
    return datasets.DatasetDict(splits)


# ======================================================================================= reward model
class FeatureRM(nn.Module):
    """A reward model for new text: the frozen base LM gives features of one layer, an FFN ensemble scores them.

    The same features as chapter 2's feedforward RM (`features.extract`: last-token and response-mean hidden
    states of layer `layer`), computed on the fly for responses the policy has just written.
    """

    def __init__(self, lm, tokenizer, head: nn.Module, layer: int, max_length: int):
        super().__init__()
        self.lm, self.tokenizer, self.head, self.layer, self.max_length = lm, tokenizer, head, layer, max_length
        self.lm.requires_grad_(False).eval()
        self.head.eval()

    @torch.no_grad()
    def score(self, prompts: Sequence[str], responses: Sequence[str], batch_size: int = 16) -> list[float]:
        """Rewards of (prompt, response) pairs as floats: one frozen forward pass, then the FFN ensemble."""
        if len(prompts) == 0:
            return []
        table = PairTable(list(prompts), list(responses),
                          models.encode(self.tokenizer, prompts, responses, self.max_length))
        cache = features.extract(self.lm, self.tokenizer, table, top_k=1, batch_size=batch_size, cache=False,
                                 progress=False)
        x = cache.features(self.layer, "both")  # (N, 2H)
        return self.head(x).float().tolist()


def train_feature_rm(x: torch.Tensor, train: PairSplit, val: PairSplit, hidden: int, lr: float, epochs: int,
                     batch_size: int, seeds: int, seed: int = 0, progress: bool = True):
    """An ensemble of `seeds` FFN reward models (Bradley-Terry, AdamW, early-stopped on `val`) on features `x`.

    Returns (ensemble, one `reward.TrainResult` per member). x: (S, D) features of every sequence of the table.
    """
    members, results = [], []
    steps = epochs * -(-len(train) // batch_size)
    for i in range(seeds):
        torch.manual_seed(seed + i)
        net = reward.FeedForwardRM(x.shape[1], hidden=hidden)
        tc = reward.TrainConfig(lr=lr, batch_size=batch_size, epochs=epochs, eval_every=max(1, steps // 20),
                                patience=10, seed=seed + i)
        results.append(reward.train(net, features.feature_reward_fn(net, x), train, val, tc,
                                    desc=f"FFN reward model {i + 1}/{seeds}", progress=progress))
        members.append(net.eval())
    return reward.EnsembleRM(members).eval(), results


def rm_metrics(head: nn.Module, x: torch.Tensor, split: PairSplit) -> dict[str, float]:
    """Pairwise accuracy (over all labels of a split with several per pair), gold agreement and Bayes ceiling."""
    with torch.no_grad():
        out = reward.evaluate(features.feature_reward_fn(head, x), split, reward.TrainConfig())
    w = torch.ones_like(split.p_chosen) if split.weight is None else split.weight
    out["bayes_ceiling"] = metrics.bayes_ceiling(split.p_chosen, w)
    out["pairs"] = len(split)
    return out


# ================================================================================================ PPO
def reward_fn(rm: FeatureRM, tokenizer, mean: float = 0.0, std: float = 1.0) -> ppo.ResponseScoreFn:
    """A PPO reward function: decode the policy's responses, score them with `rm`, normalise by the reference's
    scores (so that a typical starting answer scores 0, one standard deviation 1): `reward.scored_text_fn` on the
    feature reward model's `score`, kept under this name for chapters 5.1 and 5.4."""
    return reward.scored_text_fn(rm.score, tokenizer, mean, std)


# ===================================================================================== reading samples
def samples_table(samples: dict[str, dict], n: int | None = None, width: int = 220):
    """A table (pandas DataFrame) of the same prompts answered by each model, with gold scores.

    `samples`: {model name: a `judge.sample` of the same prompts}, e.g. the reference and the tuned policy.
    """
    import pandas as pd

    first = next(iter(samples.values()))
    rows = []
    for i, r in enumerate(first["records"][:n] if n else first["records"]):
        row = {"category": r["category"], "prompt": r["prompt"][:90]}
        for name, s in samples.items():
            row[name], row[f"gold {name}"] = s["texts"][i][:width], round(s["gold"][i], 2)
        rows.append(row)
    return pd.DataFrame(rows)


def component_means(samples: dict[str, dict], components: Callable, group: Callable[[dict], str]):
    """Mean of each gold component per group of prompts and model: WHAT changed (pandas DataFrame).

    `samples`: {model name: a `judge.sample`}; `components(record, text, finished)` gives the named parts of the gold.
    """
    import pandas as pd

    rows = []
    for name, s in samples.items():
        for rec, text, done in zip(s["records"], s["texts"], s["finished"], strict=True):
            rows.append({"model": name, "group": group(rec), **components(rec, text, done),
                         "words": len(text.split())})
    df = pd.DataFrame(rows)
    means = df.groupby(["group", "model"], sort=False).mean(numeric_only=True).round(2)
    return means.sort_index(level="group", sort_remaining=False)  # groups in order, models as given


# ============================================================================================== plots
def plot_ppo_curves(history: list[dict], title: str = ""):
    """Reward-model score, KL to the reference, β and the share of finished answers over the PPO steps."""
    import matplotlib.pyplot as plt

    curves = [("objective/scores", "reward-model score (normalised)"), ("objective/kl", "KL to reference (nats)"),
              ("beta", "β (adaptive)"), ("response/finished", "answers ending with EOS")]
    fig, axes = plt.subplots(1, 4, figsize=(14, 3))
    steps = [h["step"] for h in history]
    for ax, (key, label) in zip(axes, curves, strict=True):
        ax.plot(steps, [h[key] for h in history], "o-", ms=3)
        ax.set(title=label, xlabel="PPO step")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


CONTROL_LABELS = {"reference": "(a) reference", "reference, ample budget": "(b) reference, ample budget",
                  "brevity baseline": "(c) brevity baseline"}


def control_panels(vs: dict, groups_title: str, groups: dict) -> dict:
    """`plot_win_rates` panels for `judge.controls`: the policy against each control (all pairs, and (d) the pairs
    where both finished), then `groups` ({bar set: {group: CI}}) under `groups_title`."""
    return {"PPO policy against each control": {
                "all pairs": {CONTROL_LABELS[k]: {**v["win"], "n": v["n"]} for k, v in vs.items()},
                "(d) both finished": {CONTROL_LABELS[k]: v["both_finished"] for k, v in vs.items()}},
            groups_title: groups}


def plot_win_rates(panels: dict[str, dict[str, dict[str, dict]]], title: str = ""):
    """Bars of gold win rates with their 95% CIs as error bars, 50% (no better than the reference) dashed.

    `panels`: {panel title: {series: {bar label: {"value", "lo", "hi"} and optionally "n"}}}; the series of a panel
    are grouped side by side (e.g. all pairs and both-finished pairs), n (of the first series) under each label.
    A win rate without a value (no pairs, e.g. none where both answers finished) is an empty bar marked n/a.
    """
    import textwrap

    import matplotlib.pyplot as plt

    widths = [max(len(bars) for bars in series.values()) for series in panels.values()]
    fig, axes = plt.subplots(1, len(panels), figsize=(1.2 * sum(widths) + 2.5 * len(panels), 3.8), squeeze=False,
                             gridspec_kw={"width_ratios": widths})
    for ax, (panel, series) in zip(axes[0], panels.items(), strict=True):
        labels = list(dict.fromkeys(k for bars in series.values() for k in bars))  # every bar label, in order
        width = 0.8 / len(series)
        for j, (name, bars) in enumerate(series.items()):
            x = np.arange(len(labels)) + (j - (len(series) - 1) / 2) * width
            ci = [bars.get(k, {"value": np.nan, "lo": np.nan, "hi": np.nan}) for k in labels]
            v, lo, hi = (np.array([c[f] for c in ci], float) for f in ("value", "lo", "hi"))
            err = np.nan_to_num([np.maximum(v - lo, 0), np.maximum(hi - v, 0)])  # no CI: no error bar
            ax.bar(x, np.nan_to_num(v), width=0.95 * width, yerr=err, capsize=3, label=name)
            for xi, vi in zip(x, v, strict=True):
                if not np.isfinite(vi):
                    ax.annotate("n/a", (xi, 0.02), ha="center", fontsize=7)
        first = next(iter(series.values()))
        ticks = [textwrap.fill(k, 14) + (f"\n(n={first[k]['n']})" if "n" in first.get(k, {}) else "")
                 for k in labels]
        ax.set_xticks(range(len(labels)), ticks, fontsize=8)
        ax.axhline(0.5, color="gray", ls="--", lw=0.8)
        ax.set(ylim=(0, 1), title=panel)
        if len(series) > 1:
            ax.legend(fontsize=7)
    axes[0][0].set_ylabel("gold win rate (95% CI)")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
