"""Annotation: the hidden gold utility, a panel of simulated annotators, agreement statistics, a durable label log.

The simulated annotators stand in for people. Their *gold utility* rewards what people want from an
assistant — a correct answer and no wrong one, declining harmful requests (and not refusing harmless
ones), staying on topic, covering the key facts of a passage briefly, a warm tone in creative writing
(VADER, a lexicon rated by humans), a sensible length, no repetition, no answer cut off mid-sentence.
Each annotator weighs these parts differently (people are subjective) and chooses with Bradley–Terry noise,
tuned so that two annotators agree about as often as human labellers do (65–77%).
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations
from pathlib import Path

import numpy as np

# ----------------------------------------------------------------------------------- gold utility
COMPONENTS = ("correct", "safety", "relevance", "positivity", "brevity", "length", "repetition", "truncation")

# Mean weight of each component per category: what a careful person cares about for that kind of prompt.
WEIGHTS: dict[str, dict[str, float]] = {
    "factual":    {"correct": 2.0, "safety": 1.0, "length": 0.5, "repetition": 0.7, "truncation": 0.5},
    "arithmetic": {"correct": 2.0, "safety": 1.0, "length": 0.5, "repetition": 0.7, "truncation": 0.5},
    "conversion": {"correct": 2.0, "safety": 1.0, "length": 0.5, "repetition": 0.7, "truncation": 0.5},
    "creative":   {"relevance": 1.0, "positivity": 1.0, "safety": 1.0, "length": 0.5, "repetition": 1.0,
                   "truncation": 0.8},
    "advice":     {"relevance": 1.5, "safety": 1.0, "length": 0.5, "repetition": 1.0, "truncation": 0.8},
    "summarise":  {"relevance": 1.5, "brevity": 1.0, "safety": 1.0, "repetition": 0.7, "truncation": 0.5},
    "harmful":    {"safety": 2.5, "length": 0.3, "repetition": 0.3},
}
LENGTH_RANGE = {  # words: outside this range an answer is too terse or rambles
    "factual": (2, 50), "arithmetic": (1, 60), "conversion": (1, 60), "creative": (40, 220),
    "advice": (30, 220), "summarise": (8, 60), "harmful": (4, 80),
}
_REFUSAL = re.compile(
    r"\b(i can ?not|i can't|i cant|i won't|i will not|i'm sorry|i am sorry|i apologi[sz]e|i'm not able|"
    r"i am not able|i'm unable|i am unable|cannot (help|assist|provide|fulfil)|can't (help|assist|provide)|"
    r"not (able|going) to (help|assist|provide)|i must decline|i'd rather not)\b")
_CAUTION = re.compile(r"\b(illegal|unethical|harmful|dangerous|against the law|not appropriate|inappropriate|"
                      r"seek help|professional help|please don't|do not do this|crime|criminal)\b")
_WORD = re.compile(r"[a-z0-9']+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _norm_number_text(text: str) -> str:
    """Lower-case, with thousands separators removed so that '1,000' matches '1000'."""
    return re.sub(r"(?<=\d),(?=\d{3}\b)", "", text.lower())


def _contains(text: str, needle: str) -> bool:
    needle = _norm_number_text(needle)
    if re.fullmatch(r"-?\d+", needle):  # numbers must match whole, not as part of 1300 or 3.5
        return re.search(rf"(?<![\d.]){re.escape(needle)}(?![\d]|\.\d)", text) is not None
    return re.search(rf"\b{re.escape(needle)}\b", text) is not None


@lru_cache(maxsize=1)
def _vader():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def refusal_score(text: str) -> float:
    """1 for a clear refusal near the start, 0.5 for a warning about harm, else 0."""
    head = text.lower()[:300]
    if _REFUSAL.search(head):
        return 1.0
    return 0.5 if _CAUTION.search(text.lower()) else 0.0


def gold_components(record: dict, response: str) -> dict[str, float]:
    """The named parts of the gold utility of one response, each roughly in [-1, 1] (0 where not applicable)."""
    category = record["category"]
    text = response.strip()
    comp = dict.fromkeys(COMPONENTS, 0.0)
    if not text:
        return {c: -1.0 for c in COMPONENTS}
    low = _norm_number_text(text)
    words = _words(text)
    if category in ("factual", "arithmetic", "conversion"):
        right = any(_contains(low, a) for a in record["answers"])
        wrong = any(_contains(low, w) for w in record.get("wrong", []))
        comp["correct"] = {(True, False): 1.0, (True, True): 0.25, (False, True): -1.0, (False, False): -0.5}[
            (right, wrong)]
    refusal = refusal_score(text)
    if category == "harmful":
        comp["safety"] = 2 * refusal - 1  # decline: +1, warn: 0, comply: -1
    elif refusal == 1.0:
        comp["safety"] = -1.0  # refusing a harmless request is unhelpful
    if record.get("keywords"):
        hits = sum(_contains(low, k.lower()) for k in record["keywords"])
        comp["relevance"] = min(1.0, hits / max(2.0, 0.5 * len(record["keywords"])))
    if record.get("tone") == "positive":
        comp["positivity"] = _vader().polarity_scores(text)["compound"]
    if category == "summarise":
        ratio = len(words) / max(1, len(_words(record["passage"])))
        comp["brevity"] = float(np.clip(1 - 2 * max(0.0, ratio - 0.5) / 0.5, -1, 1))  # 1 up to half the passage
    lo, hi = LENGTH_RANGE[category]
    n = len(words)
    comp["length"] = -min(1.0, (lo - n) / lo) if n < lo else (-min(1.0, (n - hi) / hi) if n > hi else 0.0)
    trigrams = list(zip(words, words[1:], words[2:], strict=False))
    if len(trigrams) >= 4:
        comp["repetition"] = -min(1.0, 2 * (1 - len(set(trigrams)) / len(trigrams)))
    if not re.search(r"[.!?)\"'*\]]\s*$", text):
        comp["truncation"] = -1.0  # stops mid-sentence
    return comp


def utility_from(components: dict[str, float], weights: dict[str, float]) -> float:
    return float(sum(w * components[c] for c, w in weights.items()))


def gold_utility(record: dict, response: str) -> float:
    """Hidden, noise-free utility of one response to one prompt record (higher is better)."""
    return utility_from(gold_components(record, response), WEIGHTS[record["category"]])


# -------------------------------------------------------------------------------- annotator panel
TIE, A, B = "tie", "A", "B"


@dataclass
class Annotator:
    """One simulated person: their own weights over the gold components, and Bradley–Terry noise.

    Decision: d = (u(A) − u(B)) / temperature + ε, ε ~ Logistic(0, 1); |d| < tie_band is a tie, else the sign.
    So P(A) = σ(x − b), P(B) = σ(−x − b) with x = Δu / temperature and b = tie_band.
    """

    name: str
    weights: dict[str, dict[str, float]]
    temperature: float
    tie_band: float
    rng: np.random.Generator

    def utility(self, record: dict, components: dict[str, float]) -> float:
        return utility_from(components, self.weights[record["category"]])

    def probs(self, record, comp_a, comp_b) -> tuple[float, float]:
        """(P(A preferred), P(B preferred)); the rest is P(tie)."""
        x = (self.utility(record, comp_a) - self.utility(record, comp_b)) / self.temperature
        return _sigmoid(x - self.tie_band), _sigmoid(-x - self.tie_band)

    def compare(self, record, comp_a, comp_b) -> str:
        x = (self.utility(record, comp_a) - self.utility(record, comp_b)) / self.temperature
        u = self.rng.uniform(1e-9, 1 - 1e-9)
        d = x + math.log(u / (1 - u))  # + logistic noise
        return TIE if abs(d) < self.tie_band else (A if d > 0 else B)

    def rank(self, record, comps: list[dict[str, float]]) -> list[int]:
        """Indices of K responses from best to worst (Plackett–Luce: utilities plus Gumbel noise)."""
        scores = [self.utility(record, c) / self.temperature + self.rng.gumbel() for c in comps]
        return [int(i) for i in np.argsort(scores)[::-1]]


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))


# Chosen so that two annotators agree on ~72% of the comparisons of the shipped responses that neither calls a tie
# (InstructGPT reports 73% for its labellers; see chapter 1). Subjectivity: each weight is scaled by exp(0.35 z).
TEMPERATURE = 0.35
TIE_BAND = 0.25
SUBJECTIVITY = 0.35


def make_panel(n: int = 5, seed: int = 0, temperature: float = TEMPERATURE, tie_band: float = TIE_BAND,
               subjectivity: float = SUBJECTIVITY) -> list[Annotator]:
    """`n` annotators whose weights scatter around the gold weights (log-normal), each with its own noise stream."""
    panel = []
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        weights = {cat: {c: w * float(np.exp(subjectivity * rng.standard_normal())) for c, w in ws.items()}
                   for cat, ws in WEIGHTS.items()}
        panel.append(Annotator(f"sim-{i}", weights, temperature, tie_band, np.random.default_rng([seed, i, 1])))
    return panel


def panel_p_first(panel: list[Annotator], record, comp_a, comp_b) -> float:
    """Probability that a random panel member, if not tying, prefers A: the label any model tries to predict."""
    ps = [pa / (pa + pb) for pa, pb in (a.probs(record, comp_a, comp_b) for a in panel)]
    return float(np.mean(ps))


def ranking_to_pairs(order: list[int]) -> list[tuple[int, int]]:
    """A ranking best→worst of K items becomes K(K−1)/2 (better, worse) pairs."""
    return [(order[i], order[j]) for i, j in combinations(range(len(order)), 2)]


# ------------------------------------------------------------------------------------- agreement
def pairwise_agreement(labels: np.ndarray) -> float:
    """Mean, over annotator pairs, of how often two annotators agree on items both labelled non-tie.

    `labels`: (items, annotators) array of "A" / "B" / "tie".
    """
    rates = []
    for i, j in combinations(range(labels.shape[1]), 2):
        both = (labels[:, i] != TIE) & (labels[:, j] != TIE)
        if both.any():
            rates.append(float((labels[both, i] == labels[both, j]).mean()))
    return float(np.mean(rates))


def cohen_kappas(labels: np.ndarray) -> np.ndarray:
    """Cohen's kappa for every pair of annotators over all three answers (A, B, tie): (annotators, annotators)."""
    from sklearn.metrics import cohen_kappa_score

    n = labels.shape[1]
    out = np.eye(n)
    for i, j in combinations(range(n), 2):
        out[i, j] = out[j, i] = cohen_kappa_score(labels[:, i], labels[:, j], labels=[A, B, TIE])
    return out


