"""Chapter 5's exercises: a win rate with ties, the both-finished control, a gold utility, a reward-hacking detector.

`judged_05`, `plan_pairs_05` and `runs_05` give exercises 05.2, 05.3 and 05.4 their data (closed-form toy numbers,
no model): what a chapter-5 evaluation or training log looks like, small enough to read.
"""

from __future__ import annotations

import numpy as np

from .registry import Wrong, _call, _exercise, _expect, _number


def _win_reference(a, b, ties: str = "half") -> float:
    """Win rate of `a` over `b`; `ties` = "half" (right), "loss", "win" or "drop" (the mistakes, for hints)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    tie = np.abs(a - b) <= 1e-9
    if ties == "drop":
        return float(np.mean(a[~tie] > b[~tie])) if (~tie).any() else float("nan")
    value = {"half": 0.5, "loss": 0.0, "win": 1.0}[ties]
    return float(np.mean(np.where(tie, value, (a > b).astype(float))))


@_exercise("05.1", "a win rate with ties")
def _win_rate(fn) -> str:
    cases = [([1.0, 0.0, 2.0, 0.5, -1.0], [0.0, 0.0, 1.0, 0.5, 0.0]),  # two ties
             ([0.2, -1.0, 0.3, 0.3, 0.9, 0.1], [0.1, -0.5, 0.3, 0.4, 0.9, 0.1]),  # three ties
             ([3.0, 2.0, 1.0], [0.0, 0.0, 0.0]),  # no ties: 1
             ([0.0, 0.0], [0.0, 0.0])]  # all ties: one half
    for a, b in cases:
        name = f"win_rate({a}, {b})"
        got = _number(_call(fn, np.array(a), np.array(b), name=name), name)
        want = _win_reference(a, b)
        if abs(got - want) > 1e-9:
            _expect(abs(got - 100 * want) > 1e-6, f"{name} = {got}: give the win rate as a share from 0 to 1, "
                                                  f"not a percentage")
            _expect(abs(got - _win_reference(a, b, "loss")) > 1e-9,
                    f"{name} = {got:.4f}: your win rate counts ties as losses; a tie is half a win for each side")
            _expect(abs(got - _win_reference(a, b, "win")) > 1e-9,
                    f"{name} = {got:.4f}: your win rate counts ties as wins (a >= b); a tie is half a win")
            _expect(abs(got - _win_reference(b, a)) > 1e-9,
                    f"{name} = {got:.4f}: that is the win rate of b over a")
            drop = _win_reference(a, b, "drop")
            _expect(not (np.isfinite(drop) and abs(got - drop) < 1e-9),
                    f"{name} = {got:.4f}: your win rate leaves the ties out; count them, as half a win each, so that "
                    f"two equal models score one half")
            raise Wrong(f"{name} = {got:.4f}, expected {want:.4f}: the share of pairs a wins, a tie counting half")
    return "ties count half, so two models that always tie score one half and the win rate of b over a is 1 − it"


def judged_05(seed: int = 5) -> dict[str, np.ndarray]:
    """Exercise 05.2: 80 gold-judged pairs, policy (`a`) against the reference (`b`) on the same prompts.

    {"gold_a", "gold_b" (80,) gold utilities, rounded to half units so that some pairs tie; "finished_a", "finished_b" (80,)
    booleans: did the answer end within the token budget}. The policy finishes far more often, and an unfinished
    answer loses most of its gold: the situation of chapter 5.1's budget controls.
    """
    rng = np.random.default_rng(seed)
    n = 80
    finished_a, finished_b = rng.random(n) < 0.9, rng.random(n) < 0.5
    quality = rng.normal(0.0, 1.0, (2, n))
    gold_a = np.round(2 * (quality[0] + 0.15 - 1.5 * ~finished_a)) / 2  # in half units, so that some pairs tie
    gold_b = np.round(2 * (quality[1] - 1.5 * ~finished_b)) / 2
    return {"gold_a": gold_a, "gold_b": gold_b, "finished_a": finished_a, "finished_b": finished_b}


def _both_finished_variants(d: dict) -> dict[str, dict[str, float]]:
    ga, gb, fa, fb = d["gold_a"], d["gold_b"], d["finished_a"], d["finished_b"]

    def answer(keep, ties="half", kept=None):
        w_all, w_both = _win_reference(ga, gb, ties), _win_reference(ga[keep], gb[keep], ties)
        return {"all": w_all, "both_finished": w_both,
                "kept": (w_both - 0.5) / (w_all - 0.5) if kept is None else kept(w_all, w_both)}

    return {"right": answer(fa & fb), "either": answer(fa | fb), "policy only": answer(fa),
            "reference only": answer(fb), "ties as losses": answer(fa & fb, ties="loss"),
            "ratio of win rates": answer(fa & fb, kept=lambda w_all, w_both: w_both / w_all)}


@_exercise("05.2", "how much of a win survives on both-finished pairs")
def _both_finished(answer) -> str:
    _expect(isinstance(answer, dict) and {"all", "both_finished", "kept"} <= set(answer),
            'answer with a dict {"all": win rate on every pair, "both_finished": win rate on the pairs where both '
            'answers ended, "kept": the share of the win (above one half) that survives}')
    got = {k: _number(answer[k], f'answer["{k}"]') for k in ("all", "both_finished", "kept")}
    v = _both_finished_variants(judged_05())
    want = v["right"]

    def same(x, keys=("all", "both_finished", "kept")):
        return all(abs(got[k] - x[k]) < 1e-6 for k in keys)

    if same(want):
        return (f"the policy wins {want['all']:.3f} of all pairs but {want['both_finished']:.3f} of those where both "
                f"answers ended: only {want['kept']:.2f} of its edge over one half survives, the rest was finishing "
                f"inside the budget")
    _expect(not same(v["ties as losses"], ("all",)), 'answer["all"]: your win rate counts ties as losses; a tie is '
                                                     'half a win (exercise 05.1)')
    _expect(abs(got["all"] - want["all"]) < 1e-6, f'answer["all"] = {got["all"]:.4f}, expected {want["all"]:.4f}: '
                                                  f'the win rate of gold_a over gold_b on every pair, ties half')
    hints = {"either": "keeps the pairs where EITHER answer ended; the control keeps those where BOTH did "
                       "(finished_a & finished_b)",
             "policy only": "keeps the pairs where the policy's answer ended; the reference's must have ended too",
             "reference only": "keeps the pairs where the reference's answer ended; the policy's must have ended too"}
    for name, hint in hints.items():
        _expect(not same(v[name], ("both_finished",)), f'answer["both_finished"]: your filter {hint}')
    _expect(abs(got["both_finished"] - want["both_finished"]) < 1e-6,
            f'answer["both_finished"] = {got["both_finished"]:.4f}, expected {want["both_finished"]:.4f}')
    _expect(not same(v["ratio of win rates"], ("kept",)),
            'answer["kept"]: that is the ratio of the two win rates; one half is no win at all, so compare the edges '
            'above one half: (both_finished − ½) / (all − ½)')
    raise Wrong(f'answer["kept"] = {got["kept"]:.4f}, expected {want["kept"]:.4f} = (both_finished − ½) / (all − ½)')


# ------------------------------------------------------------------------------------------------ 05.3
# A new domain: a week of running for a beginner training for a 10 km race (about 25 km a week). Each pair is
# (the plan people prefer, the other, why), written so that no single shortcut ranks them all.
_PLAN_PAIRS = [
    ([5, 0, 6, 0, 5, 0, 9], [0, 0, 0, 0, 0, 0, 0], "an all-rest week is no training: doing nothing must not win"),
    ([5, 0, 6, 0, 5, 0, 9], [10, 10, 10, 10, 10, 10, 10],
     "70 km is almost three times the target: more running is not better"),
    ([4, 0, 5, 0, 5, 0, 8], [2, 0, 3, 0, 2, 0, 3], "10 km is far below the target: less running is not better either"),
    ([4, 0, 5, 0, 6, 0, 10], [4, 3, 4, 3, 4, 3, 4],
     "both run 25 km, but the second never rests: a beginner needs rest days"),
    ([5, 0, 6, 0, 5, 0, 9], [2, 0, 2, 0, 2, 0, 19],
     "both run 25 km with three rest days, but a 19 km long run is most of the week: no single run should be "
     "more than about two fifths of it"),
    ([6, 0, 5, 0, 5, 0, 9], [0, 0, 0, 5, 6, 5, 9],
     "both run 25 km with three rest days, but the second crams four running days in a row after three days off: "
     "spread the running over the week"),
]


def plan_pairs_05() -> list[tuple[list[int], list[int], str]]:
    """Exercise 05.3: (preferred plan, other plan, why) for a week of running, km per day from Monday to Sunday."""
    return [(list(a), list(b), why) for a, b, why in _PLAN_PAIRS]


@_exercise("05.3", "a gold utility for a new domain")
def _gold_plan(fn) -> str:
    scores = []
    for i, (good, bad, why) in enumerate(_PLAN_PAIRS, start=1):
        u_good = _number(_call(fn, list(good), name=f"utility({good})"), f"utility({good})")
        u_bad = _number(_call(fn, list(bad), name=f"utility({bad})"), f"utility({bad})")
        _expect(u_good > u_bad, f"pair {i}: your utility gives {good} {u_good:.3g} and {bad} {u_bad:.3g}, but people "
                                f"prefer the first: {why}")
        scores.append(u_good - u_bad)
    again = _number(_call(fn, list(_PLAN_PAIRS[0][0]), name="utility"), "utility")
    _expect(abs(again - _number(_call(fn, list(_PLAN_PAIRS[0][0]), name="utility"), "utility")) < 1e-12,
            "your utility gives the same plan different scores: a gold utility must be a fixed function of the plan")
    return (f"ranks all {len(_PLAN_PAIRS)} pairs the way people do (smallest gap {min(scores):.3g}). A policy "
            f"optimised against it will find whatever it forgot to penalise: what would you add next?")


# ------------------------------------------------------------------------------------------------ 05.4
def runs_05() -> dict[str, dict[str, np.ndarray]]:
    """Exercise 05.4: per-step means of the reward-model score and the gold utility of four PPO runs (30 steps).

    "healthy": both rise; "hacked": the gold peaks near step 12 and falls while the score keeps rising; "bad batch":
    both dip together for a few steps, then recover; "noisy": the gold wobbles from step to step but rises overall.
    """
    t = np.arange(30, dtype=float)
    rise = 1 - np.exp(-t / 8)
    wobble = 0.06 * np.where(t % 2 == 1, -1.0, 1.0)
    dip = (t >= 6) & (t <= 9)
    return {
        "healthy": {"rm": 2 * rise, "gold": rise},
        "hacked": {"rm": 2 * rise + 0.05 * t, "gold": np.minimum(t / 12, 1 - (t - 12) / 10) * 0.8},
        "bad batch": {"rm": 2 * rise - 0.6 * dip, "gold": rise - 0.25 * dip},
        "noisy": {"rm": 0.1 * t, "gold": 0.05 * t + wobble},
    }


def _divergence_reference(rm, gold, k: int, *, use_rm: bool = True, last: bool = False) -> int | None:
    """The first t with rm[t+k] > rm[t] and gold[t+k] < gold[t]; `use_rm` / `last` reproduce mistakes."""
    hits = [t for t in range(len(gold) - k) if gold[t + k] < gold[t] and (not use_rm or rm[t + k] > rm[t])]
    if not hits:
        return None
    return hits[-1] if last else hits[0]


@_exercise("05.4", "a reward-hacking detector")
def _detector(fn) -> str:
    found = {}
    for k in (3, 5):
        for name, log in runs_05().items():
            call = f"first_divergence(rm, gold, k={k}) on the {name!r} run"
            got = _call(fn, log["rm"].copy(), log["gold"].copy(), k, name=call)
            want = _divergence_reference(log["rm"], log["gold"], k)
            if want is None:
                if got is not None:
                    _expect(not (name == "bad batch" and got == _divergence_reference(log["rm"], log["gold"], k,
                                                                                      use_rm=False)),
                            f"{call} flags step {got}, where the reward model fell too: a bad batch, not hacking. "
                            f"Hacking is the gold falling WHILE the score rises")
                    _expect(not (name == "noisy" and got == _divergence_reference(log["rm"], log["gold"], 1)),
                            f"{call} flags step {got}, a one-step wobble of a gold that rises overall: compare each "
                            f"step with the one k steps later, not with the next")
                    raise Wrong(f"{call} returned {got!r}; this run never diverges: return None")
                continue
            _expect(isinstance(got, int | np.integer) and not isinstance(got, bool),
                    f"{call} should return the step (an int), got {got!r}")
            if got != want:
                _expect(got != _divergence_reference(log["rm"], log["gold"], k, last=True),
                        f"{call} returns the LAST diverging step ({got}); the detector should raise the alarm at "
                        f"the first, {want}")
                _expect(got != want + k, f"{call} returns {got}, the end of the first diverging window; report its "
                                         f"start t = {want}, the last step before the gold began to fall")
                _expect(got != _divergence_reference(log["rm"], log["gold"], 1),
                        f"{call} returns {got}: that compares each step with the next (k = 1); use the window k")
                raise Wrong(f"{call} returned {got}, expected {want}: the first t with rm[t + k] > rm[t] and "
                            f"gold[t + k] < gold[t]")
            found[(name, k)] = want
    return (f"flags the hacked run at step {found[('hacked', 3)]} (k = 3), and neither the bad batch (both fell), "
            f"the noisy run (gold rises over k steps) nor the healthy one. Keep the checkpoint before the alarm")
