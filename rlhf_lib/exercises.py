"""Checks for the exercises at the end of chapters 0-4: `exercises.check("02.2", my_bt_loss)`.

Each check works out the right answer on its own (or tests the properties a right answer must have) and,
when an answer is wrong, says what is wrong and where to look, not only that it is wrong. The worked
solutions are in `notebooks/solutions/`: CI runs them, which proves every check accepts a right answer;
`tests/test_exercises.py` proves each one rejects wrong ones. Every check runs in seconds on a CPU (the
model exercises use the tiny random model of `models.load_tiny_model`).

Data for an exercise comes from a function here (`toy_reward_data`, `margins_03`, ...), so that the check
can compute the expected answer from the same seeded source.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch


class Wrong(Exception):
    """Raised inside a check; the message tells the learner what is wrong with the answer."""


@dataclass(frozen=True)
class Exercise:
    title: str
    check: Callable[[object], str]  # returns what it verified, raises Wrong


EXERCISES: dict[str, Exercise] = {}


def _exercise(key: str, title: str):
    def register(fn):
        EXERCISES[key] = Exercise(title, fn)
        return fn

    return register


def verdict(key: str, answer) -> tuple[bool, str]:
    """(right?, why) for an answer to exercise `key` ("00.1", ...), without printing."""
    if key not in EXERCISES:
        raise KeyError(f"no exercise {key!r}; the exercises are {', '.join(EXERCISES)}")
    if answer is ... or answer is None:
        return False, "no answer yet: replace the `...` with your answer"
    try:
        return True, EXERCISES[key].check(answer)
    except Wrong as err:
        return False, str(err)


def check(key: str, answer) -> bool:
    """Check an answer: prints ✅ or ❌ with the reason, returns True when it is right."""
    ok, why = verdict(key, answer)
    print(f"{'✅' if ok else '❌'} exercise {key} ({EXERCISES[key].title}): {why}")
    return ok


# ----------------------------------------------------------------------------------------------- helpers
def _expect(condition, message: str) -> None:
    if not condition:
        raise Wrong(message)


def _call(fn, *args, name: str = "your function"):
    """Call the learner's function; an exception it raises becomes a wrong answer that shows it."""
    _expect(callable(fn), f"the answer should be a function, got {type(fn).__name__}")
    try:
        return fn(*args)
    except Exception as err:  # the learner's code failed: show why instead of a traceback into this module
        raise Wrong(f"{name} raised {type(err).__name__}: {err}") from err


def _number(x, what: str) -> float:
    if isinstance(x, torch.Tensor) and x.numel() == 1:
        x = x.item()
    _expect(isinstance(x, int | float | np.floating | np.integer) and not isinstance(x, bool),
            f"{what} should be a number, got {type(x).__name__}")
    _expect(math.isfinite(x), f"{what} is {x}: expected a finite number")
    return float(x)


def _tensor(x, shape: tuple, what: str) -> torch.Tensor:
    _expect(isinstance(x, torch.Tensor), f"{what} should return a torch tensor, got {type(x).__name__}")
    _expect(tuple(x.shape) == shape, f"{what} returned shape {tuple(x.shape)}, expected {shape}")
    _expect(bool(torch.isfinite(x).all()), f"{what} returned NaN or inf: {x.flatten()[:5].tolist()} ...")
    return x.detach().double().cpu()


@lru_cache(maxsize=1)
def _tiny():
    from . import models

    model, tokenizer = models.load_tiny_model(seed=0)
    return model.eval(), tokenizer


# ===================================================================================== chapter 0
@_exercise("00.1", "a profile with an override")
def _profile(cfg) -> str:
    from . import config

    _expect(hasattr(cfg, "profile") and hasattr(cfg, "model"), "pass the object that `config.load(...)` returns")
    _expect(cfg.profile == "cpu", f"this is the {cfg.profile!r} profile: ask for it by name, config.load('cpu', ...)")
    _expect(cfg.model.probe_samples == 8, f"model.probe_samples is {cfg.model.probe_samples}, not 8: "
                                          f"override it with model__probe_samples=8")
    want = config.load("cpu", model__probe_samples=8)
    differ = [key for key in config.TABLE
              if getattr(getattr(cfg, key.split(".")[0]), key.split(".")[1], None)
              != getattr(getattr(want, key.split(".")[0]), key.split(".")[1])]
    _expect(not differ, f"other settings differ from the cpu profile: {', '.join(differ[:4])}")
    return "the cpu profile with 8 samples per probe question; every other size is the profile's"


