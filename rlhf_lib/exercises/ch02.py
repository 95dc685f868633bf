"""Chapter 2's exercises: a margin, the Bradley-Terry and Plackett-Luce losses, a reward model on toy features.

`toy_reward_data` gives exercise 02.4 its data, from the same seeded source the check uses.
"""

from __future__ import annotations

import math

import torch

from .registry import Wrong, _call, _exercise, _expect, _number, _tensor


@_exercise("02.1", "how big a margin is 90% sure")
def _margin(answer) -> str:
    got = _number(answer, "the margin")
    want = math.log(9)
    if abs(got - want) > 1e-3:
        _expect(abs(got - 0.9) > 1e-3, "0.9 is the probability; the margin d solves sigmoid(d) = 0.9")
        _expect(abs(got + want) > 1e-3, "wrong sign: a positive margin favours chosen")
        _expect(abs(got - math.log10(9)) > 1e-3, "use the natural logarithm")
        raise Wrong(f"sigmoid({got:.3f}) = {1 / (1 + math.exp(-got)):.3f}, not 0.9")
    return "d = log(0.9 / 0.1) = log 9 ≈ 2.197: rewards are log-odds"


@_exercise("02.2", "a stable Bradley-Terry loss")
def _bt(fn) -> str:
    g = torch.Generator().manual_seed(2)
    r_c, r_r = torch.randn(64, generator=g) * 2, torch.randn(64, generator=g) * 2
    want = -torch.nn.functional.logsigmoid(r_c - r_r).mean()
    got = _call(fn, r_c.clone(), r_r.clone(), name="bt_loss")
    got = _tensor(got, (), "bt_loss(r_chosen, r_rejected)")
    if abs(got.item() - want.item()) > 1e-5:
        _expect(abs(got.item() - 64 * want.item()) > 1e-3, "that is the sum over pairs: take the mean")
        _expect(abs(got.item() + torch.nn.functional.logsigmoid(r_r - r_c).mean().item()) > 1e-5,
                "chosen and rejected are swapped: the loss is -log sigmoid(r_chosen - r_rejected)")
        raise Wrong(f"loss {got.item():.5f}, expected {want.item():.5f} = mean of -log sigmoid(r_c - r_r)")
    extreme = _call(fn, torch.tensor([-200.0, 0.0]), torch.tensor([0.0, 0.0]), name="bt_loss")
    _expect(isinstance(extreme, torch.Tensor) and torch.isfinite(extreme).all(),
            "a margin of -200 gives inf or NaN: log(sigmoid(x)) underflows, use torch.nn.functional.logsigmoid")
    _expect(abs(extreme.item() - (200 + math.log(2)) / 2) < 1e-3, f"for margins [-200, 0] expected "
                                                                  f"{(200 + math.log(2)) / 2:.3f}, got {extreme.item():.3f}")
    r_c = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
    loss = _call(fn, r_c, torch.zeros(3), name="bt_loss")
    _expect(loss.requires_grad, "the loss carries no gradient: build it from the reward tensors with torch operations")
    loss.backward()
    want_grad = -torch.sigmoid(-r_c.detach()) / 3  # d/dr_c of mean(-log sigmoid(r_c))
    _expect(torch.allclose(r_c.grad, want_grad, atol=1e-6), "the gradient is wrong")
    return "the mean of -log sigmoid(r_c - r_r), finite at a margin of -200, with the right gradient"


