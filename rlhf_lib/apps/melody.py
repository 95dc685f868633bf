"""Melodies as token sequences: chapter 5's music domain.

A melody is 16 notes (four bars of four quarter notes), each a rest or a pitch from C4 to C6 (MIDI 60-84, all
twelve semitones, so a generator can play out of key). `procedural` draws melodies of mixed quality;
`gold_components` / `gold_utility` define what the simulated listeners enjoy; `piano_roll` and `synth` let a
person see and hear them.

What makes a melody pleasant here (each component in [-1, 1]), for the key of C major:

    in_key      notes from the C major scale (an F# or a Bb in a simple tune sounds wrong)
    harmony     the strong beats (1 and 3 of each bar) land on the tonic chord C-E-G
    shape       mostly steps (up to 2 semitones), few leaps, no leaps wider than a fifth
    resolution  the last note is the tonic C (home); E or G half-resolve; anything else leaves it hanging
    variety     at least five different pitches, few repeated notes: one note hammered sixteen times is no tune
    rests       a few rests are phrasing, a melody that is mostly silence is not a melody
    wellformed  exactly 16 notes

Listeners differ (`LISTENERS`, for personalised music): the "classic" listener is the taste above; the
"adventurous" one wants what the classic one avoids, scored by two more components:

    leaps       intervals of a third to a sixth (3-9 semitones) rather than steps
    minor       the colour of A minor (same notes as C major): strong beats on A-C-E and an ending on A
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .seqrl import N_SPECIAL

LENGTH = 16
LOW, HIGH = 60, 84                   # MIDI pitches C4 .. C6
REST = N_SPECIAL                     # token of a rest; pitch p is token REST + 1 + (p - LOW)
VOCAB_SIZE = N_SPECIAL + 1 + (HIGH - LOW + 1)
MAX_NEW_TOKENS = LENGTH + 1          # 16 notes and EOS
SCALE = (0, 2, 4, 5, 7, 9, 11)       # C major, semitones above C
TONIC_CHORD = (0, 4, 7)              # C E G
STRONG_BEATS = (0, 2, 4, 6, 8, 10, 12, 14)
NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")

GOLD_WEIGHTS = {"in_key": 1.5, "harmony": 0.7, "shape": 1.2, "resolution": 1.0, "variety": 1.0, "rests": 0.5,
                "wellformed": 2.0}
VARIETY_SCORE = {0: -1.0, 1: -1.0, 2: -0.5, 3: 0.0, 4: 0.5}  # distinct pitches -> score (5 or more: 1)
MINOR_CHORD = (9, 0, 4)              # A C E
LISTENERS = {  # name -> weights over the gold components: two documented tastes for personalised music
    "classic": GOLD_WEIGHTS,
    "adventurous": {"in_key": 1.0, "leaps": 1.2, "minor": 1.2, "variety": 1.0, "rests": 0.5, "wellformed": 2.0},
}
# Bradley-Terry noise per listener's panel: the adventurous taste spreads melodies less widely (its gold's std on
# procedural melodies is about half the classic one's), so the same noise would make its raters agree on only ~58%;
# at 0.5 two of them agree on ~68% of 1,500 procedural pairs, inside the human range (65-77%) like the classic panel.
LISTENER_TEMPERATURE = {"classic": 1.0, "adventurous": 0.5}
DOMAIN = "melody"
RATER_TEMPERATURE = 1.0  # Bradley-Terry noise of the simulated listeners: two agree on ~70% of decided pairs


# ========================================================================================== tokens
def pitch_token(midi: int) -> int:
    if not LOW <= midi <= HIGH:
        raise ValueError(f"pitch {midi} is outside the range MIDI {LOW}-{HIGH} (C4-C6)")
    return REST + 1 + midi - LOW


def to_pitches(tokens: Sequence[int]) -> list[int | None]:
    """Tokens -> MIDI pitches, None for a rest (and for any token that is not a note)."""
    return [LOW + t - REST - 1 if REST < t < VOCAB_SIZE else None for t in tokens]


def to_tokens(pitches: Sequence[int | None]) -> list[int]:
    """MIDI pitches (None = rest) -> tokens."""
    return [REST if p is None else pitch_token(int(p)) for p in pitches]


def name(midi: int | None) -> str:
    return "-" if midi is None else f"{NOTE_NAMES[midi % 12]}{midi // 12 - 1}"


def describe(tokens: Sequence[int]) -> str:
    """'C4 D4 E4 - G4 ...': a melody as note names, a dash for a rest."""
    return " ".join(name(p) for p in to_pitches(tokens))


# ====================================================================================== gold utility
def gold_components(tokens: Sequence[int]) -> dict[str, float]:
    """The named parts of a melody's appeal, each in [-1, 1]."""
    tokens = list(tokens)
    pitches = to_pitches(tokens[:LENGTH])
    notes = [p for p in pitches if p is not None]
    comp = {"wellformed": 1.0 if len(tokens) == LENGTH and all(REST <= t < VOCAB_SIZE for t in tokens) else -1.0}
    if not notes:
        return {**dict.fromkeys(("in_key", "harmony", "shape", "resolution", "variety", "rests", "leaps", "minor"), -1.0),
                "wellformed": comp["wellformed"]}
    comp["in_key"] = 2 * float(np.mean([p % 12 in SCALE for p in notes])) - 1
    strong = [pitches[i] for i in STRONG_BEATS if i < len(pitches) and pitches[i] is not None]
    comp["harmony"] = 2 * float(np.mean([p % 12 in TONIC_CHORD for p in strong])) - 1 if strong else -1.0
    steps = np.abs(np.diff(notes))
    if len(steps):
        step = np.mean((steps >= 1) & (steps <= 2)) + 0.5 * np.mean(steps == 0) + 0.5 * np.mean((steps >= 3) & (steps <= 7))
        comp["shape"] = float(np.clip(2 * step - 1 - 2 * np.mean(steps > 7), -1, 1))
    else:
        comp["shape"] = -1.0
    last = pitches[-1]
    comp["resolution"] = 1.0 if last is not None and last % 12 == 0 else (
        0.0 if last is not None and last % 12 in (4, 7) else -1.0)
    repeats = float(np.mean(steps == 0)) if len(steps) else 0.0
    comp["variety"] = float(np.clip(VARIETY_SCORE.get(len(set(notes)), 1.0) - 2 * max(0.0, repeats - 0.25), -1, 1))
    rest_share = 1 - len(notes) / max(1, len(pitches))
    comp["rests"] = float(np.clip(1 - 4 * max(0.0, rest_share - 0.25), -1, 1))
    comp["leaps"] = float(np.clip(2 * np.mean((steps >= 3) & (steps <= 9)) - 1, -1, 1)) if len(steps) else -1.0
    minor_beats = 2 * float(np.mean([p % 12 in MINOR_CHORD for p in strong])) - 1 if strong else -1.0
    minor_end = 1.0 if last is not None and last % 12 == 9 else (0.0 if last is not None and last % 12 in (0, 4) else -1.0)
    comp["minor"] = 0.5 * (minor_beats + minor_end)
    return comp