@_exercise("00.2", "sampling temperature")
def _softmax_t(fn) -> str:
    g = torch.Generator().manual_seed(0)
    for t in (1.0, 0.3, 2.5):
        logits = torch.randn(50, generator=g) * 3
        got = _tensor(_call(fn, logits.clone(), t, name=f"softmax_t(logits, {t})"), (50,), f"softmax_t(logits, {t})")
        _expect(abs(got.sum().item() - 1) < 1e-4, f"with T={t} the probabilities sum to {got.sum().item():.4f}, not 1")
        want = torch.softmax(logits.double() / t, -1)
        if not torch.allclose(got, want, atol=1e-5):
            if torch.allclose(got, torch.softmax(logits.double() * t, -1), atol=1e-5):
                raise Wrong(f"with T={t} you multiplied the logits by T: divide them by T (a high T flattens)")
            if torch.allclose(got, torch.softmax(logits.double(), -1), atol=1e-5):
                raise Wrong(f"with T={t} the result ignores T: softmax(logits / T)")
            raise Wrong(f"with T={t} the probabilities differ from softmax(logits / T) by up to "
                        f"{(got - want).abs().max().item():.2g}")
    big = torch.tensor([1000.0, 999.0, -5.0])
    got = _call(fn, big.clone(), 1.0, name="softmax_t([1000, 999, -5], 1)")
    _expect(isinstance(got, torch.Tensor) and bool(torch.isfinite(got).all()),
            "logits of 1000 give NaN or inf: exp(1000) overflows; subtract the largest logit first "
            "(the result does not change)")
    _expect(torch.allclose(got.double(), torch.softmax(big.double(), -1), atol=1e-5),
            "wrong probabilities for the logits [1000, 999, -5]")
    return "softmax(logits / T) for T = 0.3, 1, 2.5, and stable for logits of 1000"


def _top_p_reference(probs: torch.Tensor, p: float) -> torch.Tensor:
    order = torch.argsort(probs, descending=True)
    cum = torch.cumsum(probs[order], 0)
    keep = int((cum < p).sum()) + 1  # the token that crosses p is kept
    out = torch.zeros_like(probs)
    out[order[:keep]] = probs[order[:keep]]
    return out / out.sum()


@_exercise("00.3", "top-p (nucleus) filtering")
def _top_p(fn) -> str:
    cases = [(torch.tensor([0.1, 0.6, 0.05, 0.25]), 0.7), (torch.tensor([0.1, 0.6, 0.05, 0.25]), 0.5)]
    g = torch.Generator().manual_seed(1)
    for p in (0.9, 0.95, 0.5, 1.0):
        cases.append((torch.softmax(torch.randn(30, generator=g) * 2, -1), p))
    for probs, p in cases:
        probs = probs.double()
        want = _top_p_reference(probs, p)
        got = _tensor(_call(fn, probs.clone(), p, name=f"top_p_filter(probs, {p})"), tuple(probs.shape),
                      f"top_p_filter(probs, {p})")
        kept, want_kept = int((got > 0).sum()), int((want > 0).sum())
        _expect(abs(got.sum().item() - 1) < 1e-4, f"with p={p} the kept probabilities sum to {got.sum().item():.3f}: "
                                                  f"renormalise them to sum to 1")
        if kept != want_kept:
            hint = ("include the token whose probability takes the total past p" if kept == want_kept - 1 else
                    "keep only the most likely tokens, stopping as soon as their total reaches p")
            raise Wrong(f"with p={p} you kept {kept} tokens, expected {want_kept}: {hint}")
        _expect(torch.equal(got > 0, want > 0), f"with p={p} you kept the wrong tokens: keep the MOST likely ones, and "
                                                f"return them at their original positions (not sorted)")
        _expect(torch.allclose(got, want, atol=1e-6), f"with p={p} the kept probabilities are not the originals "
                                                      f"divided by their sum")
    return "keeps the smallest set of most likely tokens reaching p, renormalised, in the original order"


def _answer_logprobs(model, tokenizer, question: str, answer: str) -> dict[str, float]:
    """The right value, and the values of two common mistakes (for hints)."""
    from .models import chat_prompt

    prompt = tokenizer(chat_prompt(tokenizer, question), add_special_tokens=False)["input_ids"]
    tokens = tokenizer(answer, add_special_tokens=False)["input_ids"]
    ids = torch.tensor([prompt + tokens])
    with torch.no_grad():
        logp = model(ids).logits[0].double().log_softmax(-1)  # (L, V)
    target = ids[0, len(prompt):]
    right = logp[len(prompt) - 1:-1].gather(-1, target[:, None]).squeeze(-1)  # logits at t predict token t+1
    unshifted = logp[len(prompt):].gather(-1, target[:, None]).squeeze(-1)
    return {"sum": right.sum().item(), "mean": right.mean().item(), "unshifted": unshifted.sum().item()}


