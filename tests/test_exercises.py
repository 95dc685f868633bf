"""Every exercise check rejects wrong answers, and says why.

The solutions notebooks (run by nbval in CI) prove each check accepts a right answer; here each check meets
at least one plausible mistake and must reject it with a message that points at the mistake.
"""

import json
import math
import re
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rlhf_lib import config, exercises, metrics, models

ROOT = Path(__file__).resolve().parent.parent
VAL = config.DATA_DIR / "preferences" / "val.jsonl"


def naive_softmax(logits, t):
    e = torch.exp(logits / t)  # overflows for logits of 1000
    return e / e.sum()


def keeps_one_too_few(probs, p):
    s, order = torch.sort(probs, descending=True)
    keep = max(1, int((torch.cumsum(s, 0) < p).sum()))
    out = torch.zeros_like(probs)
    out[order[:keep]] = s[:keep]
    return out / out.sum()


def mean_logprob(model, tokenizer, question, answer):
    prompt = tokenizer(models.chat_prompt(tokenizer, question), add_special_tokens=False)["input_ids"]
    tokens = tokenizer(answer, add_special_tokens=False)["input_ids"]
    ids = torch.tensor([prompt + tokens])
    with torch.no_grad():
        logp = model(ids).logits[0].log_softmax(-1)
    return logp[len(prompt) - 1:-1].gather(-1, ids[0, len(prompt):, None]).mean().item()


def unshifted_logprob(model, tokenizer, question, answer):
    prompt = tokenizer(models.chat_prompt(tokenizer, question), add_special_tokens=False)["input_ids"]
    tokens = tokenizer(answer, add_special_tokens=False)["input_ids"]
    ids = torch.tensor([prompt + tokens])
    with torch.no_grad():
        logp = model(ids).logits[0].log_softmax(-1)
    return logp[len(prompt):].gather(-1, ids[0, len(prompt):, None]).sum().item()


def neighbours_only(prompt, responses, ranking):
    return [{"prompt": prompt, "chosen": responses[a], "rejected": responses[b]} for a, b in pairwise(ranking)]


def swapped_rows(prompt, responses, ranking):
    k = len(ranking)
    return [{"prompt": prompt, "chosen": responses[ranking[j]], "rejected": responses[ranking[i]]}
            for i in range(k) for j in range(i + 1, k)]


def raw_agreement(a, b):
    return float(np.mean(np.asarray(a) == np.asarray(b)))


def no_ties(delta_u, temperature, tie_band):
    p_a = 1 / (1 + math.exp(-delta_u / temperature))
    return p_a, 1 - p_a, 0.0


def naive_bt(r_c, r_r):
    return -torch.log(torch.sigmoid(r_c - r_r)).mean()


def pairwise_bt_sum(rewards, ranking):
    r = rewards[list(ranking)]
    return sum(-F.logsigmoid(r[i] - r[j]) for i in range(len(r)) for j in range(i + 1, len(r)))


def unweighted_ece(p, y, n_bins=10):
    bins = np.minimum((p * n_bins).astype(int), n_bins - 1)
    return float(np.mean([abs(y[bins == b].mean() - p[bins == b].mean()) for b in range(n_bins) if (bins == b).any()]))


def pair_bootstrap(correct, groups, n_boot=2000, seed=0):
    rng = np.random.default_rng(seed)
    stats = [correct[rng.integers(0, len(correct), len(correct))].mean() for _ in range(n_boot)]
    return tuple(np.percentile(stats, [2.5, 97.5]))


def unmasked_gae(rewards, values, mask, gamma, lam):
    """The textbook recursion over the whole row: bootstraps from the padding after the response."""
    adv, last = torch.zeros_like(rewards), torch.zeros(len(rewards))
    for t in reversed(range(rewards.shape[1])):
        next_value = values[:, t + 1] if t + 1 < rewards.shape[1] else torch.zeros(len(rewards))
        last = rewards[:, t] + gamma * next_value - values[:, t] + gamma * lam * last
        adv[:, t] = last
    return adv * mask


def td_errors_only(rewards, values, mask, gamma, lam):
    next_values = torch.cat([values[:, 1:] * mask[:, 1:], torch.zeros(len(values), 1)], 1)
    return (rewards + gamma * next_values - values) * mask


def clipped_term_only(logprobs, old_logprobs, advantages, mask, eps):
    ratio = torch.exp(logprobs - old_logprobs)
    return -(ratio.clamp(1 - eps, 1 + eps) * advantages * mask).sum() / mask.sum()


