"""`apps.speech`: espeak-ng's audio and its duration; a clear error naming the fix where espeak-ng is missing."""

import pytest

from rlhf_lib.apps import speech

NO_ESPEAK = "espeak-ng is not installed: `apt-get install espeak-ng` (Debian/Ubuntu) or `brew install espeak-ng` (macOS)"


@pytest.mark.skipif(not speech.available(), reason=NO_ESPEAK)
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


def test_seconds_fall_back_to_the_estimate_without_espeak(monkeypatch):
    monkeypatch.setattr(speech, "ENGINE", "espeak-ng-not-installed")
    speech.seconds.cache_clear()
    try:
        assert speech.seconds("") == speech.seconds("   ") == 0.0
        text = "Your timer is set for ten minutes."
        assert speech.seconds(text) == speech.estimate_seconds(text) > 0
        assert "estimate" in speech.source() and "apt-get install espeak-ng" in speech.source()
        # a number read out digit by digit takes longer than its one word suggests
        assert speech.estimate_seconds("It is 1,609.34 meters.") > speech.estimate_seconds("It is far.") + 1
    finally:
        speech.seconds.cache_clear()


def test_fit_estimate_recovers_known_coefficients():
    texts = ["Okay.", "Set a timer, please.", "It is 42 degrees.", "One mile is 1,609 meters; a kilometre is 1,000.",
             "Boil the water, add the pasta, and stir it now and then.", "Good morning! How are you today?"]
    true = {"intercept": 0.3, "syllable": 0.21, "digit": 0.35, "pause": 0.18}
    measured = [speech.estimate_seconds(t, true) for t in texts]
    coef, error = speech.fit_estimate(texts, measured)
    assert error < 1e-3 and all(abs(coef[k] - v) < 1e-3 for k, v in true.items())


@pytest.mark.skipif(not speech.available(), reason=NO_ESPEAK)
def test_the_shipped_estimate_is_what_a_fit_on_espeak_gives():
    """`speech.ESTIMATE` (the fallback without espeak-ng) refitted on a sample of the shipped voice answers."""
    import json

    from rlhf_lib.apps import voice

    rows = [json.loads(line) for line in voice.RESPONSES.read_text().splitlines() if line.strip()]
    texts = [r["text"] for r in rows if r["text"].strip()][::6][:60]
    measured = [speech.speak(t)[1] for t in texts]
    coef, _ = speech.fit_estimate(texts, measured)
    estimate = [speech.estimate_seconds(t) for t in texts]
    mean_abs = sum(abs(a - b) for a, b in zip(estimate, measured, strict=True)) / len(texts)
    assert mean_abs < 0.15 * sum(measured) / len(texts), (coef, mean_abs)  # within 15% of a typical answer