@_exercise("00.4", "log-probability of an answer")
def _logprob(fn) -> str:
    model, tokenizer = _tiny()
    for question, answer in [("What is the capital of France?", "Paris."), ("What is 17 + 25?", "It is 42."),
                             ("Say hello.", "Hello there, my friend!")]:
        ref = _answer_logprobs(model, tokenizer, question, answer)
        got = _number(_call(fn, model, tokenizer, question, answer, name="answer_logprob"),
                      f"answer_logprob(..., {question!r}, {answer!r})")
        if abs(got - ref["sum"]) > 1e-3 * max(1.0, abs(ref["sum"])):
            if abs(got - ref["mean"]) < 1e-3:
                raise Wrong("that is the MEAN log-probability per token: sum them (log p(y|x) = sum_t log p(y_t|...))")
            if abs(got - ref["unshifted"]) < 1e-3 * max(1.0, abs(ref["unshifted"])):
                raise Wrong("off by one position: the logits at position t predict token t + 1, so the answer's "
                            "first token is scored by the logits of the LAST prompt token")
            raise Wrong(f"for {answer!r} you got {got:.4f}, expected {ref['sum']:.4f}: score only the answer's tokens, "
                        f"tokenized on their own and appended to the tokenized chat prompt")
    return "log p(answer | question) of the tiny model, summed over the answer's tokens"


# ===================================================================================== chapter 1
@_exercise("01.1", "the Bayes ceiling of the validation split")
def _ceiling(answer) -> str:
    from .config import DATA_DIR

    got = _number(answer, "the ceiling")
    p = {s: np.array([json.loads(line)["p_chosen"] for line in open(DATA_DIR / "preferences" / f"{s}.jsonl")])
         for s in ("train", "val", "test")}
    want = float(np.mean(np.maximum(p["val"], 1 - p["val"])))
    if abs(got - want) > 1e-4:
        _expect(abs(got - p["val"].mean()) > 1e-4, "that is the mean of p_chosen: the best guess on a pair is "
                                                   "right with probability max(p, 1 - p)")
        for split in ("train", "test"):
            _expect(abs(got - np.mean(np.maximum(p[split], 1 - p[split]))) > 1e-4,
                    f"that is the {split} split's ceiling: read data/preferences/val.jsonl")
        raise Wrong(f"{got:.4f} is not the validation ceiling (it lies between 0.5 and 1)")
    return f"{want:.4f}: no reward model can expect a higher accuracy on these labels"


@_exercise("01.2", "from a ranking to pairs")
def _ranking(fn) -> str:
    from .data import PreferenceDataError, normalize

    cases = [(["Paris.", "Lyon."], [1, 0]), (["a1", "a2", "a3", "a4"], [2, 0, 3, 1]), (["x", "y", "z"], [0, 1, 2])]
    for responses, ranking in cases:
        rows = _call(fn, "Q?", list(responses), list(ranking), name="ranking_to_rows")
        _expect(isinstance(rows, list) and all(isinstance(r, dict) for r in rows), "return a list of dicts")
        k = len(responses)
        want = {(responses[ranking[i]], responses[ranking[j]]) for i in range(k) for j in range(i + 1, k)}
        for row in rows:
            try:
                normalize(row)
            except PreferenceDataError as err:
                raise Wrong(f"a row is not a valid preference record: {err}") from None
            _expect(row["prompt"] == "Q?", "every row keeps the prompt")
        got = [(r["chosen"], r["rejected"]) for r in rows]
        if set(got) != want:
            _expect({(b, a) for a, b in got} != want, "chosen and rejected are swapped: the ranking lists the BEST "
                                                      "response first")
            _expect(len(got) != k - 1, f"a ranking of {k} responses gives {k * (k - 1) // 2} pairs (every pair of "
                                       f"ranks), not only the {k - 1} neighbours")
            raise Wrong(f"for the ranking {ranking} of {responses} expected the pairs {sorted(want)}, got {sorted(got)}")
        _expect(len(got) == len(want), "some pair appears twice")
    return "K(K-1)/2 valid TRL rows per ranking, the better-ranked response chosen"