def surrogate_objective(logprobs, old_logprobs, advantages, mask, eps):
    ratio = torch.exp(logprobs - old_logprobs)
    return (torch.minimum(ratio * advantages, ratio.clamp(1 - eps, 1 + eps) * advantages) * mask).sum() / mask.sum()


def straight_through_clip(logprobs, old_logprobs, advantages, mask, eps):
    """The right value, but the clipped ratio lets the gradient through as if it were not clipped."""
    ratio = torch.exp(logprobs - old_logprobs)
    clipped = ratio + (ratio.clamp(1 - eps, 1 + eps) - ratio).detach()
    return -(torch.minimum(ratio * advantages, clipped * advantages) * mask).sum() / mask.sum()


def estimator_stats(p, q, weights=None, power=0.5):
    """kl_estimator_stats with a mistake: weights q instead of p, or power 1 (the variance, not the std)."""
    w = p if weights is None else weights
    log_r = np.log(q) - np.log(p)
    out = {"kl": float(np.sum(p * np.log(p / q)))}
    for name, k in {"k1": -log_r, "k2": 0.5 * log_r ** 2, "k3": np.expm1(log_r) - log_r}.items():
        mean = np.sum(w * k)
        out[name] = (float(mean), float(np.sum(w * (k - mean) ** 2) ** power))
    return out


def sampled_estimator_stats(p, q):
    y = np.random.default_rng(0).choice(len(p), size=20_000, p=p)
    log_r = np.log(q[y]) - np.log(p[y])
    ks = {"k1": -log_r, "k2": 0.5 * log_r ** 2, "k3": np.expm1(log_r) - log_r}
    return {"kl": float(np.sum(p * np.log(p / q))), **{n: (float(k.mean()), float(k.std())) for n, k in ks.items()}}


def kl_rewards_04(sign=-1.0, score_at_last_column=False):
    d = exercises.kl_rewards_04()
    rewards = sign * d["beta"] * (d["logprobs"] - d["ref_logprobs"]) * d["mask"]
    last = torch.full((2,), 4) if score_at_last_column else d["mask"].sum(1).long() - 1
    rewards[torch.arange(2), last] += d["scores"]
    return rewards


def both_finished_05(keep="both", kept="edge"):
    d = exercises.judged_05()
    fa, fb = d["finished_a"], d["finished_b"]
    k = fa & fb if keep == "both" else fa | fb
    w_all, w_both = metrics_win(d["gold_a"], d["gold_b"]), metrics_win(d["gold_a"][k], d["gold_b"][k])
    return {"all": w_all, "both_finished": w_both,
            "kept": (w_both - 0.5) / (w_all - 0.5) if kept == "edge" else w_both / w_all}


def metrics_win(a, b):
    return float(np.mean(np.where(a == b, 0.5, (a > b).astype(float))))


def divergence(rm, gold, k, use_rm=True, last=False, window=None):
    k = k if window is None else window
    hits = [t for t in range(len(gold) - k) if gold[t + k] < gold[t] and (not use_rm or rm[t + k] > rm[t])]
    return (hits[-1] if last else hits[0]) if hits else None


def dpo(lc, lr, rc, rr, beta, ref=True, scale=True, naive=False):
    margin = (lc - lr) - ((rc - rr) if ref else 0)
    margin = beta * margin if scale else margin
    return -(torch.log(torch.sigmoid(margin)) if naive else F.logsigmoid(margin)).mean()


def bon_kl(p, n, kind="formula"):
    cdf = np.cumsum(p)
    q = cdf ** n - (cdf - p) ** n if kind != "density" else n * cdf ** (n - 1) * p
    if kind == "formula":
        return math.log(n) - (n - 1) / n
    return float(np.sum(p * np.log(p / q))) if kind == "reversed" else float(np.sum(q * np.log(q / p)))


def grpo_weights(rewards, lengths, max_len, eps=1e-4, per_token=True, std=True, masked=True):
    rewards, lengths = np.asarray(rewards, float), np.asarray(lengths)
    adv = rewards - rewards.mean()
    if std:
        adv = adv / (rewards.std() + eps)
    w = adv / (len(rewards) * (lengths if per_token else max_len))
    mask = np.arange(max_len)[None, :] < lengths[:, None] if masked else np.ones((len(rewards), max_len), bool)
    return w[:, None] * mask


