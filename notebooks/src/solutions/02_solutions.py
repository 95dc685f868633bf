# %% [markdown]
# # Chapter 2 — worked solutions to the exercises
#
# Try the exercises at the end of `02_reward_model.ipynb` before reading on. Every solution ends with the
# check the exercise gives you; CI runs this notebook, so each check here is known to accept a right answer.

# %%
import math

import torch
import torch.nn.functional as F

from rlhf_lib import config, exercises, features, metrics, reward
from rlhf_lib.reward import TrainConfig

config.seed_everything(0)
torch.set_num_threads(1)  # tensors this small train faster on one thread than on two that wait for each other

# %% [markdown]
# ## 02.1 How big a margin is 90% sure?
#
# $\sigma(d) = 0.9 \iff d = \log\frac{0.9}{0.1} = \log 9$: a reward margin is a log-odds.

# %%
margin = math.log(0.9 / 0.1)
print(f"margin {margin:.3f}, sigmoid(margin) = {1 / (1 + math.exp(-margin)):.3f}")
assert exercises.check("02.1", margin)

# %% [markdown]
# ## 02.2 A stable Bradley-Terry loss
#
# `torch.log(torch.sigmoid(d))` is `log(0) = -inf` for $d = -200$ in float32; `F.logsigmoid` computes the same
# function as $-\mathrm{softplus}(-d)$, which stays finite.

# %%
def bt_loss(r_chosen, r_rejected):
    return -F.logsigmoid(r_chosen - r_rejected).mean()


d = torch.tensor([-200.0])
print("naive:", -torch.log(torch.sigmoid(d)).item(), "  stable:", bt_loss(d, torch.zeros(1)).item())
assert exercises.check("02.2", bt_loss)

# %% [markdown]
# ## 02.3 The Plackett-Luce loss of a ranking
#
# Plackett-Luce picks the best response with probability $\mathrm{softmax}(r)$, then the best of the rest, and
# so on. The negative log-likelihood of a ranking $\pi$ (best first) is
# $-\sum_i \big(r_{\pi_i} - \log\sum_{j \ge i} e^{r_{\pi_j}}\big)$; for two responses it is Bradley-Terry.

# %%
def plackett_luce_loss(rewards, ranking):
    r = rewards[list(ranking)]  # best first
    return -sum(r[i] - torch.logsumexp(r[i:], 0) for i in range(len(r)))


r = torch.tensor([0.3, 1.2])
print(plackett_luce_loss(r, [1, 0]).item(), bt_loss(r[1:], r[:1]).item())  # equal
assert exercises.check("02.3", plackett_luce_loss)

# %% [markdown]
# ## 02.4 Train a reward model that generalises
#
# The chapter's loop, on the toy features. The checker scores the model on pairs of new prompts against the
# hidden, noise-free utility.

# %%
X, train_split, val_split = exercises.toy_reward_data()
torch.manual_seed(0)
net = reward.FeedForwardRM(X.shape[1], hidden=64, dropout=0.0)
tc = TrainConfig(lr=3e-3, batch_size=32, epochs=20, eval_every=50, patience=100, seed=0)
result = reward.train(net, features.feature_reward_fn(net, X), train_split, val_split, tc, progress=False)
print(f"best val accuracy {result.best_val_accuracy:.3f} (Bayes ceiling {metrics.bayes_ceiling(val_split.p_chosen):.3f})")
assert exercises.check("02.4", net)
