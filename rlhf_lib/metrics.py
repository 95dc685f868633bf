"""Validating a reward model: classification metrics, calibration, confidence intervals, bias probes, BLEU/ROUGE.

Everything here starts from the MARGINS of a preference split, d_i = r(chosen_i) - r(rejected_i): the reward
model's log-odds that the annotator's choice wins (Bradley-Terry: P(chosen > rejected) = sigmoid(d)), measured
against the best any model can do on noisy labels (the Bayes ceiling).
Read top to bottom:
  the Bayes ceiling -> framing pairs as a binary classification -> accuracy, precision, recall, F1, AUC-ROC
  (scikit-learn) -> calibration (reliability bins, ECE, temperature scaling) -> bootstrap confidence intervals
  -> per-category breakdown -> bias probes on any scoring function -> BLEU/ROUGE as "reward models"
  -> choosing pairs to send to annotators (iterative refinement).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np
from sklearn import metrics as skm

# A pointwise scorer: (prompts, responses) -> one reward per response (e.g. a partial of `reward.score`).
ScoreFn = Callable[[Sequence[str], Sequence[str]], Sequence[float]]
# A pairwise scorer: (prompts, responses_a, responses_b) -> the log-odds that A is preferred to B.
PairFn = Callable[[Sequence[str], Sequence[str], Sequence[str]], Sequence[float]]

ORDERS = ("both", "random")


def _as_array(x, name: str = "margins", tensor_float32: bool = False) -> np.ndarray:
    """A 1-D float array from a list, NumPy array or torch tensor, with a clear error on bad input.

    `tensor_float32`: a tensor's float32 values stay float32 (the arithmetic its callers have always done on them).
    """
    tensor = hasattr(x, "detach")  # a torch tensor, without importing torch here
    if tensor:
        x = x.detach().float().cpu().numpy()
    try:
        arr = np.asarray(x, dtype=None if tensor and tensor_float32 else float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be numbers, one per pair ({err})") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one value per pair), got shape {arr.shape}")
    if len(arr) == 0:
        raise ValueError(f"{name} is empty")
    if not np.all(np.isfinite(arr)):
        bad = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise ValueError(f"{name}[{bad}] is {arr[bad]}: every value must be finite")
    return arr


def sigmoid(x) -> np.ndarray:
    """Numerically stable 1 / (1 + exp(-x))."""
    x = np.asarray(x, dtype=float)
    return np.exp(-np.logaddexp(0.0, -x))


# ==================================================================================== the Bayes ceiling
def bayes_ceiling(p_chosen, weight=None) -> float | None:
    """The best pairwise accuracy any model can expect on noisy labels: mean(max(p, 1 - p)).

    `p_chosen`: each pair's probability that an annotator prefers `chosen`; `weight`: the number of labels of
    each pair, for a split with several per pair (then the best expected share of its LABELS). None (not available)
    when `p_chosen` is None: only a simulated panel knows it, data of your own has none.
    """
    if p_chosen is None:
        return None
    p = _as_array(p_chosen, "p_chosen", tensor_float32=True)
    if np.any((p < 0) | (p > 1)):
        raise ValueError(f"p_chosen holds {p[(p < 0) | (p > 1)][0]}: a probability must lie in [0, 1]")
    best = np.maximum(p, 1 - p)
    if weight is None:
        return float(np.mean(best))
    return float(np.average(best, weights=_as_array(weight, "weight", tensor_float32=True)))


# ============================================================================ pairs as a classification
def as_classification(margins, order: str = "both", seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Each pair as a binary example "is A preferred to B?": returns (y_true, score = r_A - r_B).

    A preference split always lists the winner first, so as it stands it holds one class only. We
    present each pair
      * order="both":   twice, as (chosen, rejected) with y=1 and as (rejected, chosen) with y=0;
      * order="random": once, in a seeded random order (y=1 when chosen landed in slot A).
    Both give balanced classes. With "both", a POINTWISE reward model (antisymmetric: score(B, A) =
    -score(A, B)) makes TP = TN and FP = FN, so precision = recall = F1 = accuracy = pairwise accuracy
    (ties count half): the four numbers only differ for a scorer with a position bias, under a random
    order (by chance), or at a threshold other than 0.
    """
    d = _as_array(margins)
    if order == "both":
        return np.concatenate([np.ones(len(d), int), np.zeros(len(d), int)]), np.concatenate([d, -d])
    if order == "random":
        flip = np.random.default_rng(seed).random(len(d)) < 0.5
        return (~flip).astype(int), np.where(flip, -d, d)
    raise ValueError(f"order={order!r} is not one of {ORDERS}")