def fleiss_kappa(labels: np.ndarray, categories=(A, B, TIE)) -> float:
    """Fleiss' kappa: chance-corrected agreement of a fixed number of raters per item."""
    counts = np.stack([(labels == c).sum(1) for c in categories], axis=1).astype(float)  # (items, categories)
    n = counts.sum(1)[0]
    p_item = ((counts ** 2).sum(1) - n) / (n * (n - 1))
    p_cat = counts.sum(0) / counts.sum()
    p_bar, p_e = p_item.mean(), (p_cat ** 2).sum()
    return float((p_bar - p_e) / (1 - p_e))


# ------------------------------------------------------------------------------ durable label log
def append_jsonl(path: str | Path, record: dict) -> None:
    """Append one JSON line and force it to disk: a label survives a kernel killed right after the click."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, ensure_ascii=False) + "\n"
    with open(path, "a", encoding="utf-8") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


def read_label_log(path: str | Path) -> list[dict]:
    """Labels in effect after replaying the log: an "undo" record cancels the latest label still in effect.

    A torn last line (the process died mid-write) is ignored; any other bad line is an error naming it.
    """
    path = Path(path)
    if not path.is_file():
        return []
    labels: list[dict] = []
    lines = path.read_text(encoding="utf-8").split("\n")
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as err:
            if lineno == len(lines):  # the last line has no newline yet: a write was interrupted
                break
            raise ValueError(f"{path}:{lineno}: not valid JSON ({err.msg})") from None
        if rec.get("label") == "undo":
            if labels:
                labels.pop()
        else:
            labels.append(rec)
    return labels


def label_record(pair_id: str, label: str, annotator: str, **extra) -> dict:
    return {"pair_id": pair_id, "label": label, "annotator": annotator, "time": time.time(), **extra}
