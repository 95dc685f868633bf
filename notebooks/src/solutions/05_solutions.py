# %% [markdown]
# # Chapter 5 — worked solutions to the exercises
#
# Try the exercises at the end of `05_applications_5_iterate.ipynb` before reading on. Every solution ends with
# the check the exercise gives you; CI runs this notebook, so each check here is known to accept a right answer.
# No model is loaded: the data are small toy numbers of the kind chapter 5's evaluations and training logs produce.

# %%
import numpy as np

from rlhf_lib import exercises, judge

# %% [markdown]
# ## 05.1 A win rate with ties
#
# A pair counts 1 when `a` is better, 0 when it is worse and one half when the gold cannot tell them apart. Then
# two models that always tie score one half, and the win rate of `b` over `a` is one minus that of `a` over `b`.
# Counting ties as losses (or leaving them out) breaks both properties: a tuned model that often ties with the
# reference would look worse (or better) than it is.

# %%
def win_rate(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.mean(np.where(np.isclose(a, b, rtol=0, atol=1e-9), 0.5, (a > b).astype(float))))


a, b = [1.0, 0.0, 2.0, 0.5], [0.0, 0.0, 1.0, 0.5]
print(win_rate(a, b), win_rate(b, a), "judge.win_rate gives", judge.win_rate(a, b))
assert exercises.check("05.1", win_rate)

# %% [markdown]
# ## 05.2 How much of a win survives on both-finished pairs
#
# The control of chapter 5.1: keep the pairs where **both** answers ended inside the budget, so that neither side
# lost gold for being cut off. One half is no win at all, so the share that survives compares the edges above
# one half, not the win rates themselves.

# %%
d = exercises.judged_05()
both = d["finished_a"] & d["finished_b"]
w_all = win_rate(d["gold_a"], d["gold_b"])
w_both = win_rate(d["gold_a"][both], d["gold_b"][both])
answer = {"all": w_all, "both_finished": w_both, "kept": (w_both - 0.5) / (w_all - 0.5)}
print(f"finished: policy {d['finished_a'].mean():.2f}, reference {d['finished_b'].mean():.2f}, both {both.mean():.2f}")
print({k: round(v, 3) for k, v in answer.items()})
assert exercises.check("05.2", answer)

# %% [markdown]
# ## 05.3 A gold utility for a new domain
#
# Each pair says what people want: a total near the target, neither far above nor far below it; at least one
# rest day; no single run that is most of the week; the running spread out, not crammed together. One term per
# wish, each a penalty, so that the best plan is the one that breaks none of them. Read the check's message: a
# utility that ranks these six pairs is still a proxy of what a runner wants.

# %%
def plan_utility(plan, target=25.0):
    plan = np.asarray(plan, dtype=float)
    total = plan.sum()
    u = 0.0 - abs(total - target) / 5  # near the weekly target
    u -= 2.0 * ((plan == 0).sum() == 0)  # at least one rest day
    if total > 0:
        u -= 4.0 * max(0.0, plan.max() / total - 0.4)  # no single run over two fifths of the week
    streak = longest = 0
    for km in plan:  # the longest run of consecutive running days
        streak = streak + 1 if km > 0 else 0
        longest = max(longest, streak)
    u -= 0.5 * max(0, longest - 2)
    return float(u)


for good, bad, why in exercises.plan_pairs_05():
    print(f"{plan_utility(good):+.2f} > {plan_utility(bad):+.2f}  {why}")
assert exercises.check("05.3", plan_utility)

# %% [markdown]
# ## 05.4 A reward-hacking detector
#
# Over-optimisation shows as the gold falling **while** the reward model's score rises. Comparing each step
# with the one `k` steps later, rather than with the next, ignores one-step wobbles; requiring the score to rise
# ignores a bad batch, where both fall together.

# %%
def first_divergence(rm, gold, k=3):
    for t in range(len(gold) - k):
        if rm[t + k] > rm[t] and gold[t + k] < gold[t]:
            return t
    return None


for name, log in exercises.runs_05().items():
    print(f"{name:10s} k=3: {first_divergence(log['rm'], log['gold'], 3)}, k=5: "
          f"{first_divergence(log['rm'], log['gold'], 5)}")
assert exercises.check("05.4", first_divergence)

# %% [markdown]
# The detector's alarm comes when the gold is already falling; the checkpoint to keep is the one before it. In a
# real run there is no gold: chapter 5.5 uses fresh feedback on the policy's own samples in its place.
