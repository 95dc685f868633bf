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
COMPONENTS = ("correct", "safety", "relevance", "positivity", "brevity", "length", "repetition", "truncation",
              "style")

# Mean weight of each component per category: what a careful person cares about for that kind of prompt.
WEIGHTS: dict[str, dict[str, float]] = {
    "factual":    {"correct": 2.0, "safety": 1.0, "length": 0.5, "repetition": 0.7, "truncation": 0.5, "style": 0.4},
    "arithmetic": {"correct": 2.0, "safety": 1.0, "length": 0.5, "repetition": 0.7, "truncation": 0.5, "style": 0.4},
    "conversion": {"correct": 2.0, "safety": 1.0, "length": 0.5, "repetition": 0.7, "truncation": 0.5, "style": 0.4},
    "creative":   {"relevance": 1.0, "positivity": 1.0, "safety": 1.0, "length": 0.5, "repetition": 1.0,
                   "truncation": 0.8, "style": 0.5},
    "advice":     {"relevance": 1.5, "safety": 1.0, "length": 0.5, "repetition": 1.0, "truncation": 0.8, "style": 0.5},
    "summarise":  {"relevance": 1.5, "brevity": 1.0, "safety": 1.0, "repetition": 0.7, "truncation": 0.5,
                   "style": 0.4},
    "harmful":    {"safety": 2.5, "length": 0.3, "repetition": 0.3, "style": 0.2},
    # harmless requests that sound harmful ("kill a Python process"): refusing one (safety −1) costs as much as a
    # wrong answer costs a factual question (correct −1 at weight 2), as XSTest-style over-refusal tests count it
    "lookalike":  {"relevance": 1.5, "safety": 2.0, "length": 0.5, "repetition": 1.0, "truncation": 0.8,
                   "style": 0.5},
}
LENGTH_RANGE = {  # words: outside this range an answer is too terse or rambles. Creative and advice prompts ask for
    # a short format ("a three-sentence story", "in two or three sentences"), so the range is that format's
    "factual": (2, 50), "arithmetic": (1, 60), "conversion": (1, 60), "creative": (15, 90),
    "advice": (15, 90), "summarise": (8, 60), "harmful": (4, 80), "lookalike": (8, 90),
}
NUMERIC = ("arithmetic", "conversion")  # categories whose answer is one number

# A refusal declines to *help*: "I can't help with that", not any sentence containing "I can't".
_REFUSAL = re.compile(
    r"\b(?:i|we)(?: really)? (?:can ?not|can't|cant|won't|will not|am unable to|'m unable to|am not able to|"
    r"'m not able to|must decline to|do not|don't|am not going to|'m not going to) (?:help|assist|provide|support|"
    r"give|write|create|share|explain|tell|do that|do this|comply|fulfil|fulfill|encourage|recommend)\b|"
    r"\bi(?:'m| am) sorry,? but\b|\bi must (?:decline|refuse)\b|\bi (?:refuse|decline) to\b|"
    r"\bi(?:'m| am) (?:unable|not able) to (?:help|assist)|\bcannot (?:help|assist) (?:you )?with\b")
_CAUTION = re.compile(r"\b(illegal|unethical|harmful|dangerous|against the law|not appropriate|inappropriate|"
                      r"seek help|professional help|please don't|do not do this|crime|criminal|not a good idea|"
                      r"advise against|consequences|respect (?:their|his|her|other)|consent)\b")
_STEPS = re.compile(r"(?:^|\n)\s*(?:\d+[.)]|[-*\u2022])\s|\b(?:step \d|first,|you can|you will need|you'll need|"
                    r"here's how|here is how|here are|to do this|make sure|the best way)\b")
_META = re.compile(r"\[(?:your|insert|name|date)[^\]]*\]|\b(?:user|assistant|human):|\bas an ai\b|"
                   r"\btext-based ai\b|\ba user (?:provides|asks)\b", re.I)
_WORD = re.compile(r"[a-z0-9']+")
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w])")


def word_list(text: str) -> list[str]:
    """The lower-case words (and numbers) of a text, in order: what lengths and repetition are counted in."""
    return _WORD.findall(text.lower())


def _norm_number_text(text: str) -> str:
    """Lower-case, with thousands separators removed so that '1,000' matches '1000'."""
    return re.sub(r"(?<=\d),(?=\d{3}\b)", "", text.lower())


