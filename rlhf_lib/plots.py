"""Plots the chapters share: training curves of one or several runs, and reward distributions."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np


def training_curves(runs: dict[str, list[dict]], ceiling: float | None = None, title: str = "",
                    x: str = "step", sharey: bool = False):
    """Loss and pairwise accuracy (train dashed, val solid) of each run, one colour per run.

    `runs` maps a name to the history a training loop logged: rows with `train_loss`, `val_loss`,
    `train_accuracy`, `val_accuracy` and the `x` key. `ceiling` draws the Bayes ceiling on accuracy.
    """
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 3.6))
    for i, (name, history) in enumerate(runs.items()):
        colour = f"C{i}"
        xs = [row[x] for row in history]
        for ax, metric in ((ax_loss, "loss"), (ax_acc, "accuracy")):
            ax.plot(xs, [row[f"train_{metric}"] for row in history], "--", color=colour, alpha=0.6)
            ax.plot(xs, [row[f"val_{metric}"] for row in history], "-", color=colour, label=name)
    if ceiling is not None:
        ax_acc.axhline(ceiling, color="grey", ls=":", label=f"Bayes ceiling {ceiling:.3f}")
    ax_loss.set(xlabel=x, ylabel="loss", title="loss (dashed: train, solid: val)")
    ax_acc.set(xlabel=x, ylabel="pairwise accuracy", title="pairwise accuracy")
    ax_acc.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def side_by_side(panels: dict[str, dict[str, list[dict]]], metric: str = "accuracy", ceiling: float | None = None,
                 x: str = "step"):
    """One panel per group of runs (e.g. "SGD" and "AdamW"), each showing train and val `metric`."""
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 3.4), sharey=True)
    for ax, (title, runs) in zip(np.atleast_1d(axes), panels.items(), strict=True):
        for i, (name, history) in enumerate(runs.items()):
            xs = [row[x] for row in history]
            ax.plot(xs, [row[f"train_{metric}"] for row in history], "--", color=f"C{i}", alpha=0.6)
            ax.plot(xs, [row[f"val_{metric}"] for row in history], "-", color=f"C{i}", label=name)
        if ceiling is not None and metric == "accuracy":
            ax.axhline(ceiling, color="grey", ls=":", label="Bayes ceiling")
        ax.set(title=title, xlabel=x, ylabel=metric)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def reward_margins(margins: dict[str, np.ndarray], bins: int = 40):
    """Histogram of r_chosen - r_rejected per model: mass right of 0 is pairs ranked like the annotator."""
    fig, ax = plt.subplots(figsize=(6, 3.2))
    for name, m in margins.items():
        ax.hist(np.asarray(m), bins=bins, alpha=0.5, label=name)
    ax.axvline(0, color="black", lw=0.8)
    ax.set(xlabel="r_chosen - r_rejected", ylabel="pairs")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def proxy_gold_curves(history: list[dict], gold_log: list[dict], unit: str, gold_label: str = "gold"):
    """A PPO run in three panels: reward-model score with the gold beside it, KL and entropy per step.

    `history` is `ppo.train`'s log, `gold_log` one row `{"gold": ...}` per step; `unit` names what one episode
    is ("sprite", "melody") for the axis titles.
    """
    fig, axes = plt.subplots(1, 3, figsize=(13, 3))
    steps = [h["step"] for h in history]
    axes[0].plot(steps, [h["objective/scores"] for h in history], "o-", ms=3)
    ax2 = axes[0].twinx()
    ax2.plot(steps, [g["gold"] for g in gold_log], "s-", ms=3, color="tab:green")
    axes[0].set(xlabel="PPO step", ylabel="reward-model score", title="Proxy (blue) and gold (green) during PPO")
    ax2.set_ylabel(gold_label, color="tab:green")
    axes[1].plot(steps, [h["objective/kl"] for h in history], "o-", ms=3)
    axes[1].set(xlabel="PPO step", title=f"KL to the pre-trained generator (nats / {unit})")
    axes[2].plot(steps, [h["objective/entropy"] for h in history], "o-", ms=3)
    axes[2].set(xlabel="PPO step", title=f"entropy (nats / {unit})")
    fig.tight_layout()
    return fig


def component_bars(components, names: list[str], groups: dict[str, list]):
    """Mean of each gold component per group of samples (e.g. pre-trained vs tuned): what changed, and where.

    `components(sample)` returns a dict of component values; `groups` maps a label to its samples.
    """
    fig, ax = plt.subplots(figsize=(max(7, 1.1 * len(names)), 3))
    x = np.arange(len(names))
    width = 0.8 / len(groups)
    for i, (label, samples) in enumerate(groups.items()):
        means = [np.mean([components(s)[c] for s in samples]) for c in names]
        ax.bar(x + (i - (len(groups) - 1) / 2) * width, means, width, label=label)
    ax.set(xticks=x, xticklabels=names, ylabel="mean component", title="What changed, component by component")
    ax.legend()
    fig.tight_layout()
    return fig
