"""`apps.speech`: espeak-ng's audio and its duration; a clear error naming the fix where espeak-ng is missing."""

import pytest

from rlhf_lib.apps import speech


@pytest.mark.skipif(not speech.available(), reason="espeak-ng is not installed (.ci/run installs it)")
def test_speech_is_a_wav_whose_duration_grows_with_what_is_said():
    wav, short = speech.speak("Okay.")
    assert wav[:4] == b"RIFF" and 0.2 < short < 3
    _, long = speech.speak("Your timer is set for ten minutes. I will tell you when it is done.")
    assert long > 2 * short
    _, digits = speech.speak("1,609.34")  # one word, many syllables: seconds are not words
    assert digits > 1.5 * short
    _, dash = speech.speak("-v is not an option here")  # stdin, not argv: a leading dash is just text
    assert dash > short


def test_missing_engine_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(speech, "ENGINE", "espeak-ng-not-installed")
    assert not speech.available()
    with pytest.raises(RuntimeError, match="apt-get install espeak-ng"):
        speech.speak("hello")
