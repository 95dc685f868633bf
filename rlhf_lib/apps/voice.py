"""Voice assistants: the prompts, and the hidden gold utility of an answer that will be SPOKEN, not read.

A listener cannot skim, scroll back or see formatting. What they want from a voice assistant (and what the
simulated annotators of chapter 5 reward, through `VOICE_WEIGHTS`):

    correct   the right answer where one is known (the time a timer was set for, a fact, a number)
    relevance the words a useful answer uses (how-to steps, weather advice, a warm reply to small talk)
    spoken    nothing that only works on a screen: no markdown (**, #, bullets, numbered lists, tables),
              no URLs, emoji or code, no parentheses; sentences short enough to follow by ear
    length    a listening time suited to speech, in seconds of audio (`speech.seconds`: espeak-ng's, where it is
              installed): a timer confirmation in a couple of seconds, a how-to in one breath
    tone      friendly and direct: no "As an AI" disclaimers, no filler openers ("Certainly! Here is ..."),
              no refusing harmless requests; warmth in small talk (VADER sentiment)
    truncation, repetition, style   as in chapter 1's gold utility (`rlhf_lib.annotate`)

An answer must be right AND speakable: "Okay." is short and clean but says nothing (correct −0.5, relevance 0,
too short), a correct answer in a bulleted list loses on `spoken`. The annotator panel reuses
`annotate.Annotator` with these weights: each simulated person scales them differently and adds noise.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from .. import annotate
from ..config import DATA_DIR
from ..data import SPLITS, iter_jsonl
from . import speech

VOICE_CATEGORIES = ("timer", "weather", "fact", "conversion", "howto", "smalltalk")
VOICE_COMPONENTS = ("correct", "relevance", "spoken", "length", "tone", "truncation", "repetition", "style")

_BASE = {"spoken": 1.2, "length": 1.0, "tone": 0.6, "truncation": 0.8, "repetition": 0.6, "style": 0.3}
VOICE_WEIGHTS: dict[str, dict[str, float]] = {
    "timer":      {"correct": 2.0, "relevance": 0.5, **_BASE},
    "weather":    {"correct": 1.5, "relevance": 1.5, **_BASE},
    "fact":       {"correct": 2.0, **_BASE},
    "conversion": {"correct": 2.0, **_BASE},
    "howto":      {"correct": 1.5, "relevance": 1.5, **_BASE},
    "smalltalk":  {"relevance": 1.0, **_BASE, "tone": 1.2},
}
# seconds to hear: shorter is curt or empty, longer is more than a listener holds in mind (a number read out
# digit by digit takes seconds in one word, so the listener's clock, not the word count, sets the length)
LISTEN_SECONDS = {"timer": (1.0, 7.0), "weather": (2.0, 14.0), "fact": (1.0, 10.0), "conversion": (1.5, 10.0),
                  "howto": (3.5, 17.0), "smalltalk": (1.5, 12.0)}
MAX_SPOKEN_SENTENCE = 25  # words; longer sentences are hard to follow by ear

# Annotator noise for the voice panel, calibrated like chapter 1's: two annotators agree on ~72% of the pairs
# neither calls a tie (InstructGPT: 72.6%). Voice utilities spread wider than chapter 1's, so chapter 1's 0.4
# would make the panel agree on ~82% of the shipped voice answers' pairs; 0.8 gives 69% on all 509 pairs of the
# shipped answers (72% on the ci profile's 24 prompts), inside the human range of 65-77% (chapter 5.4 measures it).
TEMPERATURE = 0.8
TIE_BAND = 0.25

# ------------------------------------------------------------------------------- what cannot be spoken
_MARKDOWN = [  # (pattern, penalty, what it is)
    (re.compile(r"\*\*|__|(?<!\w)\*(?=\w)|`"), 0.5, "bold / italics / code marks"),
    (re.compile(r"(?m)^\s*#{1,6}\s"), 0.5, "a heading"),
    (re.compile(r"(?m)^\s*[-*\u2022+]\s+\S"), 0.5, "a bulleted list"),
    (re.compile(r"(?m)^\s*\d+[.)]\s+\S"), 0.5, "a numbered list"),
    (re.compile(r"(?m)^\s*\|.*\|\s*$"), 0.5, "a table"),
    (re.compile(r"https?://|www\.|\b[\w-]+\.(?:com|org|net|io|gov)\b"), 0.6, "a URL"),
    (re.compile(r"```|\b(?:def|import|print)\b\s*\(?|[{};]\s*$", re.M), 0.5, "code"),
    (re.compile(r"[\(\[][^)\]]*[\)\]]"), 0.2, "parentheses or brackets"),
]
_EMOJI = re.compile("[\U0001F300-\U0001FAFF\u2300-\u23FF\u2600-\u27BF\u2B50\u2B55\uFE0F]")
_FILLER = re.compile(r"^\s*(?:certainly|sure|absolutely|of course|great question|good question)[!,.]?\s*"
                     r"(?:here(?:'s| is| are)|i(?:'d| would) be (?:happy|glad))|^\s*(?:here(?:'s| is| are) (?:a|the|some))\b",
                     re.I)
_DISCLAIMER = re.compile(r"\bas an ai\b|\b(?:i'm|i am) (?:just |only )?(?:an? )?(?:ai|language model|text-based|"
                         r"virtual assistant)\b|\bi (?:don't|do not) have (?:personal|feelings|the ability|access)",
                         re.I)


def unspeakable(text: str) -> list[str]:
    """What in `text` only works on a screen (markdown, URLs, emoji, code, brackets): the names of the problems."""
    found = [name for pattern, _, name in _MARKDOWN if pattern.search(text)]
    if _EMOJI.search(text):
        found.append("emoji")
    return found


def spoken_score(text: str) -> float:
    """In [−1, 0]: penalties for written-only formatting, emoji, and sentences too long to follow by ear."""
    penalty = sum(p for pattern, p, _ in _MARKDOWN if pattern.search(text))
    if _EMOJI.search(text):
        penalty += 0.5
    if annotate.longest_sentence(text) > MAX_SPOKEN_SENTENCE:
        penalty += 0.3
    if text.count("\n") >= 2:  # a voice answer is one short paragraph
        penalty += 0.2
    return -min(1.0, penalty)


def tone_score(record: dict, text: str) -> float:
    """In [−1, 1]: friendly and direct. Disclaimers, filler openers, refusing a harmless request and shouting
    cost; in small talk warmth (VADER compound sentiment) earns up to +0.5."""
    score = 0.0
    if _DISCLAIMER.search(text):
        score -= 0.5
    if _FILLER.search(text):
        score -= 0.3
    if annotate.refusal_score(text, record["prompt"]) == 1.0:
        score -= 1.0
    if text.count("!") >= 3:
        score -= 0.2
    if record["category"] == "smalltalk":
        score += 0.5 * annotate.sentiment(text)
    return float(np.clip(score, -1.0, 1.0))


def _is_numeric(answers: list[str]) -> bool:
    return bool(answers) and all(re.fullmatch(r"-?\d+(?:\.\d+)?", a.replace(",", "")) for a in answers)


def voice_correctness(record: dict, text: str) -> float:
    """Chapter 1's check (`annotate.correctness`): numbers-only answers use its numeric rules, others its word rules."""
    as_category = "conversion" if _is_numeric(record["answers"]) else "factual"
    return annotate.correctness({**record, "category": as_category}, text)


