"""Speech for chapter 5.4: an answer read aloud by espeak-ng (offline, no downloads), and how long it takes to hear.

A voice answer costs the listener time, not words: a number with decimals is one word and many syllables
("one thousand six hundred nine point three four"). `speak` returns the WAV bytes (for `IPython.display.Audio`)
and their duration in seconds. Without espeak-ng (Debian/Ubuntu: `apt-get install espeak-ng`; macOS:
`brew install espeak-ng`) `available()` is False and the notebook says so instead of playing anything.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import wave

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