d03 = exercises.margins_03()
WRONG = [  # (exercise, a wrong answer, what the message must point at)
    ("00.1", lambda: config.load("ci", model__probe_samples=8), "this is the 'ci' profile"),
    ("00.1", lambda: config.load("cpu"), "model.probe_samples is 16, not 8"),
    ("00.2", lambda: lambda logits, t: torch.softmax(logits * t, -1), "multiplied the logits by T"),
    ("00.2", lambda: naive_softmax, "subtract the largest logit"),
    ("00.3", lambda: keeps_one_too_few, "include the token whose probability takes the total past p"),
    ("00.3", lambda: lambda probs, p: probs * (probs >= probs.max()), "renormalise"),
    ("00.4", lambda: mean_logprob, "MEAN log-probability"),
    ("00.4", lambda: unshifted_logprob, "off by one position"),
    ("01.1", lambda: 0.5, "not the validation ceiling"),
    ("01.1", lambda: float(np.mean([json.loads(line)["p_chosen"] for line in open(VAL)])), "mean of p_chosen"),
    ("01.2", lambda: neighbours_only, "not only the 3 neighbours"),
    ("01.2", lambda: swapped_rows, "swapped"),
    ("01.3", lambda: raw_agreement, "raw agreement"),
    ("01.4", lambda: no_ties, "no ties"),
    ("02.1", lambda: 0.9, "0.9 is the probability"),
    ("02.1", lambda: math.log10(9), "natural logarithm"),
    ("02.2", lambda: naive_bt, "logsigmoid"),
    ("02.2", lambda: lambda r_c, r_r: -F.logsigmoid(r_c - r_r).sum(), "take the mean"),
    ("02.3", lambda: pairwise_bt_sum, "sum of the Bradley-Terry losses"),
    ("02.4", lambda: torch.nn.Linear(8, 1), r"returned shape \(800, 1\)"),
    ("02.4", lambda: torch.nn.Sequential(torch.nn.Linear(8, 1), torch.nn.Flatten(0)), r"reach 80%"),
    ("03.1", lambda: {"precision": 1.0, "recall": float(np.mean(d03 > 1))}, "both orders"),
    ("03.1", lambda: {"precision": float(np.mean(d03 > 0)), "recall": float(np.mean(d03 > 1))}, "recall is right"),
    ("03.2", lambda: unweighted_ece, "weighted by its share"),
    ("03.2", lambda: lambda p, y, n_bins=10: float(np.mean(np.abs(p - y))), "MEAN prediction"),
    ("03.3", lambda: 1 / 3.05, "sigma\\(d / T\\) needs T > 1"),
    ("03.3", lambda: metrics.fit_temperature(exercises.overconfident_margins()["test"]), "fitted on the test margins"),
    ("03.4", lambda: pair_bootstrap, "resampling PAIRS"),
    ("03.4", lambda: lambda correct, groups: (0.0, 0.1), "misses the accuracy"),
    ("04.1", lambda: kl_rewards_04(sign=1.0), "wrong sign"),
    ("04.1", lambda: kl_rewards_04(score_at_last_column=True), "not on the last column"),
    ("04.1", lambda: kl_rewards_04().tolist()[0], r"shape \(5,\)"),
    ("04.2", lambda: unmasked_gae, "the padding leaks into the advantages"),
    ("04.2", lambda: td_errors_only, "δ_t alone"),
    ("04.3", lambda: clipped_term_only, "take the minimum"),
    ("04.3", lambda: surrogate_objective, "objective to MAXIMISE"),
    ("04.3", lambda: straight_through_clip, "gradient is not 0"),
    ("04.4", lambda: lambda p, q: estimator_stats(p, q, power=1.0), "that is the variance"),
    ("04.4", lambda: lambda p, q: estimator_stats(p, q, weights=q), "weight by p, not q"),
    ("04.4", lambda: sampled_estimator_stats, "Did you sample"),
    ("05.1", lambda: lambda a, b: float(np.mean(a > b)), "counts ties as losses"),
    ("05.1", lambda: lambda a, b: float(np.mean(a[a != b] > b[a != b])) if (a != b).any() else 0.5, "leaves the ties out"),
    ("05.1", lambda: lambda a, b: 100 * metrics_win(a, b), "not a percentage"),
    ("05.2", lambda: both_finished_05(keep="either"), "EITHER"),
    ("05.2", lambda: both_finished_05(kept="ratio"), "ratio of the two win rates"),
    ("05.2", lambda: {**both_finished_05(), "all": float(np.mean(exercises.judged_05()["gold_a"]
                                                                  > exercises.judged_05()["gold_b"]))},
     "counts ties as losses"),
    ("05.3", lambda: lambda plan: float(sum(plan)), "more running is not better"),
    ("05.3", lambda: lambda plan: -float(sum(plan)), "doing nothing must not win"),
    ("05.3", lambda: lambda plan: -abs(sum(plan) - 25.0), "never rests"),
    ("05.4", lambda: lambda rm, gold, k: divergence(rm, gold, k, window=1), r"k = 1"),
    ("05.4", lambda: lambda rm, gold, k: divergence(rm, gold, k, use_rm=False), "the reward model fell too"),
    ("05.4", lambda: lambda rm, gold, k: divergence(rm, gold, k, last=True), "LAST"),
    ("06.1", lambda: lambda lc, lr, rc, rr, beta: dpo(lc, lr, rc, rr, beta, ref=False), "reference model's log-probs"),
    ("06.1", lambda: lambda lc, lr, rc, rr, beta: dpo(lc, lr, rc, rr, beta, scale=False), "not scaled by β"),
    ("06.1", lambda: lambda lc, lr, rc, rr, beta: dpo(lc, lr, rc, rr, beta, naive=True), "F.logsigmoid"),
    ("06.1", lambda: lambda lc, lr, rc, rr, beta: dpo(lc, lr, rc, rr, beta) * len(lc), "take the mean"),
    ("06.1", lambda: lambda lc, lr, rc, rr, beta: dpo(lc, lr, rc, rr, beta).item(), "no gradient"),
    ("06.2", lambda: lambda p, n: bon_kl(p, n), "exact only when samples never repeat"),
    ("06.2", lambda: lambda p, n: bon_kl(p, n, "reversed"), "KL\\(π_ref‖π_BoN\\)"),
    ("06.2", lambda: lambda p, n: bon_kl(p, n, "density"), "continuous formula"),
    ("06.3", lambda: lambda r: r - r.mean(1, keepdims=True), "includes the answer's own reward"),
    ("06.3", lambda: lambda r: r - (r.sum(1, keepdims=True) - r) / r.shape[1], "divided by G"),
    ("06.3", lambda: lambda r: r - (r.sum() - r) / (r.size - 1), "whole batch"),
    ("06.4", lambda: lambda r, n, m: grpo_weights(r, n, m, per_token=False), "Dr. GRPO"),
    ("06.4", lambda: lambda r, n, m: grpo_weights(r, n, m, eps=0.0), "add a small ε"),
    ("06.4", lambda: lambda r, n, m: grpo_weights(r, n, m, std=False), "not divided by the group's std"),
    ("06.4", lambda: lambda r, n, m: grpo_weights(r, n, m, masked=False), "padding"),
]