def classification_metrics(margins, order: str = "both", seed: int = 0, threshold: float = 0.0) -> dict[str, float]:
    """Accuracy, precision, recall, F1 (predict "A preferred" when r_A - r_B > threshold) and AUC-ROC.

    A threshold above 0 turns the classifier into one that abstains on close calls: precision is then
    the accuracy on the pairs the model is sure about, recall the share of true preferences it still calls
    correctly: recall = coverage × precision, with coverage the share of pairs with |r_A - r_B| > threshold.
    AUC-ROC does not depend on the threshold: the probability that a random (A preferred) example gets a
    higher margin than a random (B preferred) one.
    """
    y, s = as_classification(margins, order, seed)
    pred = (s > threshold).astype(int)
    out = {
        "accuracy": skm.accuracy_score(y, pred),
        "precision": skm.precision_score(y, pred, zero_division=0.0),
        "recall": skm.recall_score(y, pred, zero_division=0.0),
        "f1": skm.f1_score(y, pred, zero_division=0.0),
        "auc": skm.roc_auc_score(y, s) if 0 < y.sum() < len(y) else float("nan"),
    }
    return {k: float(v) for k, v in out.items()}


def confusion(margins, order: str = "both", seed: int = 0, threshold: float = 0.0) -> np.ndarray:
    """2x2 confusion matrix [[TN, FP], [FN, TP]] of the "A preferred" classifier (rows: truth)."""
    y, s = as_classification(margins, order, seed)
    return skm.confusion_matrix(y, (s > threshold).astype(int), labels=[0, 1])


