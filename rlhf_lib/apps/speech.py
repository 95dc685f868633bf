"""Speech for chapter 5.4: an answer read aloud by espeak-ng (offline, no downloads), and how long it takes to hear.

A voice answer costs the listener time, not words: a number with decimals is one word and many syllables
("one thousand six hundred nine point three four"). In reading order:

  1. `speak`     the WAV bytes (for `IPython.display.Audio`) and their duration in seconds
  2. `seconds`   how long an answer takes to hear, as the voice gold utility reads it: measured from espeak-ng's
                 audio where it is installed (cached per text), else `estimate_seconds`
  3. `estimate_seconds`  a + b·syllables + c·digits + d·pauses, fitted on the shipped voice answers as espeak-ng
                 speaks them (`fit_estimate`, to a small *relative* error, so a curt "Ok." is timed as well as a
                 long answer; tests/test_speech.py refits it), for machines without espeak-ng

Without espeak-ng (Debian/Ubuntu: `apt-get install espeak-ng`; macOS: `brew install espeak-ng`) `available()` is
False: the notebook says so instead of playing anything, and `seconds` falls back to the estimate.
"""

from __future__ import annotations

import functools
import io
import re
import shutil
import subprocess
import wave

import numpy as np

ENGINE = "espeak-ng"
WORDS_PER_MINUTE = 160  # espeak-ng's default is 175; a little slower is nearer a voice assistant's pace


def available() -> bool:
    return shutil.which(ENGINE) is not None


def speak(text: str, wpm: int = WORDS_PER_MINUTE, voice: str = "en-us") -> tuple[bytes, float]:
    """(WAV bytes, seconds) of `text` spoken by espeak-ng. Raises RuntimeError naming the fix if it is missing."""
    if not available():
        raise RuntimeError(f"{ENGINE} is not installed: `apt-get install espeak-ng` (Debian/Ubuntu) or "
                           "`brew install espeak-ng` (macOS), then run the cell again")
    # text on stdin, never on the command line: an answer may start with "-" or hold shell characters
    proc = subprocess.run([ENGINE, "--stdout", "-v", voice, "-s", str(wpm)], input=text.encode("utf-8"),
                          capture_output=True, check=False, timeout=60)
    if proc.returncode or not proc.stdout:
        raise RuntimeError(f"{ENGINE} failed (exit {proc.returncode}): {proc.stderr.decode(errors='replace')[:200]}")
    return proc.stdout, duration(proc.stdout)


def duration(wav: bytes) -> float:
    """Seconds of audio in a WAV file (espeak-ng writes the header's frame count as 0x7fffffff when streaming, so
    the length comes from the data size)."""
    with wave.open(io.BytesIO(wav)) as w:
        frame_bytes = w.getsampwidth() * w.getnchannels()
        rate = w.getframerate()
    return (len(wav) - 44) / frame_bytes / rate  # 44: the canonical PCM header espeak-ng writes


@functools.lru_cache(maxsize=1 << 16)
def seconds(text: str) -> float:
    """Seconds to hear `text` (0 for nothing to say): espeak-ng's audio where installed, else `estimate_seconds`."""
    if not text.strip():
        return 0.0
    return speak(text)[1] if available() else estimate_seconds(text)


def source() -> str:
    """What `seconds` measures with on this machine, for a notebook to print next to its figures."""
    return f"{ENGINE} audio at {WORDS_PER_MINUTE} words/min" if available() else \
        f"an estimate from syllables ({ENGINE} is not installed: `apt-get install espeak-ng`)"


# ------------------------------------------------------------------------- the estimate without espeak-ng
_WORD, _VOWELS, _DIGIT, _PAUSE = re.compile(r"[A-Za-z']+"), re.compile(r"[aeiouy]+"), re.compile(r"\d"), \
    re.compile(r"[.,;:!?]+(?=\s|$)")
# Fitted by `fit_estimate` on the shipped voice answers (data/voice_responses.jsonl) as Debian's espeak-ng (1.51)
# speaks them at 160 words/min; tests/test_speech.py checks the estimate against espeak-ng on a sample of them.
# (An ordinary least-squares fit, which the long answers dominate, gave an intercept of 1.3 s: "Ok." then took
# 1.9 s to hear instead of espeak-ng's 0.8 s, and a curt answer to a timer no longer counted as curt.)
ESTIMATE = {"intercept": -0.017, "syllable": 0.196, "digit": 0.3766, "pause": 0.4624}


def speech_features(text: str) -> np.ndarray:
    """(1, syllables, digits, pauses) of `text`: syllables as vowel groups of each word (at least one), each digit
    read out on its own, a pause at every sentence or clause mark."""
    syllables = sum(max(1, len(_VOWELS.findall(w.lower().removesuffix("e")))) for w in _WORD.findall(text))
    return np.array([1.0, syllables, len(_DIGIT.findall(text)), len(_PAUSE.findall(text))])


def estimate_seconds(text: str, coef: dict[str, float] | None = None) -> float:
    """Seconds to hear `text` without espeak-ng: a linear model of `speech_features` (0 for nothing to say)."""
    if not text.strip():
        return 0.0
    c = coef or ESTIMATE
    w = np.array([c["intercept"], c["syllable"], c["digit"], c["pause"]])
    return float(max(0.0, speech_features(text) @ w))


def fit_estimate(texts: list[str], measured: list[float] | None = None) -> tuple[dict[str, float], float]:
    """Coefficients of `estimate_seconds` on `texts` (measured by espeak-ng unless given) that minimise the squared
    *relative* error (each row weighted by 1/seconds: the length rule's bounds are a second or two for a timer and
    over ten for a how-to, so a second off matters more on a short answer), and the mean absolute error in seconds
    of the fit."""
    keep = [i for i, t in enumerate(texts) if t.strip()]
    texts = [texts[i] for i in keep]
    y = np.array([measured[i] for i in keep] if measured is not None else [speak(t)[1] for t in texts])
    X = np.stack([speech_features(t) for t in texts])
    weight = 1.0 / np.maximum(y, 0.3)[:, None]  # 0.3 s: no row weighs more than a very short word
    w = np.linalg.lstsq(X * weight, y * weight[:, 0], rcond=None)[0]
    coef = dict(zip(("intercept", "syllable", "digit", "pause"), (round(float(v), 4) for v in w), strict=True))
    return coef, float(np.mean(np.abs(X @ w - y)))
