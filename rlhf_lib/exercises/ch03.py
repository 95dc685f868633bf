"""Chapter 3's exercises: precision and recall, calibration error, temperature scaling, a cluster bootstrap.

`margins_03`, `overconfident_margins` and `clustered_correct` give the exercises their data.
"""

from __future__ import annotations

import math

import numpy as np

from .registry import Wrong, _call, _exercise, _expect, _number


def margins_03(seed: int = 0) -> np.ndarray:
    """Exercise 03.1: margins r(chosen) - r(rejected) of a reward model on 300 test pairs."""
    rng = np.random.default_rng(seed)
    return np.round(rng.normal(0.8, 1.5, 300), 3)


@_exercise("03.1", "precision and recall at a threshold")
def _precision(answer) -> str:
    from ..metrics import classification_metrics

    _expect(isinstance(answer, dict) and {"precision", "recall"} <= set(answer),
            'answer with a dict {"precision": ..., "recall": ...}')
    want = classification_metrics(margins_03(), threshold=1.0)
    got = {k: _number(answer[k], k) for k in ("precision", "recall")}
    if any(abs(got[k] - want[k]) > 1e-6 for k in got):
        _expect(abs(got["precision"] - 1) > 1e-9, "precision 1: with the chosen response always in slot A there is no "
                                                   "negative class; show each pair in both orders")
        _expect(abs(got["recall"] - want["recall"]) > 1e-6, "recall is right but precision is not: the false positives "
                                                            "are the swapped pairs (rejected in slot A) whose margin "
                                                            "-d is above the threshold")
        raise Wrong(f"expected precision {want['precision']:.4f}, recall {want['recall']:.4f}; got "
                    f"{got['precision']:.4f}, {got['recall']:.4f}")
    return f"precision {want['precision']:.3f}, recall {want['recall']:.3f}: the model calls fewer pairs, more of them right"


def _ece_reference(p: np.ndarray, y: np.ndarray, n_bins: int) -> float:
    ids = np.minimum((p * n_bins).astype(int), n_bins - 1)
    total = 0.0
    for b in range(n_bins):
        sel = ids == b
        if sel.any():
            total += sel.mean() * abs(y[sel].mean() - p[sel].mean())
    return total


@_exercise("03.2", "expected calibration error")
def _ece(fn) -> str:
    rng = np.random.default_rng(4)
    for n_bins, skew in ((10, 1.0), (5, 0.6), (15, 1.5)):
        p = rng.random(500)
        y = (rng.random(500) < p ** skew).astype(float)  # skew 1: calibrated; otherwise not
        got = _number(_call(fn, p.copy(), y.copy(), n_bins, name="ece"), f"ece(p, y, n_bins={n_bins})")
        want = _ece_reference(p, y, n_bins)
        if abs(got - want) > 1e-6:
            gaps = [abs(y[sel].mean() - p[sel].mean()) for b in range(n_bins)
                    if (sel := np.minimum((p * n_bins).astype(int), n_bins - 1) == b).any()]
            _expect(abs(got - np.mean(gaps)) > 1e-6, "each bin's gap must be weighted by its share of the predictions")
            _expect(abs(got - np.mean(np.abs(p - y))) > 1e-6, "compare the MEAN prediction and the MEAN outcome of each "
                                                              "bin, not each prediction with its own outcome")
            raise Wrong(f"ECE with {n_bins} bins is {want:.5f}, you got {got:.5f}")
    return "sum over bins of (share of predictions) x |observed frequency - mean confidence|"


def overconfident_margins(seed: int = 0) -> dict[str, np.ndarray]:
    """Exercise 03.3: {"val", "test"} margins of an overconfident reward model (300 pairs each)."""
    def split(s):
        rng = np.random.default_rng(s)
        z = rng.normal(0.8, 1.2, 300)  # the true log-odds that response A beats B
        a_wins = rng.random(300) < 1 / (1 + np.exp(-z))
        return np.where(a_wins, z, -z) * 3.0  # r(chosen) - r(rejected), three times too confident
    return {"val": split([seed, 0]), "test": split([seed, 1])}


@_exercise("03.3", "temperature scaling")
def _temperature(answer) -> str:
    from ..metrics import fit_temperature

    t = _number(answer, "the temperature")
    _expect(t > 0, "a temperature is positive")
    margins = overconfident_margins()
    want, on_test = fit_temperature(margins["val"]), fit_temperature(margins["test"])
    if abs(math.log(t / want)) > 0.05:
        _expect(abs(math.log(t * want)) > 0.05, f"T = {t:.3f} is about 1 / {want:.2f}: the model is overconfident, so "
                                                f"sigma(d / T) needs T > 1 to soften it")
        _expect(abs(math.log(t / on_test)) > 0.01, "that temperature was fitted on the test margins: fit on val, "
                                                   "and keep the test split for the final report")
        raise Wrong(f"T = {t:.3f}; the log loss of sigmoid(d / T) on the validation margins is lowest at T = {want:.2f}")
    return f"T ≈ {want:.2f}: the margins were about three times too confident"


def clustered_correct(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Exercise 03.4: (correct (300,) 0/1, prompt id (300,)): 30 prompts of 10 pairs; prompts differ in difficulty."""
    rng = np.random.default_rng(seed)
    accuracy = rng.beta(0.8, 0.5, 30)  # one prompt is easy for the model, another hard
    correct = (rng.random((30, 10)) < accuracy[:, None]).astype(float)
    return correct.ravel(), np.repeat(np.arange(30), 10)


@_exercise("03.4", "a cluster bootstrap interval")
def _cluster_ci(fn) -> str:
    from ..metrics import bootstrap_ci

    for seed in (0, 1):
        correct, groups = clustered_correct(seed)
        out = _call(fn, correct.copy(), groups.copy(), name="cluster_ci")
        _expect(isinstance(out, tuple | list) and len(out) == 2, "return (lo, hi)")
        lo, hi = (_number(v, "a bound") for v in out)
        _expect(lo <= correct.mean() <= hi, f"the interval [{lo:.3f}, {hi:.3f}] misses the accuracy {correct.mean():.3f}")
        ref = bootstrap_ci(np.mean, correct, groups=groups, n_boot=4000, seed=11)
        naive = bootstrap_ci(np.mean, correct, n_boot=4000, seed=11)
        width, ref_width, naive_width = hi - lo, ref["hi"] - ref["lo"], naive["hi"] - naive["lo"]
        if not 0.8 * ref_width <= width <= 1.25 * ref_width:
            _expect(abs(width - naive_width) > 0.15 * naive_width,
                    f"width {width:.3f} is what resampling PAIRS gives ({naive_width:.3f}): pairs of one prompt are "
                    f"alike, so resample whole prompts")
            raise Wrong(f"the 95% interval should be about {ref_width:.3f} wide (resampling prompts), yours is "
                        f"{width:.3f}: the 2.5th and 97.5th percentiles of the resampled accuracies")
    return "about as wide as a prompt-level bootstrap, and about twice as wide as the naive pair bootstrap"