@pytest.mark.parametrize(("key", "make", "why"), [pytest.param(*w, id=f"{w[0]}-{i}") for i, w in enumerate(WRONG)])
def test_a_wrong_answer_is_rejected_with_the_reason(key, make, why):
    torch.manual_seed(0)
    ok, message = exercises.verdict(key, make())
    assert not ok, f"exercise {key} accepted a wrong answer"
    assert re.search(why, message), message


def test_every_exercise_meets_a_wrong_answer_and_appears_in_its_chapter_and_solutions():
    assert {w[0] for w in WRONG} == set(exercises.EXERCISES)
    for key in exercises.EXERCISES:
        # a chapter may span several notebooks (5.1 ... 5.5): its exercises are the last section of one of them
        chapter = next(text for f in sorted((ROOT / "notebooks" / "src").glob(f"{key[:2]}_*.py"))
                       if "## Exercises" in (text := f.read_text()))
        section = chapter[chapter.rindex("## Exercises"):]  # the exercises are the chapter's last section
        assert f'exercises.check("{key}"' in section, f"chapter {key[:2]} does not show the check of {key}"
        solutions = (ROOT / "notebooks" / "src" / "solutions" / f"{key[:2]}_solutions.py").read_text()
        assert f'assert exercises.check("{key}"' in solutions, f"no solution runs the check of {key}"


def test_check_prints_the_verdict_and_handles_no_answer_and_failing_code(capsys):
    assert exercises.check("02.1", ...) is False
    out = capsys.readouterr().out
    assert "❌ exercise 02.1" in out and "no answer yet" in out
    assert exercises.check("02.1", math.log(9)) is True
    assert "✅ exercise 02.1" in capsys.readouterr().out

    def broken(r_c, r_r):
        raise RuntimeError("shape mismatch on line 3")

    ok, message = exercises.verdict("02.2", broken)
    assert not ok and "raised RuntimeError: shape mismatch on line 3" in message
    ok, message = exercises.verdict("02.2", "not a function")
    assert not ok and "should be a function" in message
    with pytest.raises(KeyError, match="no exercise '9.9'"):
        exercises.check("9.9", 1)
