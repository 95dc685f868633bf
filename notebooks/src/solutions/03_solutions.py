# %% [markdown]
# # Chapter 3 — worked solutions to the exercises
#
# Try the exercises at the end of `03_validation_metrics.ipynb` before reading on. Every solution ends with the
# check the exercise gives you; CI runs this notebook, so each check here is known to accept a right answer.

# %%
import numpy as np

from rlhf_lib import exercises, metrics

# %% [markdown]
# ## 03.1 Precision and recall at a threshold
#
# Both orders of each pair: (chosen, rejected) is a positive with margin $d$, (rejected, chosen) a negative with
# margin $-d$. Predicting "A preferred" when the margin exceeds 1: TP counts $d > 1$, FP counts $-d > 1$.

# %%
d = exercises.margins_03()
tp, fp = np.sum(d > 1.0), np.sum(-d > 1.0)
answer = {"precision": tp / (tp + fp), "recall": tp / len(d)}
print({k: round(float(v), 4) for k, v in answer.items()}, "at threshold 0:",
      {k: round(v, 4) for k, v in metrics.classification_metrics(d).items() if k in answer})
assert exercises.check("03.1", answer)

# %% [markdown]
# ## 03.2 Expected calibration error
#
# Bin the predictions, compare each bin's mean prediction with its observed frequency, and weight the gaps by
# the share of predictions in the bin.

# %%
def ece(p, y, n_bins=10):
    bins = np.minimum((p * n_bins).astype(int), n_bins - 1)  # p = 1 goes to the last bin
    total = 0.0
    for b in range(n_bins):
        sel = bins == b
        if sel.any():
            total += sel.mean() * abs(y[sel].mean() - p[sel].mean())
    return total


assert exercises.check("03.2", ece)

# %% [markdown]
# ## 03.3 Temperature scaling
#
# A grid search over $T$ on the validation margins finds the minimum of the log loss; `metrics.fit_temperature`
# refines it. Applied to the test margins, the ECE drops while the accuracy cannot change.

# %%
margins = exercises.overconfident_margins()
grid = np.exp(np.linspace(np.log(0.1), np.log(20), 400))
losses = [metrics.calibration_summary(margins["val"], temperature=t)["nll"] for t in grid]
t_grid, t_fit = grid[int(np.argmin(losses))], metrics.fit_temperature(margins["val"])
print(f"grid: T = {t_grid:.3f}   fit_temperature: T = {t_fit:.3f}")
for t in (1.0, t_fit):
    print(f"test ECE at T={t:.2f}: {metrics.expected_calibration_error(margins['test'], temperature=t):.3f}")
assert exercises.check("03.3", t_fit)

# %% [markdown]
# ## 03.4 A cluster bootstrap interval
#
# Resample whole prompts with replacement, recompute the accuracy each time, and read the percentiles that cut off
# $2.5\%$ in each tail (`np.percentile(stats, [2.5, 97.5])`). Pairs of one prompt succeed or fail together, so
# resampling pairs would be too optimistic.

# %%
def cluster_ci(correct, groups, n_boot=2000, seed=0):
    rng = np.random.default_rng(seed)
    members = [np.flatnonzero(groups == g) for g in np.unique(groups)]
    stats = [correct[np.concatenate([members[i] for i in rng.integers(0, len(members), len(members))])].mean()
             for _ in range(n_boot)]
    lo, hi = np.percentile(stats, [2.5, 97.5])
    return float(lo), float(hi)


correct, groups = exercises.clustered_correct()
naive = metrics.bootstrap_ci(np.mean, correct, n_boot=2000)
print(f"accuracy {correct.mean():.3f}; prompts resampled {cluster_ci(correct, groups)}; "
      f"pairs resampled ({naive['lo']:.3f}, {naive['hi']:.3f})")
assert exercises.check("03.4", cluster_ci)