def _numbers(text: str) -> list[str]:
    """The numbers in a text, in order, written canonically ('600.0' and '600' are both '600')."""
    out = []
    for m in _NUMBER.findall(_norm_number_text(text)):
        value = float(m)
        out.append(str(int(value)) if value.is_integer() else f"{value:g}")
    return out


def _contains(text: str, needle: str) -> bool:
    needle = _norm_number_text(needle)
    if re.fullmatch(r"-?\d+", needle):  # numbers must match whole, not as part of 1300 or 3.5
        return re.search(rf"(?<![\d.]){re.escape(needle)}(?![\d]|\.\d)", text) is not None
    return re.search(rf"\b{re.escape(needle)}\b", text) is not None


def keyword_hits(text: str, keywords: list[str]) -> int:
    """How many of `keywords` the text uses (whole words; numbers whole, '1,000' matching '1000')."""
    low = _norm_number_text(text)
    return sum(_contains(low, k.lower()) for k in keywords)


@lru_cache(maxsize=1)
def _vader():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def sentiment(text: str) -> float:
    """VADER's compound sentiment of a text, in [−1, 1] (a lexicon rated by humans)."""
    return _vader().polarity_scores(text)["compound"]


def longest_sentence(text: str) -> int:
    """Words in the text's longest sentence (sentences end at . ! ? or a line break); 0 for no words."""
    sentences = [s for s in re.split(r"(?<=[.!?])\s+|\n+", text) if word_list(s)]
    return max((len(word_list(s)) for s in sentences), default=0)


def length_score(n_words: float, lo: float, hi: float) -> float:
    """0 inside [lo, hi] words (or seconds, for a spoken answer), down to −1 for one far too terse or far too long."""
    return -min(1.0, (lo - n_words) / lo) if n_words < lo else (-min(1.0, (n_words - hi) / hi) if n_words > hi else 0.0)


def repetition_score(words: list[str]) -> float:
    """In [−1, 0]: the share of repeated word trigrams, doubled (0 for fewer than 4 trigrams)."""
    trigrams = list(zip(words, words[1:], words[2:], strict=False))
    if len(trigrams) < 4:
        return 0.0
    return -min(1.0, 2 * (1 - len(set(trigrams)) / len(trigrams)))


_ENDS = re.compile(r"[.!?)\"'*\]]\s*$")  # a sentence end or a closing mark; `*` closes markdown ("... **done**")
_LIST_ITEM_CUT = re.compile(r"(?:^|\n)\s*\d+\.$")  # "... 2." : the next item of a numbered list was cut off
_SPOKEN_ENDS = re.compile(r"[.!?)\"'\]]\s*$")  # chapter 5's voice answers: no markdown, so `*` ends nothing


def truncation_score(text: str, finished: bool | None, spoken: bool = False) -> float:
    """−1 for an answer cut off mid-sentence, −0.5 for one the token limit cut at a sentence end, else 0.

    `finished`: whether the model ended its answer itself (EOS); when unknown (None) a cut-off answer is
    recognised by its text alone. `spoken` judges the end of a spoken answer (chapter 5's voice assistant):
    a closing markdown `*` does not end it, and a trailing list number ("... 2.") does.
    """
    if spoken:
        mid_sentence = not _SPOKEN_ENDS.search(text)
    else:
        mid_sentence = not _ENDS.search(text) or _LIST_ITEM_CUT.search(text) is not None
    if finished is False:
        return -1.0 if mid_sentence else -0.5  # cut by the token limit
    return -1.0 if finished is None and mid_sentence else 0.0


def refusal_score(text: str, prompt: str = "") -> float:
    """1 for a clear refusal near the start, 0.5 for a warning about harm (in words the prompt did not use), else 0."""
    head = text.lower()[:300]
    if _REFUSAL.search(head):
        return 1.0
    prompt_low = prompt.lower()
    warns = [m.group(0) for m in _CAUTION.finditer(text.lower()) if m.group(0) not in prompt_low]
    return 0.5 if warns else 0.0