def gold_components(record: dict, response: str, finished: bool | None = None) -> dict[str, float]:
    """The named parts of the voice gold utility of one response, each in [−1, 1] (0 where not applicable)."""
    category = record["category"]
    if category not in VOICE_CATEGORIES:
        raise ValueError(f"record {record.get('id')!r}: category {category!r} is not a voice category "
                         f"({', '.join(VOICE_CATEGORIES)})")
    text = response.strip()
    comp = dict.fromkeys(VOICE_COMPONENTS, 0.0)
    if not text:
        return {c: -1.0 for c in VOICE_COMPONENTS}
    words = annotate.word_list(text)
    if record.get("answers"):
        comp["correct"] = voice_correctness(record, text)
    if record.get("keywords"):
        hits = annotate.keyword_hits(text, record["keywords"])
        comp["relevance"] = min(1.0, hits / min(2.0, len(record["keywords"])))
    comp["spoken"] = spoken_score(text)
    comp["length"] = annotate.length_score(speech.seconds(text), *LISTEN_SECONDS[category])
    comp["tone"] = tone_score(record, text)
    comp["repetition"] = annotate.repetition_score(words)
    comp["truncation"] = annotate.truncation_score(text, finished, spoken=True)
    comp["style"] = annotate.style_score(text)
    return comp


def gold_utility(record: dict, response: str, finished: bool | None = None) -> float:
    """Hidden, noise-free utility of one spoken answer (higher is better)."""
    return annotate.utility_from(gold_components(record, response, finished), VOICE_WEIGHTS[record["category"]])


