# %% [markdown]
# # Chapter 1 — worked solutions to the exercises
#
# Try the exercises at the end of `01_preference_data.ipynb` before reading on. Every solution ends with the
# check the exercise gives you; CI runs this notebook, so each check here is known to accept a right answer.

# %%
import math
from itertools import combinations

import numpy as np

from rlhf_lib import annotate, config, data, exercises

# %% [markdown]
# ## 01.1 The Bayes ceiling of the validation split
#
# On a pair where a random annotator prefers `chosen` with probability $p$, the best prediction is right with
# probability $\max(p, 1-p)$; the ceiling is the mean over the pairs.

# %%
val = data.load_preferences(config.DATA_DIR / "preferences")["val"]
p = np.array(val["p_chosen"])
ceiling = float(np.mean(np.maximum(p, 1 - p)))
print(f"{len(p)} validation pairs, Bayes ceiling {ceiling:.4f}")
assert exercises.check("01.1", ceiling)

# %% [markdown]
# ## 01.2 From a ranking to pairs
#
# A ranking best-first of $K$ responses says, for every two ranks $i < j$, that the response at rank $i$ beats
# the one at rank $j$: $\binom{K}{2}$ rows. (`annotate.ranking_to_pairs` does the same on indices.)

# %%
def ranking_to_rows(prompt, responses, ranking):
    return [{"prompt": prompt, "chosen": responses[ranking[i]], "rejected": responses[ranking[j]]}
            for i, j in combinations(range(len(ranking)), 2)]


for row in ranking_to_rows("Capital of France?", ["Lyon.", "Paris.", "Paris, of course."], [1, 2, 0]):
    print(row)
assert exercises.check("01.2", ranking_to_rows)

# %% [markdown]
# ## 01.3 Cohen's kappa by hand
#
# $\kappa = (p_o - p_e) / (1 - p_e)$: the observed agreement $p_o$, corrected by the agreement $p_e$ two
# annotators would reach by chance, each answering at random with their own label frequencies.

# %%
def kappa(a, b):
    a, b = np.asarray(a), np.asarray(b)
    p_o = np.mean(a == b)
    p_e = sum(np.mean(a == label) * np.mean(b == label) for label in (annotate.A, annotate.B, annotate.TIE))
    return float((p_o - p_e) / (1 - p_e))


assert exercises.check("01.3", kappa)

# %% [markdown]
# ## 01.4 An annotator's probabilities, ties included
#
# With $x = \Delta u / \tau$ and tie band $b$: $P(A) = \sigma(x - b)$, $P(B) = \sigma(-x - b)$, and a tie takes
# the rest. We also check the formula against the simulated annotator's own choices.

# %%
def sigmoid(z):
    return 1 / (1 + math.exp(-z))


def annotator_probs(delta_u, temperature, tie_band):
    x = delta_u / temperature
    p_a, p_b = sigmoid(x - tie_band), sigmoid(-x - tie_band)
    return p_a, p_b, 1 - p_a - p_b


assert exercises.check("01.4", annotator_probs)

person = annotate.make_panel(1, seed=0)[0]
record = {"category": "factual"}
comp_a = {**dict.fromkeys(annotate.COMPONENTS, 0.0), "correct": 0.2}  # A is a little more correct than B
comp_b = dict.fromkeys(annotate.COMPONENTS, 0.0)
delta_u = person.utility(record, comp_a) - person.utility(record, comp_b)
labels = [person.compare(record, comp_a, comp_b) for _ in range(20_000)]
print("formula   :", [round(v, 3) for v in annotator_probs(delta_u, person.temperature, person.tie_band)])
print("simulation:", [round(labels.count(k) / len(labels), 3) for k in (annotate.A, annotate.B, annotate.TIE)])