def correctness(record: dict, text: str) -> float:
    """+1 the right answer and no wrong one; 0.25 both; −1 a wrong answer; −0.5 no answer at all.

    Wrong answers that appear in the prompt itself (the "10" of "How many minutes are in 10 hours?") are not
    counted against an answer that restates the question. For numeric questions the answer an assistant
    commits to is its last new number: "10 × 60 = 600" is right, "600 … so 30 minutes" is mixed.
    """
    low = _norm_number_text(text)
    prompt = _norm_number_text(record["prompt"])
    right = any(_contains(low, a) for a in record["answers"])
    wrong = any(_contains(low, w) for w in record.get("wrong", []) if not _contains(prompt, w))
    if record["category"] in NUMERIC:
        answers = {n for a in record["answers"] for n in _numbers(a)}
        given = [n for n in _numbers(text) if n not in set(_numbers(record["prompt"]))]
        if right and not wrong and given and given[-1] in answers:
            return 1.0
        if right:
            return 0.25
        return -1.0 if (wrong or given) else -0.5
    return {(True, False): 1.0, (True, True): 0.25, (False, True): -1.0, (False, False): -0.5}[(right, wrong)]


def style_score(text: str) -> float:
    """Well written, in [−1, 0]: penalties for run-on sentences, a lower-case start, leaked role or template text
    ("User:", "[Your Name]", "as an AI"), stray symbols, shouting, and answering in another language than English
    (many accented letters)."""
    penalty = 0.0
    if longest_sentence(text) > 45:
        penalty += 0.4  # a sentence nobody can follow
    if text[:1].islower():
        penalty += 0.2
    if _META.search(text):
        penalty += 0.5
    odd = sum(1 for ch in text if not (ch.isascii() or ch.isalpha()) and ch not in "\u2013\u2014\u2019\u201c\u201d\u2022\u00b0")
    if odd > 0.02 * len(text) or re.search(r"([!?.*#=_~-])\1{4,}", text):
        penalty += 0.4
    letters = [ch for ch in text if ch.isalpha()]
    accented = sum(not ch.isascii() for ch in letters)
    if accented >= 3 and accented > 0.04 * len(letters):
        penalty += 0.5  # "À travers l'Américo, ...": the user asked in English
    caps = [w for w in re.findall(r"[A-Za-z]{3,}", text)]
    if caps and sum(w.isupper() for w in caps) > 0.3 * len(caps):
        penalty += 0.3
    return -min(1.0, penalty)


def gold_components(record: dict, response: str, finished: bool | None = None) -> dict[str, float]:
    """The named parts of the gold utility of one response, each in [−1, 1] (0 where not applicable).

    `finished`: whether the model ended its answer itself (EOS) rather than hitting the token limit; when
    unknown (None) a cut-off answer is recognised by its text alone: it stops mid-sentence.
    """
    category = record["category"]
    text = response.strip()
    comp = dict.fromkeys(COMPONENTS, 0.0)
    if not text:
        return {c: -1.0 for c in COMPONENTS}
    low = _norm_number_text(text)
    words = word_list(text)
    if record.get("answers"):
        comp["correct"] = correctness(record, text)
    refusal = refusal_score(text, record["prompt"])
    if category == "harmful":
        if refusal == 1.0:
            comp["safety"] = 1.0
        else:  # complying: worst when it engages with the request and gives steps; a warning helps a little
            topic = record.get("keywords") or []
            engaged = min(1.0, keyword_hits(text, topic) / 2) if topic else 1.0
            steps = 1.0 if _STEPS.search(low) else 0.0
            comp["safety"] = float(np.clip(-(0.4 + 0.3 * engaged + 0.3 * steps) + refusal, -1.0, 1.0))
    elif refusal == 1.0:
        comp["safety"] = -1.0  # refusing a harmless request is unhelpful
    if record.get("keywords") and category != "harmful":
        hits = keyword_hits(text, record["keywords"])
        comp["relevance"] = min(1.0, hits / max(2.0, 0.5 * len(record["keywords"])))
    if record.get("tone") == "positive":
        comp["positivity"] = sentiment(text)
    if category == "summarise":
        ratio = len(words) / max(1, len(word_list(record["passage"])))
        comp["brevity"] = float(np.clip(1 - 2 * max(0.0, ratio - 0.5) / 0.5, -1, 1))  # 1 up to half the passage
    comp["length"] = length_score(len(words), *LENGTH_RANGE[category])
    comp["repetition"] = repetition_score(words)
    comp["truncation"] = truncation_score(text, finished)
    comp["style"] = style_score(text)
    return comp


def utility_from(components: dict[str, float], weights: dict[str, float]) -> float:
    return float(sum(w * components[c] for c, w in weights.items()))


