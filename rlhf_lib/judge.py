"""Judging a tuned policy against its reference: the one evaluation every chapter uses (4, 5.1, 5.4, 6).

Read top to bottom:
  a seeded, STRATIFIED choice of prompts (every category in proportion; also the reward normaliser's sample)
  -> sample a model on them (`sample`: texts, finished flags, KL to the reference, gold utility, reward-model score)
  -> compare two samples of the same prompts (`versus`): gold win rate with a 95% bootstrap CI resampled BY PROMPT
     (the samples of one prompt are not independent), per category, and on the pairs where both answers finished
  -> what the tuned model does, as classification: refusal precision / recall (harmful vs harmless prompts) and
     answer accuracy on the checkable categories, each with its CI
  -> `budget_curve` / `truncate`: the share of answers that finish within each token budget, and the reference
     at a budget where it finishes (a control: is the win only "finish inside the budget"?)
  -> `controls`: the tuned policy against the reference at the training budget, at an ample budget, and against
     a brevity baseline (the reference asked to be brief), all on the same prompts and seeds
  -> `probes`: a few hand-written questions (chapter 0's), to read what a model says, not to measure it
  -> one-line reports (`ci_text`, `report`).
At the end, the pieces under `sample` and the scores around it: `sample_with_kl` / `sample_reference` (a policy's or
its reference's answers, with Σ_t log π − log π_ref), `win_rate`, `reward_normaliser` (PPO's reward scale, from the
reference's scores) and `episodes_per_second` (a training log's speed).

Win rates count ties as half a win, so 50% means "no better than the reference".
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from . import annotate, metrics, models, ppo, reward

GoldFn = Callable[[dict, str, bool], float]  # (prompt record, answer text, finished) -> gold utility
ScoreFn = Callable[[Sequence[str], Sequence[str]], Sequence[float]]  # (prompts, answers) -> reward-model scores
CHECKABLE = ("factual", "arithmetic", "conversion")  # categories whose answers have a right value


# ====================================================================================== which prompts
def stratified(records: Sequence[dict], n: int | None, seed: int = 0, key: str = "category") -> list[dict]:
    """`n` records, every category in proportion (largest remainder; each category at least one when n allows).

    Seeded, and returned in the order of `records`. A prefix of a file sorted by category (`data/prompts.jsonl`
    is) would hold one category only: a normaliser or a test set taken that way measures that category alone.
    """
    records = list(records)
    if n is None or n >= len(records):
        return records
    if n < 1:
        raise ValueError(f"stratified: n must be >= 1 (got {n})")
    groups: dict[str, list[int]] = {}
    for i, r in enumerate(records):
        groups.setdefault(r[key], []).append(i)
    cats = sorted(groups)
    exact = {c: n * len(groups[c]) / len(records) for c in cats}
    take = {c: int(exact[c]) for c in cats}
    if n >= len(cats):  # every category at least once
        take = {c: max(1, t) for c, t in take.items()}
    by_remainder = sorted(cats, key=lambda c: (-(exact[c] - int(exact[c])), c))
    while sum(take.values()) < n:
        for c in by_remainder:
            if sum(take.values()) < n and take[c] < len(groups[c]):
                take[c] += 1
    while sum(take.values()) > n:  # the "at least one" rule overshot: trim the largest
        c = max(cats, key=lambda c: (take[c], c))
        take[c] -= 1
    rng = np.random.default_rng(seed)
    chosen = sorted(int(i) for c in cats for i in rng.choice(groups[c], take[c], replace=False))
    return [records[i] for i in chosen]


def category_mix(records: Sequence[dict], key: str = "category") -> str:
    """'advice 3, arithmetic 9, ...': print it next to every evaluation, so a reader sees what was judged."""
    counts = Counter(r[key] for r in records)
    return ", ".join(f"{c} {counts[c]}" for c in sorted(counts))


# ========================================================================================= sampling
def sample(ac: ppo.ActorCritic, records: Sequence[dict], cfg: ppo.PPOConfig, tokenizer, n_samples: int = 1,
           seed: int = 100, reference: bool = False, gold: GoldFn = annotate.gold_utility,
           score: ScoreFn | None = None, instruction: str | None = None, max_new_tokens: int | None = None,
           batch_size: int = 16) -> dict:
    """`n_samples` answers per prompt from the policy (or, `reference=True`, the reference), judged.

    Returns lists over prompts × samples (prompt-major): records, texts, finished, kl (Σ_t log π − log π_ref,
    nats; 0 for the reference), gold and rm (the reward-model score, when `score` is given). The same `seed`
    gives every model the same random numbers. `instruction` is appended to each prompt the model sees (not to
    the one the gold judges: a brevity baseline is still judged on the question asked); `max_new_tokens`
    overrides the budget of `cfg`.
    """
    recs = [r for r in records for _ in range(n_samples)]
    shown = recs if instruction is None else [{**r, "prompt": f"{r['prompt']}\n\n{instruction}"} for r in recs]
    ids = models.chat_prompt_ids(tokenizer, shown)
    if max_new_tokens is not None:
        cfg = dataclasses.replace(cfg, max_new_tokens=max_new_tokens)
    if reference:
        resp, done, kls = sample_reference(ac, ids, cfg, tokenizer.eos_token_id, tokenizer.pad_token_id,
                                           seed=seed, batch_size=batch_size)
    else:
        resp, done, kls = sample_with_kl(ac, ids, cfg, tokenizer.eos_token_id, tokenizer.pad_token_id,
                                         seed=seed, batch_size=batch_size)
    texts = [tokenizer.decode(r, skip_special_tokens=True).strip() for r in resp]
    out = {"records": recs, "ids": resp, "texts": texts, "finished": list(done), "kl": list(kls),
           "gold": [gold(r, t, f) for r, t, f in zip(recs, texts, done, strict=True)]}
    out["rm"] = list(score([r["prompt"] for r in recs], texts)) if score is not None else None
    return out


def budget_curve(judged: dict, budgets: Sequence[int]) -> dict[int, float]:
    """Share of answers that finish within each token budget (from samples drawn at a larger budget)."""
    lengths = np.array([len(r) if f else np.inf for r, f in zip(judged["ids"], judged["finished"], strict=True)])
    return {int(b): float(np.mean(lengths <= b)) for b in budgets}


def truncate(judged: dict, budget: int, tokenizer, gold: GoldFn = annotate.gold_utility,
             score: ScoreFn | None = None) -> dict:
    """The same samples as if drawn at `budget` tokens: the sampler's random stream does not depend on the budget,
    so the first `budget` tokens of a longer sample are exactly what the seed gives at that budget."""
    ids = [r[:budget] for r in judged["ids"]]
    done = [bool(f and len(r) <= budget) for r, f in zip(judged["ids"], judged["finished"], strict=True)]
    texts = [tokenizer.decode(r, skip_special_tokens=True).strip() for r in ids]
    recs = judged["records"]
    out = {**judged, "ids": ids, "texts": texts, "finished": done,
           "gold": [gold(r, t, f) for r, t, f in zip(recs, texts, done, strict=True)]}
    out["rm"] = list(score([r["prompt"] for r in recs], texts)) if score is not None else None
    return out


# ====================================================================================== comparisons
def _ci(stat, arrays, groups, n_boot: int, seed: int) -> dict:
    return metrics.bootstrap_ci(stat, *arrays, n_boot=n_boot, seed=seed, groups=groups)


def _win(a, b) -> float:
    return win_rate(a, b) if len(a) else float("nan")


def versus(a: dict, b: dict, n_boot: int = 1000, seed: int = 0, key: str = "category",
           panel: Sequence[annotate.Annotator] | None = None) -> dict:
    """Gold win rate of sample `a` over sample `b` of the SAME prompts, with 95% CIs resampled by prompt.

    Returns {"win": {value, lo, hi}, "n", "prompts", "per_category": {group: {n, value, lo, hi}},
    "both_finished": {n, value, lo, hi}, "length_controlled": {value, lo, hi} (`length_controlled_win` on the
    difference in words), "a": summary(a), "b": summary(b)}, and with a `panel` of annotators "panel": the share
    of the panel's (non-tie) votes for `a`. The groups of "per_category" are the values of the record field `key`
    (another grouping, e.g. a task made of several categories, by its field).
    """
    if [r["id"] for r in a["records"]] != [r["id"] for r in b["records"]]:
        raise ValueError("versus: the two samples must answer the same prompts in the same order")
    ga, gb = np.asarray(a["gold"], float), np.asarray(b["gold"], float)
    pid = np.array([r["id"] for r in a["records"]])
    cats = np.array([r[key] for r in a["records"]])
    out = {"win": _ci(_win, (ga, gb), pid, n_boot, seed), "n": len(ga), "prompts": len(set(pid)),
           "a": summary(a), "b": summary(b), "per_category": {}}
    for c in sorted(set(cats)):
        k = cats == c
        out["per_category"][str(c)] = {"n": int(k.sum()), **_ci(_win, (ga[k], gb[k]), pid[k], n_boot, seed)}
    words = np.array([len(annotate.word_list(x)) - len(annotate.word_list(y))
                      for x, y in zip(a["texts"], b["texts"], strict=True)], float)
    out["length_controlled"] = _ci(lambda x, y, d: length_controlled_win(x, y, d, scale=max(1.0, words.std())),
                                   (ga, gb, words), pid, n_boot, seed)
    if panel is not None:  # what the panel would vote: P(a random annotator, not tying, prefers a), by pair
        votes = np.array([annotate.panel_p_first(panel, r, annotate.gold_components(r, x, fx),
                                                 annotate.gold_components(r, y, fy))
                          for r, x, fx, y, fy in zip(a["records"], a["texts"], a["finished"], b["texts"],
                                                     b["finished"], strict=True)])
        out["panel"] = _ci(np.mean, (votes,), pid, n_boot, seed)
    both = np.asarray(a["finished"], bool) & np.asarray(b["finished"], bool)
    out["both_finished"] = ({"n": int(both.sum()), **_ci(_win, (ga[both], gb[both]), pid[both], n_boot, seed)}
                            if both.any() else {"n": 0, "value": float("nan"), "lo": float("nan"),
                                                "hi": float("nan")})
    return out


def summary(judged: dict) -> dict[str, float]:
    """Mean gold, reward-model score, KL, share finished and length (words) of one sample."""
    return {"gold": float(np.mean(judged["gold"])),
            "rm": float(np.mean(judged["rm"])) if judged.get("rm") is not None else float("nan"),
            "kl": float(np.mean(judged["kl"])), "finished": float(np.mean(judged["finished"])),
            "words": float(np.mean([len(t.split()) for t in judged["texts"]]))}


# ======================================================================== the tuned model as a classifier
def refusals(judged: dict, n_boot: int = 1000, seed: int = 0) -> dict:
    """Refusal as a classifier of harmful requests: recall = refused harmful / harmful, precision = refused harmful
    / refused, and the rate of refusing harmless prompts (all of them; the look-alikes; the ordinary ones), each
    with a CI by prompt (nan where undefined)."""
    refused = np.array([annotate.refusal_score(t, r["prompt"]) == 1.0
                        for r, t in zip(judged["records"], judged["texts"], strict=True)], float)
    harmful = np.array([r["category"] == "harmful" for r in judged["records"]], float)
    lookalike = np.array([r["category"] == "lookalike" for r in judged["records"]], float)
    pid = np.array([r["id"] for r in judged["records"]])

    def share(ref, sel):
        return float((ref * sel).sum() / sel.sum()) if sel.sum() else float("nan")

    def stat(ref, harm, like):
        tp = float((ref * harm).sum())
        return {"recall": tp / harm.sum() if harm.sum() else float("nan"),
                "precision": tp / ref.sum() if ref.sum() else float("nan"),
                "harmless_refused": share(ref, 1 - harm),
                "lookalike_refused": share(ref, like),  # XSTest's over-refusal: harmless, but sounds harmful
                "ordinary_refused": share(ref, (1 - harm) * (1 - like))}

    out = _ci(stat, (refused, harmful, lookalike), pid, n_boot, seed)
    out["n_harmful"], out["n_harmless"] = int(harmful.sum()), int((1 - harmful).sum())
    return out


def paired_change(after: dict, before: dict, what: str = "recall", n_boot: int = 1000, seed: int = 0) -> dict:
    """after − before on the SAME prompts, with a 95% CI that resamples prompts for both at once (paired).

    `what`: "recall" (the share of answers to harmful prompts that refuse) or "accuracy" (the share of answers to
    checkable questions that are right). A CI above 0 says the change is more than which prompts were drawn.
    """
    if [r["id"] for r in after["records"]] != [r["id"] for r in before["records"]]:
        raise ValueError("paired_change: the two samples must answer the same prompts in the same order")
    if what == "recall":
        keep = [i for i, r in enumerate(after["records"]) if r["category"] == "harmful"]

        def hit(r, t):
            return annotate.refusal_score(t, r["prompt"]) == 1.0
    elif what == "accuracy":
        keep = [i for i, r in enumerate(after["records"]) if r["category"] in CHECKABLE]

        def hit(r, t):
            return annotate.correctness(r, t) == 1.0
    else:
        raise ValueError(f"paired_change: what={what!r}; use 'recall' or 'accuracy'")
    if not keep:
        return {"value": float("nan"), "lo": float("nan"), "hi": float("nan"), "n": 0}
    recs = [after["records"][i] for i in keep]
    a = np.array([hit(r, after["texts"][i]) for r, i in zip(recs, keep, strict=True)], float)
    b = np.array([hit(r, before["texts"][i]) for r, i in zip(recs, keep, strict=True)], float)
    pid = np.array([r["id"] for r in recs])
    return {"n": len(keep), **_ci(lambda x, y: float(x.mean() - y.mean()), (a, b), pid, n_boot, seed)}


def accuracy(judged: dict, categories: Sequence[str] = CHECKABLE, n_boot: int = 1000, seed: int = 0) -> dict:
    """Share of answers to checkable questions that give the right value and no wrong one, with a CI by prompt."""
    keep = [i for i, r in enumerate(judged["records"]) if r["category"] in categories]
    if not keep:
        return {"value": float("nan"), "lo": float("nan"), "hi": float("nan"), "n": 0}
    right = np.array([annotate.correctness(judged["records"][i], judged["texts"][i]) == 1.0 for i in keep], float)
    pid = np.array([judged["records"][i]["id"] for i in keep])
    return {"n": len(keep), **_ci(np.mean, (right,), pid, n_boot, seed)}


# ========================================================================== controls: what explains a win
BRIEF = "Answer briefly, in one or two sentences."  # the brevity baseline's instruction


def controls(ac: ppo.ActorCritic, records: Sequence[dict], cfg: ppo.PPOConfig, tokenizer, n_samples: int,
             long_budget: int, seed: int = 100, score: ScoreFn | None = None, min_finished: float = 0.9,
             instruction: str = BRIEF, batch_size: int = 16, n_boot: int = 1000,
             gold: GoldFn = annotate.gold_utility, panel: Sequence[annotate.Annotator] | None = None) -> dict:
    """The tuned policy (at its training budget) against three readings of "the reference", same prompts and seeds.

    - "reference": the reference at the training budget (what PPO optimised against);
    - "reference, ample budget": the reference at the smallest budget (in steps of 16 tokens, up to `long_budget`)
      at which `min_finished` of its answers end: a win here is not just "finish inside the budget";
    - "brevity baseline": the reference asked to be brief (`instruction`), at the training budget: what a prompt
      buys without any training.
    Both reference readings come from ONE sample at `long_budget` (`truncate`); `gold` judges every answer
    (an application passes its own), and a `panel` of annotators adds its votes to each comparison (`versus`). Returns {"samples", "versus",
    "curve" (finish rate per budget), "ample_budget", "ample_reached"}; each versus also holds the both-finished win
    rate. When no budget up to `long_budget` lets `min_finished` of the reference's answers end, the "ample" control
    is read at `long_budget` and "ample_reached" is False: a shortfall to report, not an ample budget.
    """
    kw = dict(n_samples=n_samples, seed=seed, score=score, batch_size=batch_size, gold=gold)
    policy = sample(ac, records, cfg, tokenizer, **kw)
    long = sample(ac, records, cfg, tokenizer, reference=True, max_new_tokens=long_budget, **kw)
    budgets = sorted({cfg.max_new_tokens, *range(cfg.max_new_tokens, long_budget, 16), long_budget})
    curve = budget_curve(long, budgets)
    reached = [b for b in budgets if curve[b] >= min_finished]
    ample = min(reached, default=long_budget)  # none reached: the longest budget, and "ample_reached" says so
    samples = {"PPO policy": policy,
               "reference": truncate(long, cfg.max_new_tokens, tokenizer, gold=gold, score=score),
               "reference, ample budget": truncate(long, ample, tokenizer, gold=gold, score=score),
               "brevity baseline": sample(ac, records, cfg, tokenizer, reference=True, instruction=instruction, **kw)}
    vs = {name: versus(policy, s, n_boot=n_boot, seed=seed, panel=panel) for name, s in samples.items()
          if name != "PPO policy"}
    return {"samples": samples, "versus": vs, "curve": curve, "ample_budget": ample, "long_budget": long_budget,
            "ample_reached": bool(reached), "min_finished": min_finished}


def probes(ac: ppo.ActorCritic, questions: dict[str, Sequence[str]], cfg: ppo.PPOConfig, tokenizer,
           n_samples: int = 4, seed: int = 100, reference: bool = False) -> list[dict]:
    """Answers to hand-written questions ({question: accepted answers}; none for a request to decline).

    One row per question: the share of answers containing an accepted answer (None without one), the share
    that refuse (`annotate.refusal_score` == 1) and one answer to read.
    """
    recs = [{"id": f"probe-{i}", "category": "probe", "prompt": q} for i, q in enumerate(questions)]
    out = sample(ac, recs, cfg, tokenizer, n_samples, seed, reference, gold=lambda r, t, f: float("nan"))
    rows = []
    for i, (q, accepted) in enumerate(questions.items()):
        texts = out["texts"][i * n_samples:(i + 1) * n_samples]
        right = [any(a in t.lower() for a in accepted) for t in texts] if accepted else None
        rows.append({"question": q, "correct": float(np.mean(right)) if right else None,
                     "refused": float(np.mean([annotate.refusal_score(t, q) == 1.0 for t in texts])),
                     "example": texts[0]})
    return rows


# ============================================================================================ reports
def ci_text(ci: dict, pct: bool = True, pct_bounds: bool = True) -> str:
    """A {value, lo, hi} interval as text: '66.5% [57.0%, 75.5%]', '66.5% [57.0, 75.5]' with pct_bounds=False (the
    tables' style), '0.665 [0.570, 0.755]' with pct=False; 'n/a' for a non-finite value. The one CI formatter of the
    library, the benchmarks and the notebooks, so every report prints an interval alike."""
    if not np.isfinite(ci["value"]):
        return "n/a"
    if not pct:
        return f"{ci['value']:.3f} [{ci['lo']:.3f}, {ci['hi']:.3f}]"
    lo, hi = (f"{ci[k]:.1%}" if pct_bounds else f"{ci[k]:.1%}"[:-1] for k in ("lo", "hi"))
    return f"{ci['value']:.1%} [{lo}, {hi}]"


def summary_line(name: str, judged: dict) -> str:
    """One line of `summary`: mean gold, reward-model score, KL, share finished, length."""
    m = summary(judged)
    return (f"{name:24s} gold {m['gold']:+.3f}  RM {m['rm']:+.3f}  KL {m['kl']:5.2f} nats  "
            f"finished {m['finished']:.0%}  length {m['words']:.0f} words")


def controls_report(ctl: dict, per_category: bool = False) -> str:
    """What `controls` found: the reference's finish rate per budget, the ample budget, one `report` line per
    control (with its per-category rates if asked), and a `summary_line` per sample."""
    curve, ample = ctl["curve"], ctl["ample_budget"]
    lines = ["share of the reference's answers that end within each budget: "
             + ", ".join(f"{b} tokens {f:.0%}" for b, f in curve.items()),
             f"ample budget: {ample} tokens ({curve[ample]:.0%} finish; sought up to {ctl['long_budget']})"
             if ctl.get("ample_reached", True) else
             f"NO ample budget: even at {ample} tokens only {curve[ample]:.0%} of the reference's answers finish "
             f"(wanted {ctl['min_finished']:.0%}); the 'ample budget' control below is read there", ""]
    for name, v in ctl["versus"].items():
        lines.append(report(f"PPO policy vs {name}", v))
        if per_category:
            lines.append("    per category: " + ", ".join(f"{g} {ci_text(c)} (n={c['n']})"
                                                         for g, c in v["per_category"].items()))
    lines.append("")
    lines += [summary_line(name, e) for name, e in ctl["samples"].items()]
    return "\n".join(lines)


def report(name: str, v: dict) -> str:
    """One line: the win rate of a comparison with its CI, its size, and whether the CI excludes 50%."""
    w = v["win"]
    verdict = "above 50%" if w["lo"] > 0.5 else "below 50%" if w["hi"] < 0.5 else "includes 50%: undecided"
    line = (f"{name}: win rate {ci_text(w)} ({v['n']} comparisons on {v['prompts']} prompts; CI {verdict}); "
            f"both finished: {ci_text(v['both_finished'])} on {v['both_finished']['n']}")
    if "length_controlled" in v:
        line += f"; length-controlled: {ci_text(v['length_controlled'])}"
    if "panel" in v:
        line += f"; the panel's votes: {ci_text(v['panel'])}"
    return line


# ============================================== sampling a policy and its reference; scores (from ppo.py)
def gold_reward_fn(tokenizer, mean: float = 0.0, std: float = 1.0, gold: GoldFn = annotate.gold_utility):
    """A `ppo.ResponseScoreFn` that pays the hidden gold utility itself (normalised), not a reward model's guess.

    A control, never the course's method: PPO trained on it shows how far the same algorithm, budget and prompts get
    with a perfect judge, so the gap to the reward-model run is what the reward model costs.
    """
    eos = tokenizer.eos_token_id

    def fn(meta: list[dict], responses: list[list[int]]) -> list[float]:
        texts = [tokenizer.decode(r, skip_special_tokens=True).strip() for r in responses]
        done = [bool(r) and r[-1] == eos for r in responses]  # a response ends with EOS when the model ended it
        return [(gold(m, t, f) - mean) / std for m, t, f in zip(meta, texts, done, strict=True)]

    return fn


def length_controlled_win(a: Sequence[float], b: Sequence[float], length_diff: Sequence[float],
                          scale: float | None = None) -> float:
    """The win rate of `a` over `b` had both answers been equally long (AlpacaEval 2's length control).

    Fits P(a wins) = σ(w₀ + w₁·Δ) to the outcomes (1 a win, ½ a tie, 0 a loss) by logistic regression on the
    length difference Δ = len(a) − len(b) (in units of `scale`, default its standard deviation), and returns
    σ(w₀): the predicted win at Δ = 0. A policy that wins only by being longer (or shorter, where the budget cuts
    long answers) loses that part of its win here.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    d = np.asarray(length_diff, dtype=float)
    if not (a.shape == b.shape == d.shape) or a.size == 0:
        raise ValueError(f"length_controlled_win needs equal, non-empty arrays (got {a.shape}, {b.shape}, {d.shape})")
    y = np.where(np.abs(a - b) <= 1e-9, 0.5, (a > b).astype(float))
    scale = scale or (float(d.std()) or 1.0)
    x = np.stack([np.ones_like(d), d / scale], 1)  # (n, 2)
    w = np.zeros(2)
    for _ in range(50):  # Newton's method on the (convex) logistic loss, a little ridge on the slope
        p = 1 / (1 + np.exp(-x @ w))
        grad = x.T @ (p - y) + np.array([0.0, 1e-3 * w[1]])
        hess = (x * (p * (1 - p))[:, None]).T @ x + np.diag([1e-6, 1e-3])
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return float(1 / (1 + np.exp(-w[0])))


def win_rate(a: Sequence[float], b: Sequence[float], tie: float = 1e-9) -> float:
    """Share of prompts where `a` beats `b`, ties counted as half a win each."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.size == 0:
        raise ValueError(f"win_rate needs two equal, non-empty score lists (got {a.shape} and {b.shape})")
    return float(np.mean(np.where(np.abs(a - b) <= tie, 0.5, (a > b).astype(float))))


@torch.no_grad()
def sample_with_kl(ac: ppo.ActorCritic, prompts: list[Sequence[int]], cfg: ppo.PPOConfig, eos_id: int, pad_id: int,
                   seed: int = 12345, reference: bool = False, batch_size: int = 32, progress: bool = False):
    """Sample one response per prompt from π (or from π_ref) and measure Σ_t log π − log π_ref of each.

    Returns (response ids, finished flags, KL per response). For the reference's own samples the KL is ~0 only
    in expectation, so it is reported for the policy's samples.
    """
    device = next(ac.parameters()).device
    out_ids, out_done, out_kl = [], [], []
    for b, start in enumerate(tqdm(range(0, len(prompts), batch_size), desc="sampling", disable=not progress)):
        p_ids, p_mask = (t.to(device) for t in models.pad_batch(prompts[start:start + batch_size], pad_id, side="left"))
        responses, trunk = ppo.sample_and_trunk(ac, p_ids, p_mask, cfg, eos_id, pad_id, seed + b, reference)
        r_mask, finished = ppo.response_mask(responses.cpu(), eos_id)
        ids, mask = torch.cat([p_ids, responses], 1), torch.cat([p_mask, r_mask.to(device)], 1)
        n = p_ids.shape[1]
        with models.autocast(device, cfg.autocast):
            trunk = trunk if trunk is not None else ppo.trunk_states(ac, ids, mask)
            logprobs = ppo.evaluate_actions(ac, ids, mask, n, cfg.temperature, trunk=trunk)[0]
            ref = ppo.reference_logprobs(ac, ids, mask, n, cfg.temperature, trunk=trunk)
        out_kl += ((logprobs - ref) * r_mask.to(device)).sum(1).tolist()
        out_ids += ppo.trim(responses, r_mask)
        out_done += finished.tolist()
    return out_ids, out_done, out_kl


@torch.no_grad()
def sample_reference(ac: ppo.ActorCritic, prompts: Sequence[Sequence[int]], cfg: ppo.PPOConfig, eos_id: int,
                     pad_id: int, seed: int = 12345, batch_size: int = 32):
    """The answers `sample_with_kl(..., reference=True)` draws (same seeds), without its two scoring passes.

    The reference's KL to itself is 0, so (ids, finished, zeros) comes back at the cost of sampling alone.
    """
    device = next(ac.parameters()).device
    out_ids, out_done = [], []
    for b, start in enumerate(range(0, len(prompts), batch_size)):
        p_ids, p_mask = (t.to(device) for t in models.pad_batch(prompts[start:start + batch_size], pad_id, side="left"))
        responses = ppo.sample_responses(ac, p_ids, p_mask, cfg, eos_id, pad_id, seed + b, reference=True).cpu()
        r_mask, finished = ppo.response_mask(responses, eos_id)
        out_ids += ppo.trim(responses, r_mask)
        out_done += finished.tolist()
    return out_ids, out_done, [0.0] * len(out_ids)


def episodes_per_second(history: Sequence[dict]) -> float:
    """Training speed from the log: episodes over the seconds the steps took when they ran (a resumed, finished
    run reports the speed of its original steps, not episodes / checkpoint-load time); nan without timings."""
    episodes, seconds, before = 0, 0.0, 0
    for h in history:  # "episodes" is cumulative; a step's own episodes are the difference
        if "seconds" in h:
            episodes, seconds = episodes + h["episodes"] - before, seconds + h["seconds"]
        before = h["episodes"]
    return float(episodes / seconds) if seconds > 0 else float("nan")


def reward_normaliser(scores: Sequence[float]) -> tuple[float, float]:
    """Mean and std of reward-model scores on reference samples: the policy is trained on (s − mean) / std."""
    scores = np.asarray(scores, dtype=float)
    if scores.size < 2 or not np.isfinite(scores).all():
        raise ValueError(f"need at least two finite scores to normalise rewards (got {scores.size})")
    return float(scores.mean()), float(scores.std() + 1e-8)


def normalised_text_reward(rm, rm_tokenizer, tokenizer, prompts: Sequence[str], texts: Sequence[str],
                           max_length: int) -> tuple[Callable, Callable, tuple[float, float]]:
    """PPO's reward set-up for a text policy, once for every caller (`train_ppo.prepare`, `iterate`): the reward
    model's scorer at `max_length`, the normaliser (`reward_normaliser`) of its scores of the reference answers `texts`
    to `prompts`, and the normalised `reward.text_reward_fn`. Returns (reward_fn, score(prompts, texts), (mean, std))."""
    def score(prompts_, texts_):
        return reward.score(rm, rm_tokenizer, prompts_, texts_, max_length=max_length)

    mean, std = reward_normaliser(score(prompts, texts))
    return reward.text_reward_fn(rm, rm_tokenizer, tokenizer, mean, std, max_length=max_length), score, (mean, std)


# ============================================================ what a reward model on this base model could know
def base_model_knows(lm, tokenizer, records: Sequence[dict], device: torch.device | str = "cpu") -> dict[str, bool]:
    """Whether the base model's greedy answer to each checkable prompt (`CHECKABLE`) is right, by the gold's own
    correctness check: the facts and sums a reward model built on this base model could know."""
    checkable = [p for p in records if p["category"] in CHECKABLE]
    answers = models.generate(lm, tokenizer, [p["prompt"] for p in checkable], max_new_tokens=48, greedy=True,
                              bf16=models.bf16_is_fast(device), progress=False)
    return {p["id"]: annotate.correctness(p, g.text) == 1.0 for p, (g,) in zip(checkable, answers, strict=True)}


def knowable_ceiling(rows, split, device: torch.device | str = "cpu", n_boot: int = 1000, seed: int = 0,
                     lm=None, tokenizer=None) -> dict:
    """Three judges of the preference pairs `rows` (a dataset split in the order of the PairSplit `split`):

    the full gold; a gold blind to correctness (perfect on everything else); and one that knows correctness exactly
    where the base model answers right (`base_model_knows`), blind elsewhere: the knowable ceiling of a reward model
    on this base model. Each: gold agreement (pairs with a gold tie left out, a judge's own tie counts half) and
    accuracy on the annotators' labels, with 95% CIs by prompt, and gold agreement by prompt category; plus how many
    checkable prompts the base model knows.
    """
    from . import data

    records = {p["id"]: p for p in data.load_prompts()}
    flags = data.finished_flags()
    rows = [rows[int(i)] for i in split.rows] if split.rows is not None else list(rows)

    def margins(without=()):
        def u(row, text):
            return annotate.gold_utility(records[row["prompt_id"]], text, flags.get((row["prompt_id"], text.strip())),
                                         without)
        return np.array([u(row, row["chosen"]) - u(row, row["rejected"]) for row in rows])

    if lm is None:
        lm, tokenizer = models.load_model(device=device)
    knows = base_model_knows(lm, tokenizer, list({records[r["prompt_id"]]["id"]: records[r["prompt_id"]]
                                                  for r in rows}.values()), device)
    full, blind = margins(), margins(without=("correct",))
    known = np.array([knows.get(row["prompt_id"], True) for row in rows])  # no right answer to know: True
    keep, groups = full != 0, split.group.numpy()

    categories = [records[row["prompt_id"]]["category"] for row in rows]

    def judged(m):
        sides = np.where(m[keep] == 0, 0.5, np.sign(m[keep]) == np.sign(full[keep]))
        return {"gold_agreement": metrics.bootstrap_ci(np.mean, sides, n_boot=n_boot, seed=seed, groups=groups[keep]),
                "test_accuracy": reward.figures_with_ci(split, m, n_boot, seed)["accuracy"],
                "gold_agreement_by_category": reward.gold_agreement_by(m, full, categories)}

    out = {"blind_to_correctness": judged(blind), "knows_what_base_knows": judged(np.where(known, full, blind)),
           "full_gold": judged(full)}
    cats = Counter(records[pid]["category"] for pid in knows)
    right = Counter(records[pid]["category"] for pid, k in knows.items() if k)
    out["base_model_right"] = {c: f"{right[c]}/{n}" for c, n in sorted(cats.items())}
    return out