@_exercise("01.3", "Cohen's kappa by hand")
def _kappa(fn) -> str:
    from sklearn.metrics import cohen_kappa_score

    from .annotate import TIE, A, B

    rng = np.random.default_rng(0)
    for agree in (0.9, 0.6, 0.3):
        a = rng.choice([A, B, TIE], size=200, p=[0.45, 0.4, 0.15])
        b = np.where(rng.random(200) < agree, a, rng.choice([A, B, TIE], size=200, p=[0.3, 0.5, 0.2]))
        got = _number(_call(fn, a.tolist(), b.tolist(), name="kappa"), "kappa(a, b)")
        want = cohen_kappa_score(a, b, labels=[A, B, TIE])
        if abs(got - want) > 1e-6:
            _expect(abs(got - np.mean(a == b)) > 1e-6, "that is the raw agreement p_o: kappa corrects it for the "
                                                      "agreement expected by chance, (p_o - p_e) / (1 - p_e)")
            raise Wrong(f"kappa = {got:.4f}, expected {want:.4f}: p_e = sum over labels of P_a(label) * P_b(label), "
                        f"each annotator's own label frequencies")
    same = _number(_call(fn, [A, B, TIE, A], [A, B, TIE, A], name="kappa"), "kappa of identical labels")
    _expect(abs(same - 1) < 1e-9, f"two identical label lists have kappa 1, got {same}")
    return "matches scikit-learn's cohen_kappa_score on three panels of different agreement"


@_exercise("01.4", "an annotator's probabilities, ties included")
def _annotator(fn) -> str:
    from .annotate import Annotator

    for tau in (0.4, 1.0):
        for band in (0.0, 0.25, 1.0):
            person = Annotator("x", {"factual": {"correct": 1.0}}, tau, band, np.random.default_rng(0))
            for du in (-2.0, -0.3, 0.0, 0.5, 3.0):
                out = _call(fn, du, tau, band, name="annotator_probs")
                _expect(isinstance(out, tuple | list) and len(out) == 3, "return three numbers: (p_a, p_b, p_tie)")
                p_a, p_b, p_tie = (_number(v, "a probability") for v in out)
                want_a, want_b = person.probs({"category": "factual"}, {"correct": du}, {"correct": 0.0})
                _expect(abs(p_a + p_b + p_tie - 1) < 1e-9, f"the three probabilities sum to {p_a + p_b + p_tie:.4f}")
                if abs(p_a - want_a) > 1e-6 or abs(p_b - want_b) > 1e-6:
                    _expect(not (band > 0 and p_tie < 1e-9), "no ties: with tie band b > 0, A wins with sigma(x - b), "
                                                             "B with sigma(-x - b), and the rest is a tie")
                    _expect(abs(p_a - want_b) > 1e-6, "A and B are swapped: delta_u = u(A) - u(B) > 0 favours A")
                    raise Wrong(f"for delta_u={du}, temperature={tau}, tie band={band}: expected p_a={want_a:.4f}, "
                                f"p_b={want_b:.4f}, got {p_a:.4f}, {p_b:.4f} (x = delta_u / temperature)")
    return "matches annotate.Annotator.probs over a grid of utility gaps, temperatures and tie bands"


# ===================================================================================== chapter 2
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
    from .pairs import PairSplit

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


# ===================================================================================== chapter 3
def margins_03(seed: int = 0) -> np.ndarray:
    """Exercise 03.1: margins r(chosen) - r(rejected) of a reward model on 300 test pairs."""
    rng = np.random.default_rng(seed)
    return np.round(rng.normal(0.8, 1.5, 300), 3)


@_exercise("03.1", "precision and recall at a threshold")
def _precision(answer) -> str:
    from .metrics import classification_metrics

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
    from .metrics import fit_temperature

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
    from .metrics import bootstrap_ci

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


# ===================================================================================== chapter 4
def kl_rewards_04() -> dict:
    """Exercise 04.1: a rollout of two responses (the second ends after 3 tokens; the rest of its row is padding).

    {"scores" (2,), "logprobs" (2, 5) log π_θ, "ref_logprobs" (2, 5) log π_ref, "mask" (2, 5), "beta"}
    """
    return {
        "scores": torch.tensor([1.5, -0.5]),
        "logprobs": torch.tensor([[-1.2, -0.4, -2.0, -0.1, -0.3], [-0.7, -1.5, -0.2, -2.5, -0.8]]),
        "ref_logprobs": torch.tensor([[-1.0, -0.9, -1.8, -0.1, -0.6], [-0.9, -1.1, -0.5, -2.0, -0.4]]),
        "mask": torch.tensor([[1.0, 1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 0.0, 0.0]]),
        "beta": 0.1,
    }