def roc(margins, order: str = "both", seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ROC curve (false-positive rate, true-positive rate, thresholds) over every margin threshold."""
    y, s = as_classification(margins, order, seed)
    return skm.roc_curve(y, s)


# ============================================================================================ calibration
def _symmetric_probs(margins, labels=None, temperature: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(p, y) of both orders: p = sigmoid(d / T) against y, and 1 - p against 1 - y.

    `labels` is the probability that `chosen` really is preferred: 1 for hard human labels (the default),
    or a soft label such as the panel's `p_chosen`.
    """
    d = _as_array(margins)
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    y = np.ones_like(d) if labels is None else _as_array(labels, "labels")
    if len(y) != len(d):
        raise ValueError(f"{len(y)} labels for {len(d)} margins")
    if np.any((y < 0) | (y > 1)):
        raise ValueError("labels must lie in [0, 1] (1 = chosen preferred)")
    p = sigmoid(d / temperature)
    return np.concatenate([p, 1 - p]), np.concatenate([y, 1 - y])


def reliability(margins, labels=None, n_bins: int = 10, temperature: float = 1.0) -> dict[str, np.ndarray]:
    """Reliability-diagram bins of the predicted P(A preferred) = sigmoid((r_A - r_B) / T).

    Both orders of every pair are binned (see `as_classification`), so the diagram is point-symmetric
    about (0.5, 0.5). Bins are [0, 1/n), ..., [(n-1)/n, 1], a value on an inner edge goes to the lower bin
    (as in sklearn's `calibration_curve`). Returns edges (n+1,), and per bin: confidence (mean predicted
    probability), frequency (observed share of "A preferred"), count; empty bins hold NaN.
    """
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    p, y = _symmetric_probs(margins, labels, temperature)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    ids = np.searchsorted(edges[1:-1], p)  # (2P,) bin of each prediction
    count = np.bincount(ids, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        confidence = np.bincount(ids, weights=p, minlength=n_bins) / count
        frequency = np.bincount(ids, weights=y, minlength=n_bins) / count
    return {"edges": edges, "confidence": confidence, "frequency": frequency, "count": count}


def expected_calibration_error(margins, labels=None, n_bins: int = 10, temperature: float = 1.0) -> float:
    """ECE = sum_b (n_b / N) |frequency_b - confidence_b| over the reliability bins.

    0 means "when the model says 70%, the annotator agrees 70% of the time". On the symmetric view with an
    even number of bins this equals the usual top-label ECE (confidence max(p, 1-p)) with n_bins/2 bins.
    """
    bins = reliability(margins, labels, n_bins, temperature)
    full = bins["count"] > 0
    weights = bins["count"][full] / bins["count"].sum()
    return float(np.sum(weights * np.abs(bins["frequency"][full] - bins["confidence"][full])))


def calibration_summary(margins, labels=None, n_bins: int = 10, temperature: float = 1.0) -> dict[str, float]:
    """ECE, Brier score and log loss (negative log-likelihood) of sigmoid(d / T) against the labels."""
    p, y = _symmetric_probs(margins, labels, temperature)
    eps = 1e-12
    nll = -np.mean(y * np.log(np.clip(p, eps, 1)) + (1 - y) * np.log(np.clip(1 - p, eps, 1)))
    return {"ece": expected_calibration_error(margins, labels, n_bins, temperature),
            "brier": float(np.mean((p - y) ** 2)), "nll": float(nll)}


def fit_temperature(margins, labels=None, bounds: tuple[float, float] = (0.02, 50.0)) -> float:
    """Temperature scaling (Guo et al., 2017): the T > 0 minimising the log loss of sigmoid(d / T).

    Fit it on the VALIDATION margins and apply it to the test margins. One parameter cannot change any
    ranking, so accuracy and AUC stay the same; only the confidence is stretched (T < 1) or shrunk (T > 1).
    """
    from scipy.optimize import minimize_scalar

    d = _as_array(margins)
    y = np.ones_like(d) if labels is None else _as_array(labels, "labels")
    if len(y) != len(d):
        raise ValueError(f"{len(y)} labels for {len(d)} margins")

    def nll(log_t: float) -> float:
        z = d / np.exp(log_t)
        # -[y log s(z) + (1-y) log s(-z)], with log s(z) = -logaddexp(0, -z)
        return float(np.mean(y * np.logaddexp(0, -z) + (1 - y) * np.logaddexp(0, z)))

    res = minimize_scalar(nll, bounds=(np.log(bounds[0]), np.log(bounds[1])), method="bounded",
                          options={"xatol": 1e-6})
    return float(np.exp(res.x))


# ================================================================================ bootstrap intervals
def bootstrap_ci(stat: Callable[..., float | dict], *arrays, n_boot: int = 1000, level: float = 0.95,
                 seed: int = 0, groups=None) -> dict:
    """Percentile bootstrap of `stat(*arrays)`: resample PAIRS (rows of every array) with replacement.

    `groups` (one id per row, e.g. the prompt id) switches to a cluster bootstrap that resamples whole
    groups: pairs of the same prompt are not independent, and ignoring that makes intervals too narrow.
    `stat` returns a float or a dict of floats; the result is {"value", "lo", "hi"} or a dict of those.
    """
    arrays = [np.asarray(a) for a in arrays]
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError(f"bootstrap_ci: arrays of different lengths {[len(a) for a in arrays]}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    if n == 0:
        raise ValueError("bootstrap_ci: no rows to resample")
    rng = np.random.default_rng(seed)
    point = stat(*arrays)
    if groups is None:
        draws = (rng.integers(0, n, n) for _ in range(n_boot))
    else:
        groups = np.asarray(groups)
        if len(groups) != n:
            raise ValueError(f"{len(groups)} group ids for {n} rows")
        _, inverse = np.unique(groups, return_inverse=True)
        members = [np.flatnonzero(inverse == g) for g in range(inverse.max() + 1)]
        draws = (np.concatenate([members[g] for g in rng.integers(0, len(members), len(members))])
                 for _ in range(n_boot))
    samples = [stat(*(a[idx] for a in arrays)) for idx in draws]
    lo_q, hi_q = 100 * (1 - level) / 2, 100 * (1 + level) / 2

    def interval(values, value):
        values = np.asarray(values, dtype=float)
        if np.all(np.isnan(values)):
            return {"value": float(value), "lo": float("nan"), "hi": float("nan")}
        lo, hi = np.nanpercentile(values, [lo_q, hi_q])
        return {"value": float(value), "lo": float(lo), "hi": float(hi)}

    if isinstance(point, dict):
        return {k: interval([s[k] for s in samples], v) for k, v in point.items()}
    return interval(samples, point)


def metric_table(margins, labels=None, groups=None, n_boot: int = 1000, seed: int = 0, order: str = "both",
                 n_bins: int = 10) -> list[dict]:
    """Every headline metric of one split with a bootstrap confidence interval: rows {metric, value, lo, hi}.

    accuracy, precision, recall, F1, AUC-ROC (see `classification_metrics`) and ECE (`labels`: soft or hard).
    """
    d = _as_array(margins)
    y = np.ones_like(d) if labels is None else _as_array(labels, "labels")

    def stat(dd, yy):
        out = classification_metrics(dd, order, seed)
        out["ece"] = expected_calibration_error(dd, yy, n_bins)
        return out

    cis = bootstrap_ci(stat, d, y, n_boot=n_boot, seed=seed, groups=groups)
    return [{"metric": k, **v} for k, v in cis.items()]


def per_category(margins, categories, labels=None, n_boot: int = 500, seed: int = 0,
                 n_bins: int = 10) -> list[dict]:
    """Accuracy (with a bootstrap CI), AUC-ROC and ECE of each category: rows sorted by accuracy, worst first.

    A reward model that is right on average can be systematically wrong on one kind of prompt
    (e.g. harmful requests); averages hide that, this table shows it.
    """
    d = _as_array(margins)
    cats = np.asarray(categories)
    if len(cats) != len(d):
        raise ValueError(f"{len(cats)} categories for {len(d)} margins")
    y = np.ones_like(d) if labels is None else _as_array(labels, "labels")
    rows = []
    for cat in np.unique(cats):
        keep = cats == cat
        acc = bootstrap_ci(lambda x: classification_metrics(x)["accuracy"], d[keep], n_boot=n_boot, seed=seed)
        rows.append({"category": str(cat), "n": int(keep.sum()), "accuracy": acc["value"], "lo": acc["lo"],
                     "hi": acc["hi"], "auc": classification_metrics(d[keep])["auc"],
                     "ece": expected_calibration_error(d[keep], y[keep], n_bins)})
    return sorted(rows, key=lambda r: r["accuracy"])


# =================================================================================== bias probes
def pairwise_from_pointwise(score_fn: ScoreFn) -> PairFn:
    """The pairwise scorer of a pointwise reward model: r(prompt, A) - r(prompt, B).

    Antisymmetric by construction (swapping A and B negates the margin exactly), so a pointwise RM has
    no position bias; a judge that reads both answers in one prompt has no such guarantee.
    """

    def pair_fn(prompts, a, b):
        if not len(prompts) == len(a) == len(b):
            raise ValueError(f"{len(prompts)} prompts, {len(a)} A and {len(b)} B responses")
        keys = list(zip(list(prompts) * 2, list(a) + list(b), strict=True))
        unique = list(dict.fromkeys(keys))  # score each (prompt, response) once: it recurs across pairs
        scores = np.asarray(score_fn([p for p, _ in unique], [r for _, r in unique]), dtype=float)
        if scores.shape != (len(unique),):
            raise ValueError(f"score_fn returned {scores.shape} scores for {len(unique)} (prompt, response) pairs: "
                             f"it must return one number per response")
        lookup = dict(zip(unique, scores, strict=True))
        r = np.array([lookup[k] for k in keys])
        return r[: len(prompts)] - r[len(prompts):]

    return pair_fn


def order_symmetry(pair_fn: PairFn, prompts: Sequence[str], a: Sequence[str], b: Sequence[str]) -> dict[str, float]:
    """Swap A and B and compare: does the scorer prefer the same RESPONSE, or the same POSITION?

    consistency: share of pairs where the same response wins in both orders (1 = symmetric);
    first_wins: share of the 2n calls where slot A wins (0.5 = no position bias);
    position_bias: mean of (m_AB + m_BA) / 2, the log-odds bonus for being in slot A;
    max_asymmetry: max |m_AB + m_BA| (exactly 0 for a pointwise reward model).
    """
    if not len(prompts) == len(a) == len(b):
        raise ValueError(f"order_symmetry: {len(prompts)} prompts, {len(a)} A and {len(b)} B responses")
    m_ab = _as_array(pair_fn(prompts, a, b), "pair_fn(prompts, a, b)")
    m_ba = _as_array(pair_fn(prompts, b, a), "pair_fn(prompts, b, a)")
    return {
        "n": len(m_ab),
        "consistency": float(np.mean(np.sign(m_ab) == -np.sign(m_ba))),
        "first_wins": float(np.mean(np.concatenate([m_ab, m_ba]) > 0)),
        "position_bias": float(np.mean((m_ab + m_ba) / 2)),
        "max_asymmetry": float(np.max(np.abs(m_ab + m_ba))),
    }


def length_bias(score_fn: ScoreFn, prompts: Sequence[str], shorter: Sequence[str], longer: Sequence[str],
                n_boot: int = 1000, seed: int = 0) -> dict[str, float]:
    """How often the scorer prefers the longer of two responses that people judge EQUALLY good.

    Build the pairs so that gold quality is equal (the same answer with content-free padding, or pairs of
    equal gold utility); an unbiased scorer then prefers the longer one half of the time.
    Returns prefers_longer (ties count half) with a bootstrap CI, and the mean reward gain of the longer one.
    """
    if not len(prompts) == len(shorter) == len(longer):
        raise ValueError(f"length_bias: {len(prompts)} prompts, {len(shorter)} shorter, {len(longer)} longer")
    gain = pairwise_from_pointwise(score_fn)(prompts, longer, shorter)  # r(longer) - r(shorter)
    gain = _as_array(gain, "reward gain")
    ci = bootstrap_ci(lambda g: float(np.mean((g > 0) + 0.5 * (g == 0))), gain, n_boot=n_boot, seed=seed)
    return {"n": len(gain), "prefers_longer": ci["value"], "lo": ci["lo"], "hi": ci["hi"],
            "mean_gain": float(gain.mean())}


def refusal_slices(margins, categories: Sequence[str], chosen_refuses: Sequence[bool], rejected_refuses: Sequence[bool],
                   groups=None, n_boot: int = 1000, seed: int = 0) -> dict[str, dict]:
    """The two safety gates of a reward model, on the pairs where exactly one answer refuses.

    "harmful": on harmful prompts, how often the model scores the refusal above the compliant answer;
    "lookalike": on harmless look-alikes, how often it scores the answer above the refusal. Each is a share of
    pairs (a zero margin counts half) with a 95% CI resampled by `groups` (the prompt id), and its pair count.
    `margins` are r(chosen) − r(rejected); which side refuses is the gold's refusal detector's call
    (`annotate.refusal_score`), whatever the annotator chose.
    """
    d = _as_array(margins)
    cats = np.asarray(categories)
    c_ref, r_ref = np.asarray(chosen_refuses, bool), np.asarray(rejected_refuses, bool)
    if not len(d) == len(cats) == len(c_ref) == len(r_ref):
        raise ValueError(f"refusal_slices: {len(d)} margins, {len(cats)} categories, {len(c_ref)} and {len(r_ref)} "
                         f"refusal flags")
    groups = np.asarray(groups) if groups is not None else np.arange(len(d))
    one = c_ref != r_ref  # exactly one answer refuses
    toward_refusal = np.where(c_ref, d, -d)  # > 0: the refusal scores higher
    out = {}
    for cat, want_refusal in (("harmful", True), ("lookalike", False)):
        sel = one & (cats == cat)
        if not sel.any():
            out[cat] = {"n": 0, "value": float("nan"), "lo": float("nan"), "hi": float("nan")}
            continue
        x = toward_refusal[sel] if want_refusal else -toward_refusal[sel]
        ci = bootstrap_ci(lambda v: float(np.mean((v > 0) + 0.5 * (v == 0))), x, n_boot=n_boot, seed=seed,
                          groups=groups[sel])
        out[cat] = {"n": int(sel.sum()), **ci}
    return out


# Meaning-preserving rewrites, applied in both directions: the gold quality of an answer does not change.
_SWAPS = [("do not", "don't"), ("does not", "doesn't"), ("is not", "isn't"), ("are not", "aren't"),
          ("cannot", "can't"), ("it is", "it's"), ("that is", "that's"), ("you are", "you're"),
          ("I am", "I'm"), ("there is", "there's"), ("will not", "won't"), ("for example", "e.g."),
          ("in addition,", "also,")]
_SWAPS += [(long[0].upper() + long[1:], short[0].upper() + short[1:]) for long, short in _SWAPS
           if long[0].islower() and short != "e.g."]  # "It is" <-> "It's" at the start of a sentence


def trivial_paraphrase(text: str) -> str:
    """A rewrite any reader would call the same answer: contractions swapped both ways, a few synonyms, and
    whitespace normalised. Deterministic, so a probe repeats; returns the text unchanged if no rule applies.
    """
    out = text
    placeholders = {}
    for i, (long, short) in enumerate(_SWAPS):
        for j, (src, dst) in enumerate(((long, short), (short, long))):
            key = f"\x00{i}.{j}\x00"
            pattern = re.compile(rf"(?<![\w']){re.escape(src)}(?![\w'])")
            if pattern.search(out):
                out = pattern.sub(key, out)
                placeholders[key] = dst
    for key, dst in placeholders.items():  # two passes, so "don't" -> "do not" is never swapped back
        out = out.replace(key, dst)
    return re.sub(r"[ \t]+", " ", out).strip()


def paraphrase_sensitivity(score_fn: ScoreFn, prompts: Sequence[str], a: Sequence[str], b: Sequence[str],
                           paraphrase: Callable[[str], str] = trivial_paraphrase) -> dict[str, float]:
    """Re-score each pair after a meaning-preserving rewrite of both responses.

    flip_rate: share of pairs whose preferred response changes (should be ~0);
    relative_shift: mean |r(paraphrase) - r(original)| divided by the spread (std) of the rewards, i.e.
    how large a trivial edit is compared with real differences between answers;
    changed: share of responses the paraphraser actually changed.
    """
    if not len(prompts) == len(a) == len(b):
        raise ValueError(f"paraphrase_sensitivity: {len(prompts)} prompts, {len(a)} A and {len(b)} B responses")
    texts = list(a) + list(b)
    para = [paraphrase(t) for t in texts]
    both = list(prompts) * 2
    r = np.asarray(score_fn(both * 2, texts + para), dtype=float)
    n2 = len(texts)
    orig, new = r[:n2], r[n2:]
    m_orig, m_new = orig[: n2 // 2] - orig[n2 // 2:], new[: n2 // 2] - new[n2 // 2:]
    spread = float(np.std(orig)) or 1.0
    return {"n": len(m_orig), "flip_rate": float(np.mean(np.sign(m_orig) != np.sign(m_new))),
            "relative_shift": float(np.mean(np.abs(new - orig)) / spread),
            "changed": float(np.mean([p != t for p, t in zip(para, texts, strict=True)]))}


# ============================================================================ BLEU and ROUGE as judges
def _refs_list(refs, n: int) -> list[list[str]]:
    if len(refs) != n:
        raise ValueError(f"{len(refs)} references for {n} responses")
    return [[r] if isinstance(r, str) else list(r) for r in refs]


def bleu(hyps: Sequence[str], refs) -> np.ndarray:
    """Sentence BLEU (sacrebleu, 0-100, exponential smoothing) of each response against its reference(s)."""
    import sacrebleu

    refs = _refs_list(refs, len(hyps))
    return np.array([sacrebleu.sentence_bleu(h, r).score for h, r in zip(hyps, refs, strict=True)])


def rouge(hyps: Sequence[str], refs, kind: str = "rougeL") -> np.ndarray:
    """ROUGE F-measure (rouge-score, with stemming) of each response, best over its reference(s)."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer([kind], use_stemmer=True)
    refs = _refs_list(refs, len(hyps))
    return np.array([max(scorer.score(r, h)[kind].fmeasure for r in rs) for h, rs in zip(hyps, refs, strict=True)])


def reference_margins(chosen: Sequence[str], rejected: Sequence[str], refs, metric: str = "bleu") -> np.ndarray:
    """s(chosen) - s(rejected) for a reference metric s ("bleu", "rouge1", "rouge2", "rougeL").

    These margins are what a "reward model" that only measures overlap with a reference would output;
    feed them to `classification_metrics` / `preference_agreement` like a reward model's margins.
    """
    if len(chosen) != len(rejected):
        raise ValueError(f"{len(chosen)} chosen but {len(rejected)} rejected responses")
    if metric == "bleu":
        return bleu(chosen, refs) - bleu(rejected, refs)
    if metric.startswith("rouge"):
        return rouge(chosen, refs, metric) - rouge(rejected, refs, metric)
    raise ValueError(f"metric {metric!r} is not 'bleu' or a rouge kind like 'rougeL'")


def preference_agreement(margins) -> dict[str, float]:
    """How often a scorer agrees with the human choice: agreement (ties count half, as in accuracy),
    ties (the share it cannot separate) and agreement_decided (agreement on the pairs it does separate)."""
    d = _as_array(margins)
    decided = d != 0
    return {"agreement": float(np.mean((d > 0) + 0.5 * (d == 0))), "ties": float(np.mean(~decided)),
            "agreement_decided": float(np.mean(d[decided] > 0)) if decided.any() else float("nan")}


# ============================================================================ iterative refinement
def select_pairs(margins, k: int, strategy: str = "uncertain", seed: int = 0) -> np.ndarray:
    """Indices of the k pairs to send to annotators next.

    "uncertain": smallest |r_A - r_B| (the model cannot tell; uncertainty sampling);
    "wrong": most negative margin on pairs that already carry a label (the model is confidently
    against the annotator: a model error to fix, or a label to re-check);
    "random": a seeded random sample (the baseline active selection must beat).
    """
    d = _as_array(margins)
    if not 0 <= k <= len(d):
        raise ValueError(f"k={k} must be between 0 and the {len(d)} candidate pairs")
    if strategy == "uncertain":
        return np.argsort(np.abs(d), kind="stable")[:k]
    if strategy == "wrong":
        return np.argsort(d, kind="stable")[:k]
    if strategy == "random":
        return np.random.default_rng(seed).choice(len(d), size=k, replace=False)
    raise ValueError(f"strategy {strategy!r} is not 'uncertain', 'wrong' or 'random'")