def make_panel(n: int = 5, seed: int = 0, temperature: float = TEMPERATURE, tie_band: float = TIE_BAND):
    """`n` simulated annotators of spoken answers: chapter 1's `Annotator`, with the voice weights."""
    return annotate.make_panel(n, seed=seed, temperature=temperature, tie_band=tie_band, weights=VOICE_WEIGHTS)


# ------------------------------------------------------------------------------------------- prompts
class VoicePromptError(ValueError):
    """A bad line in a voice prompt file; the message names the file, the line and the field."""


def load_prompts(split: str | None = None, path: str | Path | None = None) -> list[dict]:
    """The voice prompts (data/voice_prompts.jsonl), optionally one split, each checked field by field (lines read
    by `data.iter_jsonl`)."""
    path = Path(path or DATA_DIR / "voice_prompts.jsonl")
    if split is not None and split not in SPLITS:
        raise ValueError(f"split {split!r} is not one of {', '.join(SPLITS)}")
    rows, seen = [], {}
    for lineno, rec in iter_jsonl(path, check_format=False, error=VoicePromptError):
        where = f"{path}:{lineno}"
        if not isinstance(rec, dict):
            raise VoicePromptError(f"{where}: expected a JSON object, got {type(rec).__name__}")
        for field in ("id", "category", "prompt", "split"):
            if not isinstance(rec.get(field), str) or not rec[field].strip():
                raise VoicePromptError(f"{where}: field {field!r} must be a non-empty string, got {rec.get(field)!r}")
        if rec["category"] not in VOICE_CATEGORIES:
            raise VoicePromptError(f"{where}: field 'category': {rec['category']!r} is not one of "
                                   f"{', '.join(VOICE_CATEGORIES)}")
        if rec["split"] not in SPLITS:
            raise VoicePromptError(f"{where}: field 'split': {rec['split']!r} is not one of {', '.join(SPLITS)}")
        if rec["id"] in seen:
            raise VoicePromptError(f"{where}: field 'id': {rec['id']!r} is already used on line {seen[rec['id']]}")
        seen[rec["id"]] = lineno
        for field in ("answers", "wrong", "keywords"):
            value = rec.get(field, [])
            if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
                raise VoicePromptError(f"{where}: field {field!r} must be a list of non-empty strings, got {value!r}")
        if rec["category"] in ("fact", "conversion", "timer") and not rec.get("answers"):
            raise VoicePromptError(f"{where}: field 'answers': a {rec['category']} prompt needs the answer(s) "
                                   "a checker can verify")
        if not rec.get("answers") and not rec.get("keywords"):
            raise VoicePromptError(f"{where}: fields 'answers' and 'keywords' are both empty: nothing to judge "
                                   "an answer by")
        rows.append(rec)
    return [r for r in rows if split is None or r["split"] == split]


# ------------------------------------------------------------------------------ responses and labels
# The base model's answers, shipped so ci/cpu never regenerate. They were sampled in resumed runs over prompt subsets
# (each chunk seeded by its first prompt), so a fresh `sample --ship` draws other, equally valid answers.
RESPONSES = DATA_DIR / "voice_responses.jsonl"


def sample_responses(prompts: list[dict], cfg, model=None, tokenizer=None, cache: str | Path | None = None):
    """K base-model answers per voice prompt (`apps.voice_*` sizes), reusing the shipped ones in
    `data/voice_responses.jsonl`; anything missing is sampled into `cache` (default artifacts/voice/).
    Sampled in bf16 only where the hardware runs it natively (the shipped file: float32 on a CPU)."""
    from .. import data
    from ..config import artifacts_dir
    from ..models import bf16_is_fast, pick_device

    A = cfg.apps
    cache = Path(cache or artifacts_dir() / "voice" / "responses.jsonl")
    seed_cache = RESPONSES if cache.resolve() != RESPONSES.resolve() else None
    return data.sample_responses(prompts, model, tokenizer, A.voice_samples_per_prompt, cache, A.voice_sample_tokens,
                                 cfg.data.temperature, cfg.data.top_p, cfg.data.gen_batch_size, cfg.seed,
                                 seed_cache=seed_cache, model_name=cfg.model.name,
                                 bf16=bf16_is_fast(pick_device()))


def annotate_pairs(prompts: list[dict], responses: dict[str, list[dict]], panel, seed: int = 0) -> list[dict]:
    """Every pair of distinct answers to a prompt labelled by every panel member, judged by the VOICE utility."""
    from .. import data

    return data.annotate_pairs(prompts, responses, panel, seed, components=gold_components, weights=VOICE_WEIGHTS)