def _last_token(mask: torch.Tensor) -> torch.Tensor:
    """Index of each row's last response token (the mask is a prefix of 1s)."""
    return (mask.sum(1).long() - 1).clamp(min=0)


def _kl_rewards_variants(d: dict) -> dict[str, torch.Tensor]:
    """The right per-token rewards of `kl_rewards_04`, and those of common mistakes (for hints)."""
    s, lp, ref, m, beta = (d[k].double() if k != "beta" else d[k]
                           for k in ("scores", "logprobs", "ref_logprobs", "mask", "beta"))
    rows, last = torch.arange(len(s)), _last_token(m)

    def with_score(penalty, at=last):
        out = penalty.clone()
        out[rows, at] += s
        return out

    k1 = lp - ref
    return {
        "right": with_score(-beta * k1 * m),
        "sign": with_score(beta * k1 * m),
        "no beta": with_score(-k1 * m),
        "no score": -beta * k1 * m,
        "score at the row's end": with_score(-beta * k1 * m, at=torch.full_like(last, m.shape[1] - 1)),
        "score at the first token": with_score(-beta * k1 * m, at=torch.zeros_like(last)),
        "no mask": with_score(-beta * k1),
    }


@_exercise("04.1", "the KL-penalised reward of each token")
def _kl_rewards(answer) -> str:
    d = kl_rewards_04()
    try:
        got = torch.as_tensor(answer.detach() if isinstance(answer, torch.Tensor) else answer, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        raise Wrong(f"answer with a tensor (or nested list) of shape (2, 5), got {type(answer).__name__}") from None
    _expect(tuple(got.shape) == (2, 5), f"the rewards have shape {tuple(got.shape)}: one per token of the rollout, "
                                        f"(2, 5), zeros on the padding")
    variants = _kl_rewards_variants(d)
    want = variants["right"]
    if torch.allclose(got, want, atol=1e-6):
        return (f"rewards {(want.numpy().round(3) + 0.0).tolist()}: -β·(log π − log π_ref) on every response token, "
                f"the score on the last one")
    hints = {
        "sign": "the penalty has the wrong sign: r_t = −β·(log π_θ − log π_ref), so a token the policy likes MORE "
                "than the reference costs reward",
        "no beta": "the penalty is not scaled by β = 0.1",
        "no score": "the reward model's score is missing: it is added to the reward of each response's last token",
        "score at the row's end": "the second response ends after 3 tokens: its score belongs on its last response "
                                  "token (the last 1 of its mask), not on the last column",
        "score at the first token": "the score goes on the LAST response token (it judges the whole response)",
        "no mask": "the padding after the second response earns a reward: multiply the penalty by the mask",
    }
    for name, hint in hints.items():
        _expect(not torch.allclose(got, variants[name], atol=1e-6), hint)
    b, t = divmod(int((got - want).abs().flatten().argmax()), 5)
    raise Wrong(f"at response {b}, token {t} the reward is {got[b, t].item():.4f}, expected {want[b, t].item():.4f} "
                f"(= -β·(log π − log π_ref){', + the score' if t == _last_token(d['mask'])[b] else ''})")


def _prefix_masks(lengths: list[int], width: int) -> torch.Tensor:
    return (torch.arange(width)[None, :] < torch.tensor(lengths)[:, None]).float()


def _gae_reference(rewards, values, mask, gamma: float, lam: float, *, bootstrap_padding: bool = False,
                   discount: float | None = None) -> np.ndarray:
    """A_t = Σ_l (γλ)^l δ_{t+l} summed explicitly (no recursion), over each response's own tokens.

    `bootstrap_padding` and `discount` reproduce two mistakes, for hints.
    """
    r, v, m = (x.double().numpy() for x in (rewards, values, mask))
    discount = gamma * lam if discount is None else discount
    out = np.zeros_like(r)
    for b in range(r.shape[0]):
        n = int(m[b].sum())
        def next_v(t, b=b, n=n):
            if t + 1 < n or (bootstrap_padding and t + 1 < r.shape[1]):
                return v[b, t + 1]
            return 0.0
        delta = [r[b, t] + gamma * next_v(t) - v[b, t] for t in range(n)]
        for t in range(n):
            out[b, t] = sum(discount ** k * delta[t + k] for k in range(n - t))
    return out


@_exercise("04.2", "generalised advantage estimation")
def _gae(fn) -> str:
    g = torch.Generator().manual_seed(42)
    width = 7
    masks = _prefix_masks([7, 4, 1, 6, 2], width)
    for gamma, lam in ((1.0, 0.95), (0.9, 0.8), (1.0, 0.0), (1.0, 1.0), (0.99, 0.5)):
        rewards = torch.randn(5, width, generator=g) * 0.3
        values = torch.randn(5, width, generator=g)  # the padding holds junk too, as in a real rollout
        out = _call(fn, rewards.clone(), values.clone(), masks.clone(), gamma, lam,
                    name=f"gae(rewards, values, mask, gamma={gamma}, lam={lam})")
        if isinstance(out, tuple | list) and len(out) == 2:
            out = out[0]  # (advantages, returns), like ppo.gae
        got = _tensor(out, (5, width), f"gae(..., gamma={gamma}, lam={lam})").numpy()
        want = _gae_reference(rewards, values, masks, gamma, lam)
        where = f"with gamma={gamma}, lam={lam}"
        returns = want + values.double().numpy()
        _expect(not any(np.abs(got - x).max() < 1e-4 for x in (returns, returns * masks.numpy())),
                f"{where} that is the return A_t + V(s_t): return the advantages")
        _expect(np.abs(got * (1 - masks.numpy())).max() < 1e-6,
                f"{where} the advantages outside the mask are not 0: the padding after a response is no episode step")
        if np.abs(got - want).max() > 1e-4 * max(1.0, np.abs(want).max()):
            def like(x, got=got):
                return np.abs(got - x).max() < 1e-4 * max(1.0, np.abs(x).max())
            m = masks.numpy()
            leaky = (_gae_reference(rewards, values, masks, gamma, lam, bootstrap_padding=True),  # V(s_n) of the padding
                     _gae_reference(rewards, values, torch.ones_like(masks), gamma, lam) * m)  # the whole row
            _expect(not any(like(x) for x in leaky),
                    f"{where} the padding leaks into the advantages: the episode ends at the last response token, so "
                    f"V = 0 after it, and neither the rewards nor the values of the padding count")
            _expect(lam == 0 or not like(_gae_reference(rewards, values, masks, gamma, 0.0)),
                    f"{where} that is δ_t alone: A_t = Σ_l (γλ)^l δ_(t+l) adds the later δs, discounted by γλ per step")
            _expect(gamma == 1 or not like(_gae_reference(rewards, values, masks, gamma, lam, discount=lam)),
                    f"{where} the later δs must be discounted by γλ per step, not by λ alone")
            _expect(gamma == 1 or not like(_gae_reference(rewards, values, masks, 1.0, lam)),
                    f"{where} γ is missing from δ_t = r_t + γ V(s_(t+1)) − V(s_t)")
            b, t = divmod(int(np.abs(got - want).argmax()), width)
            raise Wrong(f"{where}, response {b} (length {int(m[b].sum())}), token {t}: A_t = {got[b, t]:.5f}, "
                        f"expected {want[b, t]:.5f}; δ_t = r_t + γ V(s_(t+1)) − V(s_t), with V = 0 after the last "
                        f"response token, and A_t = Σ_l (γλ)^l δ_(t+l)")
    return "matches Σ_l (γλ)^l δ_(t+l) for 5 settings of γ and λ, on responses of lengths 1 to 7 with junk in the padding"


def _clip_loss_reference(logprobs, old_logprobs, advantages, mask, eps) -> dict[str, float]:
    """The right loss and those of common mistakes (for hints), in float64."""
    lp, old, a, m = (x.double() for x in (logprobs, old_logprobs, advantages, mask))
    ratio = torch.exp(lp - old)
    unclipped, clipped = ratio * a, ratio.clamp(1 - eps, 1 + eps) * a

    def mean(x):
        return ((x * m).sum() / m.sum()).item()

    return {
        "right": -mean(torch.minimum(unclipped, clipped)),
        "objective": mean(torch.minimum(unclipped, clipped)),
        "clipped only": -mean(clipped),
        "max": -mean(torch.maximum(unclipped, clipped)),
        "unclipped": -mean(unclipped),
        "unmasked": -torch.minimum(unclipped, clipped).mean().item(),
        "per response": -((torch.minimum(unclipped, clipped) * m).sum(1) / m.sum(1)).mean().item(),
        "inverse ratio": -mean(torch.minimum(a / ratio, (1 / ratio).clamp(1 - eps, 1 + eps) * a)),
        "eps ignored": -mean(torch.minimum(unclipped, ratio.clamp(0.8, 1.2) * a)),
    }


@_exercise("04.3", "the clipped surrogate loss of PPO")
def _clip_loss(fn) -> str:
    g = torch.Generator().manual_seed(7)
    mask = _prefix_masks([6, 3, 5, 1], 6)
    for eps in (0.2, 0.1):
        old = -torch.rand(4, 6, generator=g) * 3
        logprobs = old + (torch.rand(4, 6, generator=g) - 0.5)  # ratios from 0.6 to 1.65: some inside, some clipped
        adv = torch.randn(4, 6, generator=g)
        name = f"ppo_clip_loss(logprobs, old_logprobs, advantages, mask, eps={eps})"
        got = _number(_call(fn, logprobs.clone(), old.clone(), adv.clone(), mask.clone(), eps, name=name), name)
        ref = _clip_loss_reference(logprobs, old, adv, mask, eps)
        if abs(got - ref["right"]) > 1e-5:
            hints = {
                "objective": "that is the objective to MAXIMISE: the loss is its negative",
                "clipped only": "that uses only the clipped term: take the minimum of ρ·A and clip(ρ, 1−ε, 1+ε)·A "
                                "(pessimistic: clipping may remove an incentive, never a penalty)",
                "max": "take the MINIMUM of ρ·A and clip(ρ)·A (the pessimistic bound), not the maximum",
                "unclipped": "nothing is clipped: clip ρ to [1 − ε, 1 + ε] in the second term",
                "unmasked": "the padding counts: average over the response tokens only (the mask)",
                "per response": "that averages each response, then the responses: average over all response tokens "
                                "of the batch at once",
                "inverse ratio": "the ratio is upside down: ρ = π_θ / π_old = exp(logprobs − old_logprobs)",
                "eps ignored": "that clips to [0.8, 1.2] whatever ε is asked for: clip to [1 − eps, 1 + eps]",
            }
            for key, hint in hints.items():
                _expect(abs(got - ref[key]) > 1e-5, f"with eps={eps}: {hint}")
            raise Wrong(f"with eps={eps} the loss is {got:.5f}, expected {ref['right']:.5f} = −(masked mean of "
                        f"min(ρ·A, clip(ρ, 1−ε, 1+ε)·A)), ρ = exp(logprobs − old_logprobs)")
    # the gradient: −A·ρ/n where the unclipped term is the minimum, exactly 0 where clipping took over
    logprobs = logprobs.clone().requires_grad_(True)
    loss = _call(fn, logprobs, old.clone(), adv.clone(), mask.clone(), 0.1, name="ppo_clip_loss")
    _expect(isinstance(loss, torch.Tensor) and loss.requires_grad,
            "the loss carries no gradient with respect to logprobs: build it with torch operations (no .item(), "
            "no NumPy) so that backward() reaches the policy")
    loss.backward()
    _expect(logprobs.grad is not None, "no gradient reached logprobs")
    ratio = torch.exp(logprobs.detach().double() - old.double())
    a = adv.double()
    active = (ratio * a <= ratio.clamp(0.9, 1.1) * a) & mask.bool()
    want = torch.where(active, -a * ratio / mask.sum(), torch.zeros_like(a))
    grad = logprobs.grad.double()
    clipped = mask.bool() & ~active
    _expect(grad[clipped].abs().max() < 1e-7,
            f"the gradient is not 0 at the {int(clipped.sum())} tokens where clipping took over (ρ > 1 + ε with A > 0, "
            f"or ρ < 1 − ε with A < 0): clamp ρ itself, so that the clipped term is constant there")
    _expect(grad[~mask.bool()].abs().max() < 1e-7, "the padding gets a gradient: it must not count")
    _expect(torch.allclose(grad, want, atol=1e-6),
            f"the gradient at the unclipped tokens is off by up to {(grad - want).abs().max().item():.2g}: "
            f"it should be −A·ρ / (number of response tokens)")
    return (f"the loss for ε = 0.2 and 0.1, and its gradient: 0 at the {int(clipped.sum())} of {int(mask.sum())} "
            f"tokens where clipping took over, −A·ρ/n elsewhere")


def _estimator_moments(p: np.ndarray, q: np.ndarray) -> dict[str, tuple[float, float]]:
    """Exact mean and std of k1, k2, k3 for one token y ~ p, with log r = log q(y) − log p(y)."""
    log_r = np.log(q) - np.log(p)
    out = {}
    for name, k in (("k1", -log_r), ("k2", 0.5 * log_r ** 2), ("k3", np.expm1(log_r) - log_r)):
        mean = float(np.sum(p * k))
        out[name] = (mean, float(np.sqrt(max(np.sum(p * (k - mean) ** 2), 0.0))))
    return out


def kl_pairs_04() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Exercise 04.4: pairs (p, q) of categorical distributions over tokens, p = π_θ and q = π_ref.

    "close": one next-token distribution at temperature 0.6 and at 0.7 (as in §3); "far": a policy that put
    most of its mass on tokens the reference finds unlikely; "three": three outcomes, to work out by hand.
    """
    rng = np.random.default_rng(4)
    logits = rng.normal(0, 2, 200)

    def softmax(z):
        e = np.exp(z - z.max())
        return e / e.sum()

    far_q = softmax(logits)
    far_p = softmax(-0.5 * logits)
    return {"three": (np.array([0.5, 0.3, 0.2]), np.array([0.2, 0.5, 0.3])),
            "close": (softmax(logits / 0.6), softmax(logits / 0.7)), "far": (far_p, far_q)}


@_exercise("04.4", "bias and spread of the three KL estimators")
def _kl_estimators(fn) -> str:
    pairs = kl_pairs_04()
    summary = {}
    for name, (p, q) in pairs.items():
        out = _call(fn, p.copy(), q.copy(), name=f"kl_estimator_stats(p, q) on the {name!r} pair")
        _expect(isinstance(out, dict) and {"kl", "k1", "k2", "k3"} <= set(out),
                'return a dict {"kl": KL(p‖q), "k1": (mean, std), "k2": (mean, std), "k3": (mean, std)}')
        kl = _number(out["kl"], f"kl on the {name!r} pair")
        want_kl = float(np.sum(p * np.log(p / q)))
        if abs(kl - want_kl) > 1e-6 * max(1.0, want_kl):
            _expect(abs(kl - np.sum(q * np.log(q / p))) > 1e-6, f"on the {name!r} pair that is KL(q‖p): the policy's "
                                                                f"KL to the reference is Σ p·log(p/q), p = π_θ")
            raise Wrong(f"on the {name!r} pair KL(p‖q) = {want_kl:.5f}, you got {kl:.5f}")
        want = _estimator_moments(p, q)
        for k in ("k1", "k2", "k3"):
            _expect(isinstance(out[k], tuple | list) and len(out[k]) == 2, f'out["{k}"] should be (mean, std)')
            mean, std = (_number(v, f"the {k} {w} on the {name!r} pair") for v, w in zip(out[k], ("mean", "std"),
                                                                                        strict=True))
            w_mean, w_std = want[k]
            where = f"on the {name!r} pair, {k}"
            if abs(mean - w_mean) > 1e-6 * max(1.0, abs(w_mean)):
                def estimate(log_r, k=k):
                    return {"k1": -log_r, "k2": 0.5 * log_r ** 2, "k3": np.expm1(log_r) - log_r}[k]
                upside_down = float(np.sum(p * estimate(np.log(p / q))))  # r = p / q
                by_q = [float(np.sum(q * estimate(x))) for x in (np.log(q / p), np.log(p / q))]
                _expect(abs(mean - w_mean) > 0.05 * max(abs(w_mean), 1e-3),
                        f"{where}: mean {mean:.5f} is close to but not exactly {w_mean:.5f}. Did you sample? Compute "
                        f"the expectation exactly: Σ_y p(y)·k(y)")
                _expect(abs(mean - upside_down) > 1e-6, f"{where}: the ratio is upside down: log r = log q(y) − "
                                                        f"log p(y) (reference over policy), k1 = −log r")
                _expect(all(abs(mean - x) > 1e-6 for x in by_q), f"{where}: the tokens are sampled from the policy p, "
                                                                 f"so weight by p, not q")
                raise Wrong(f"{where}: the mean is {w_mean:.5f}, you got {mean:.5f}; k1 = −log r, k2 = ½(log r)², "
                            f"k3 = (r − 1) − log r")
            if abs(std - w_std) > 1e-6 * max(1.0, w_std):
                _expect(abs(std - w_std ** 2) > 1e-6, f"{where}: that is the variance; give the standard deviation")
                raise Wrong(f"{where}: the standard deviation of one token's estimate is {w_std:.5f}, you got "
                            f"{std:.5f}: sqrt(Σ_y p(y)·(k(y) − mean)²)")
        summary[name] = want
    close, far = summary["close"], summary["far"]
    return (f"exact on all three pairs. k1 and k3 are unbiased, k2 is not (far pair: KL {far['k1'][0]:.2f}, mean k2 "
            f"{far['k2'][0]:.2f}). Close to the reference k3 spreads far less than k1 (std {close['k3'][1]:.3f} vs "
            f"{close['k1'][1]:.3f}); far from it, more ({far['k3'][1]:.1f} vs {far['k1'][1]:.1f})")