def gold_utility(tokens: Sequence[int], weights: dict[str, float] = GOLD_WEIGHTS) -> float:
    """The hidden, noise-free pleasantness of one melody (higher is better) for a listener's `weights`."""
    comp = gold_components(tokens)
    return float(sum(w * comp[c] for c, w in weights.items()))


def listener_gold(name: str):
    """The gold utility of listener `name` of `LISTENERS`, as a function of a melody's tokens."""
    if name not in LISTENERS:
        raise ValueError(f"no listener {name!r}: choose one of {', '.join(LISTENERS)}")
    return lambda tokens: gold_utility(tokens, LISTENERS[name])


# ================================================================================== procedural data
def _scale_pitches() -> np.ndarray:
    return np.array([p for p in range(LOW, HIGH + 1) if p % 12 in SCALE])


def sample_melody(rng: np.random.Generator, quality: float) -> list[int | None]:
    """A random walk over the C major scale; lower `quality` (0..1) means more leaps, out-of-key notes, rests and
    a random ending instead of the tonic."""
    scale = _scale_pitches()  # 15 pitches, C4 .. C6
    pos = int(rng.choice([0, 2, 4, 7, 9, 11]))  # start on C, E or G (scale positions)
    out: list[int | None] = []
    leap_p, chroma_p, rest_p = 0.5 * (1 - quality), 0.3 * (1 - quality), 0.05 + 0.25 * (1 - quality)
    for i in range(LENGTH):
        if i and rng.random() < leap_p:
            pos += int(rng.choice([-6, -5, -4, -3, 3, 4, 5, 6]))
        elif i:
            pos += int(rng.choice([-2, -1, 0, 1, 2], p=[0.1, 0.35, 0.1, 0.35, 0.1]))
        pos = int(np.clip(pos, 0, len(scale) - 1))
        pitch = int(scale[pos])
        if rng.random() < chroma_p:
            pitch = int(np.clip(pitch + rng.choice([-1, 1]), LOW, HIGH))
        out.append(None if rng.random() < rest_p else pitch)
    if rng.random() < quality:  # a cadence: land on the C nearest the last note
        last = next((p for p in reversed(out) if p is not None), 72)
        out[-1] = int(np.clip(round(last / 12) * 12, LOW, HIGH))
    return out


