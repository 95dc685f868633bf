"""Chapter 1's exercises: the Bayes ceiling, a ranking as pairs, Cohen's kappa, an annotator's probabilities."""

from __future__ import annotations

import numpy as np

from .registry import Wrong, _call, _exercise, _expect, _number


@_exercise("01.1", "the Bayes ceiling of the validation split")
def _ceiling(answer) -> str:
    from ..config import DATA_DIR
    from ..data import iter_jsonl

    got = _number(answer, "the ceiling")
    p = {s: np.array([rec["p_chosen"] for _, rec in iter_jsonl(DATA_DIR / "preferences" / f"{s}.jsonl")])
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
    from ..data import PreferenceDataError, normalize

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

    from ..annotate import TIE, A, B

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
    from ..annotate import Annotator

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