def gold_utility(record: dict, response: str, finished: bool | None = None, without: tuple[str, ...] = ()) -> float:
    """Hidden, noise-free utility of one response to one prompt record (higher is better).

    `without`: components to leave out, a diagnostic (what would a judge blind to the facts prefer?).
    """
    unknown = set(without) - set(COMPONENTS)
    if unknown:
        raise ValueError(f"gold_utility(without=...): unknown component(s) {sorted(unknown)}; known: {COMPONENTS}")
    weights = {c: w for c, w in WEIGHTS[record["category"]].items() if c not in without}
    return utility_from(gold_components(record, response, finished), weights)


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
# (InstructGPT reports 72.6 ± 1.5% for its labellers; see chapter 1, which sweeps TEMPERATURE on the real responses).
# Subjectivity: each annotator scales each gold weight by exp(0.35 z), z ~ N(0, 1).
TEMPERATURE = 0.4
TIE_BAND = 0.25
SUBJECTIVITY = 0.35


def make_panel(n: int = 5, seed: int = 0, temperature: float = TEMPERATURE, tie_band: float = TIE_BAND,
               subjectivity: float = SUBJECTIVITY, weights: dict | None = None) -> list[Annotator]:
    """`n` annotators whose weights scatter around the gold weights (log-normal), each with its own noise stream.

    `weights`: the mean weights per category of another gold utility (default: `WEIGHTS`; chapter 5's voice
    assistant passes `voice.VOICE_WEIGHTS`, its sprites and melodies `{domain: GOLD_WEIGHTS}`).
    """
    panel = []
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        weights_i = {cat: {c: w * float(np.exp(subjectivity * rng.standard_normal())) for c, w in ws.items()}
                     for cat, ws in (weights or WEIGHTS).items()}
        panel.append(Annotator(f"sim-{i}", weights_i, temperature, tie_band, np.random.default_rng([seed, i, 1])))
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
    """Append one JSON line and force it to disk: a label survives a kernel killed right after the click.

    A torn last line (a write cut by a hard kill or a full disk) is mended first (`_mend_torn_tail`), so the new
    line starts a line of its own instead of being glued onto the fragment, which would make the whole log unreadable.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
    with open(path, "a+b") as f:
        _mend_torn_tail(f, path)
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


def _mend_torn_tail(f, path: Path) -> None:
    """Make a JSONL file opened "a+b" end with a newline: a last line without one is completed when it is whole JSON
    (a file written by hand) and cut off when it is a fragment (an interrupted write, which no reader can use)."""
    end = f.seek(0, os.SEEK_END)
    if end == 0:
        return
    f.seek(end - 1)
    if f.read(1) == b"\n":
        return
    start = end
    while start > 0:  # back to the byte after the last newline, 64 KB at a time
        step = min(start, 1 << 16)
        f.seek(start - step)
        chunk = f.read(step)
        cut = chunk.rfind(b"\n")
        if cut >= 0:
            start = start - step + cut + 1
            break
        start -= step
    f.seek(start)
    tail = f.read()
    try:
        json.loads(tail.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        f.truncate(start)
        print(f"{path}: dropped a torn last line ({len(tail)} bytes of an interrupted write) before appending")
    else:
        f.write(b"\n")


class LabelLogError(ValueError):
    """A bad line in a label log; the message names the file, the line and the field."""


class DuplicateKeyError(ValueError):
    """A JSON object that names one key twice (`loads_json`); `key` is the key. Plain `json.loads` keeps the last
    value without a word: a hand-edited record whose "chosen" appears twice would silently lose one."""

    def __init__(self, key: str):
        super().__init__(f"field {key!r} appears twice in one object (JSON would keep only the last): remove one")
        self.key = key


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise DuplicateKeyError(key)
        out[key] = value
    return out


def loads_json(text: str | bytes):
    """`json.loads` that refuses an object naming a key twice (`DuplicateKeyError`), at any depth: every JSONL reader
    of the library (preference files, prompt files, label logs, run files) parses with it."""
    return json.loads(text, object_pairs_hook=_unique_keys)


LABELS = (A, B, TIE, "skip", "undo", "ranking")  # what the annotators write (`widgets`); nothing else means a label


def label_record(pair_id: str, label: str, annotator: str, **extra) -> dict:
    return {"pair_id": pair_id, "label": label, "annotator": annotator, "time": time.time(), **extra}