def procedural(n: int, seed: int = 0) -> tuple[list[list[int]], np.ndarray]:
    """`n` melodies of mixed quality as token lists, and the quality (0..1) each was drawn with."""
    rng = np.random.default_rng(seed)
    quality = rng.beta(1.2, 1.2, size=n)
    return [to_tokens(sample_melody(rng, float(q))) for q in quality], quality


# ==================================================================================== seeing, hearing
def piano_roll(ax, tokens: Sequence[int], title: str = "", color: str = "tab:blue") -> None:
    """Draw one melody on a matplotlib axis: time (notes) across, pitch up; out-of-key notes in red, the C lines
    dotted."""
    pitches = to_pitches(list(tokens)[:LENGTH])
    for i, p in enumerate(pitches):
        if p is not None:
            ax.barh(p, 0.9, left=i, height=0.8, color=color if p % 12 in SCALE else "tab:red")
    for c in range(LOW, HIGH + 1, 12):
        ax.axhline(c, color="gray", lw=0.5, ls=":")
    ax.set(xlim=(0, LENGTH), ylim=(LOW - 1, HIGH + 1), yticks=list(range(LOW, HIGH + 1, 12)),
           yticklabels=[name(c) for c in range(LOW, HIGH + 1, 12)], xticks=[0, 4, 8, 12, 16])
    if title:
        ax.set_title(title, fontsize=9)


def synth(tokens: Sequence[int], sr: int = 16_000, note_s: float = 0.25) -> np.ndarray:
    """A melody as audio: each note a sine plus a quieter octave, with a quick attack and an exponential decay.

    Returns float32 samples in [-1, 1] of length len(tokens) * note_s * sr (a rest is silence).
    """
    n = int(sr * note_s)
    t = np.arange(n) / sr
    envelope = np.minimum(1, t / 0.01) * np.exp(-t / (0.4 * note_s))  # 10 ms attack, then decay
    chunks = []
    for p in to_pitches(list(tokens)):
        if p is None:
            chunks.append(np.zeros(n))
            continue
        f = 440.0 * 2 ** ((p - 69) / 12)
        chunks.append(envelope * (np.sin(2 * np.pi * f * t) + 0.3 * np.sin(4 * np.pi * f * t)) / 1.3)
    audio = np.concatenate(chunks) if chunks else np.zeros(0)
    return (0.8 * audio).astype(np.float32)


def synth_many(seqs: Sequence[Sequence[int]], sr: int = 16_000, gap_s: float = 0.5) -> np.ndarray:
    """Several melodies one after the other, with `gap_s` seconds of silence between them."""
    gap = np.zeros(int(sr * gap_s), dtype=np.float32)
    parts = []
    for s in seqs:
        parts += [synth(s, sr), gap]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