@_exercise("02.3", "the Plackett-Luce loss of a ranking")
def _plackett_luce(fn) -> str:
    g = torch.Generator().manual_seed(3)
    for k in (2, 3, 5):
        rewards = torch.randn(k, generator=g) * 2
        ranking = torch.randperm(k, generator=g).tolist()
        r = rewards[ranking]  # best first
        want = -sum((r[i] - torch.logsumexp(r[i:], 0)).item() for i in range(k))
        got = _number(_call(fn, rewards.clone(), list(ranking), name="plackett_luce_loss"),
                      f"plackett_luce_loss for K={k}")
        if abs(got - want) > 1e-5:
            pairwise = sum(-torch.nn.functional.logsigmoid(r[i] - r[j]).item() for i in range(k) for j in range(i + 1, k))
            _expect(abs(got - pairwise) > 1e-5, "that is the sum of the Bradley-Terry losses of all K(K-1)/2 pairs: "
                                                "Plackett-Luce picks the best of the remaining responses, one at a time")
            reverse = -sum((r.flip(0)[i] - torch.logsumexp(r.flip(0)[i:], 0)).item() for i in range(k))
            _expect(abs(got - reverse) > 1e-5, "the ranking lists the best response FIRST")
            raise Wrong(f"for K={k} expected {want:.5f}, got {got:.5f}: -sum_i log softmax(r[pi_i], r[pi_i], ..., r[pi_K])")
        if k == 2:
            bt = -torch.nn.functional.logsigmoid(r[0] - r[1]).item()
            _expect(abs(got - bt) < 1e-5, "for two responses Plackett-Luce must equal Bradley-Terry")
    return "the negative log-likelihood of the ranking; for K=2 it is the Bradley-Terry loss"


_W = torch.tensor([1.0, -0.8, 0.6, 0.5, -0.4, 0.3, 0.0, 0.0])


def _toy_utility(x: torch.Tensor) -> torch.Tensor:
    """The hidden gold utility of the toy responses: mostly linear, with an interaction and a penalty."""
    return x @ _W + 0.7 * x[:, 0] * x[:, 1] - 0.5 * x[:, 2] ** 2


def _toy_pairs(n_prompts: int, seed: int, k: int = 4, offset: int = 0, temperature: float = 0.25):
    from ..pairs import PairSplit

    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n_prompts * k, 8, generator=g)  # K responses per prompt, 8 features each
    u = _toy_utility(x)
    i, j = torch.triu_indices(k, k, 1)
    a = (torch.arange(n_prompts)[:, None] * k + i).flatten()
    b = (torch.arange(n_prompts)[:, None] * k + j).flatten()
    p_a = torch.sigmoid((u[a] - u[b]) / temperature)  # a Bradley-Terry annotator
    a_wins = torch.rand(len(a), generator=g) < p_a
    c, r = torch.where(a_wins, a, b), torch.where(a_wins, b, a)
    return x, PairSplit(c + offset, r + offset, torch.where(a_wins, p_a, 1 - p_a), u[c], u[r], group=a // k)


def toy_reward_data(seed: int = 0):
    """Exercise 02.4: (features (S, 8), train split, val split) of a toy preference task.

    Each of 4 responses per prompt is a vector of 8 features; a hidden utility of the features decides
    which one a noisy Bradley-Terry annotator prefers. 150 train and 50 val prompts, 6 pairs each.
    """
    x_train, train = _toy_pairs(150, seed)
    x_val, val = _toy_pairs(50, seed + 1, offset=len(x_train))
    return torch.cat([x_train, x_val]), train, val


@_exercise("02.4", "train a reward model that generalises")
def _train_rm(model) -> str:
    _expect(isinstance(model, torch.nn.Module), f"pass your trained model (a torch.nn.Module), got {type(model).__name__}")
    x, pairs = _toy_pairs(200, seed=12345)  # new prompts the model never saw
    was_training = model.training
    model.eval()
    device = next(model.parameters(), torch.empty(0)).device  # a model trained on a GPU is checked there
    with torch.no_grad():
        rewards = _call(model, x.to(device), name="your model")
    model.train(was_training)
    rewards = _tensor(rewards, (len(x),), "model(features)")
    gold = float(((rewards[pairs.chosen] - rewards[pairs.rejected]).sign()
                  == (pairs.gold_chosen - pairs.gold_rejected).sign().double()).double().mean())
    _expect(gold >= 0.80, f"your model agrees with the hidden gold preference on {gold:.1%} of new pairs; reach 80% "
                          f"(an untrained model gets about 50%): train longer, or with a larger learning rate")
    return f"agrees with the hidden gold preference on {gold:.1%} of 1,200 pairs of new prompts"


