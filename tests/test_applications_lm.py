"""Chapter 5, language applications: the voice gold utility, the voice prompt file, the shared RLHF pipeline."""

import json

import numpy as np
import pytest
import torch

from rlhf_lib import data, models, ppo, reward
from rlhf_lib.apps import language, voice
from rlhf_lib.pairs import PairSplit, PairTable

TIMER = {"id": "t", "category": "timer", "prompt": "Set a timer for 10 minutes.",
         "answers": ["10 minutes", "ten minutes", "10-minute"], "wrong": ["5 minutes"], "keywords": ["timer"]}
FACT = {"id": "f", "category": "fact", "prompt": "How many legs does a spider have?", "answers": ["8", "eight"],
        "wrong": ["6", "six"]}
CONV = {"id": "c", "category": "conversion", "prompt": "How many minutes are in 3 hours?", "answers": ["180"],
        "wrong": ["120"]}
HOWTO = {"id": "h", "category": "howto", "prompt": "How do I boil an egg?", "keywords": ["water", "boil", "minutes"]}
CHAT = {"id": "s", "category": "smalltalk", "prompt": "I just got a new puppy!",
        "keywords": ["congratulations", "puppy", "name"]}
U = voice.gold_utility


# ============================================================================================ utility
def test_correct_short_spoken_answer_beats_wrong_empty_and_curt():
    good = U(FACT, "Spiders have eight legs.", True)
    assert good > U(FACT, "Spiders have six legs.", True)
    assert good > U(FACT, "Okay.", True)
    assert good > U(FACT, "", True)
    assert U(CONV, "There are 180 minutes in 3 hours.", True) > U(CONV, "There are 120 minutes in 3 hours.", True)


def test_markdown_urls_emoji_and_code_are_penalised():
    plain = "Spiders have eight legs, like all arachnids."
    for written in ("**Spiders** have eight legs, like all arachnids.",
                    "# Spiders\nSpiders have eight legs, like all arachnids.",
                    "- Spiders have eight legs\n- like all arachnids.",
                    "1. Spiders have eight legs\n2. like all arachnids.",
                    "| animal | legs |\n| spider | 8 |",
                    "Spiders have eight legs, see https://en.wikipedia.org/wiki/Spider for more.",
                    "Spiders have eight legs \U0001F577\ufe0f, like all arachnids.",
                    "Spiders have eight legs: `legs = 8`."):
        assert voice.gold_components(FACT, written, True)["spoken"] < 0, written
        assert U(FACT, written, True) < U(FACT, plain, True), written
    assert voice.unspeakable(plain) == []
    assert "a URL" in voice.unspeakable("Go to www.example.com now.")


@pytest.fixture(params=["espeak-ng", "estimate"])
def listening_clock(request, monkeypatch):
    """The length rule's clock: espeak-ng's audio (where installed), and the estimate a machine without it uses."""
    from rlhf_lib.apps import speech

    if request.param == "espeak-ng" and not speech.available():
        pytest.skip("espeak-ng is not installed: `apt-get install espeak-ng` (Debian/Ubuntu) or `brew install espeak-ng`")
    if request.param == "estimate":
        monkeypatch.setattr(speech, "ENGINE", "espeak-ng-not-installed")
    speech.seconds.cache_clear()
    yield request.param
    speech.seconds.cache_clear()


def test_length_suited_to_speech(listening_clock):
    """The same rules hold on either clock: a curt "Ok." to a timer is too short, a one-breath how-to is right."""
    short = "Boil water, lower the egg in, and cook it for nine minutes."
    long = " ".join([short] * 8)
    assert voice.gold_components(HOWTO, short, True)["length"] == 0
    assert voice.gold_components(HOWTO, long, True)["length"] < 0
    assert U(HOWTO, short, True) > U(HOWTO, long, True)
    assert voice.gold_components(TIMER, "Ok.", True)["length"] < 0


def test_length_is_judged_by_the_seconds_it_takes_to_hear(monkeypatch):
    """The length component reads `speech.seconds` (espeak-ng's audio, or the estimate), not the word count."""
    heard = {}
    monkeypatch.setattr(voice.speech, "seconds", lambda text: heard.setdefault(text, 30.0))
    few_words = "It is 1,609.34 meters."  # four words, and (here) half a minute to hear
    assert voice.gold_components(CONV, few_words, True)["length"] < 0 and few_words in heard
    monkeypatch.setattr(voice.speech, "seconds", lambda text: 4.0)
    assert voice.gold_components(CONV, few_words, True)["length"] == 0


def test_tone_friendly_and_direct():
    warm = "Congratulations on your new puppy! What will you name it?"
    cold = "As an AI language model, I do not have feelings about your puppy."
    assert U(CHAT, warm, True) > U(CHAT, cold, True)
    assert voice.gold_components(TIMER, "I'm sorry, but I can't help with that.", True)["tone"] < 0
    assert voice.gold_components(FACT, "Certainly! Here is the answer: eight.", True)["tone"] < 0


def test_a_timer_confirms_the_right_time_and_cut_answers_lose():
    assert U(TIMER, "Okay, a 10-minute timer is running.", True) > U(TIMER, "Okay, a 5 minutes timer is running.", True)
    assert U(TIMER, "Okay, a 10-minute timer is", False) < U(TIMER, "Okay, a 10-minute timer is running.", True)


def test_unknown_category_is_an_error():
    with pytest.raises(ValueError, match="not a voice category"):
        voice.gold_utility({"id": "x", "category": "factual", "prompt": "?"}, "hi")


# ========================================================================================== prompt file
def test_shipped_voice_prompts_are_valid_and_split():
    prompts = voice.load_prompts()
    assert 60 <= len(prompts) <= 100
    assert {p["category"] for p in prompts} == set(voice.VOICE_CATEGORIES)
    for split in data.SPLITS:
        assert {p["category"] for p in voice.load_prompts(split)} == set(voice.VOICE_CATEGORIES), split
    assert len({p["id"] for p in prompts}) == len(prompts)


GOOD = {"id": "v1", "category": "fact", "prompt": "Who wrote Hamlet?", "answers": ["Shakespeare"], "split": "train"}


@pytest.mark.parametrize(("line", "field"), [
    ("{not json", "malformed JSON"),
    ('["a list"]', "expected a JSON object"),
    (json.dumps({**GOOD, "prompt": "  "}), "field 'prompt'"),
    (json.dumps({k: v for k, v in GOOD.items() if k != "split"}), "field 'split'"),
    (json.dumps({**GOOD, "category": "factual"}), "field 'category'"),
    (json.dumps({**GOOD, "split": "dev"}), "field 'split'"),
    (json.dumps({**GOOD, "id": "v0"}), "field 'id'"),  # duplicate of line 1
    (json.dumps({**GOOD, "answers": "Shakespeare"}), "field 'answers'"),
    (json.dumps({**GOOD, "keywords": ["ok", ""]}), "field 'keywords'"),
    (json.dumps({k: v for k, v in GOOD.items() if k != "answers"}), "field 'answers'"),
    (json.dumps({**GOOD, "category": "smalltalk", "answers": []}), "'answers' and 'keywords'"),
])
def test_bad_prompt_lines_name_file_line_and_field(tmp_path, line, field):
    path = tmp_path / "voice.jsonl"
    path.write_text(json.dumps({**GOOD, "id": "v0"}) + "\n" + line + "\n")
    with pytest.raises(voice.VoicePromptError) as err:
        voice.load_prompts(path=path)
    assert f"{path}:2" in str(err.value) and field in str(err.value)


def test_missing_file_and_bad_split_name(tmp_path):
    with pytest.raises(voice.VoicePromptError, match="no such file"):
        voice.load_prompts(path=tmp_path / "nope.jsonl")
    with pytest.raises(ValueError, match="split"):
        voice.load_prompts("dev")


# ======================================================================================== annotation
@pytest.mark.skipif(not voice.RESPONSES.is_file(), reason="data/voice_responses.jsonl not built yet")
def test_voice_panel_agrees_like_people_on_the_shipped_answers():
    prompts = voice.load_prompts()
    by_id = {}
    for line in voice.RESPONSES.read_text().splitlines():
        rec = json.loads(line)
        by_id.setdefault(rec["prompt_id"], []).append(rec)
    assert set(by_id) == {p["id"] for p in prompts}
    pairs = voice.annotate_pairs(prompts, by_id, voice.make_panel(5, seed=0), seed=0)
    stats = data.agreement_stats(pairs)
    assert 0.65 <= stats["pairwise_agreement"] <= 0.77, stats
    # the label log carries the voice gold utility, not chapter 1's
    p = pairs[0]
    rec = next(q for q in prompts if q["id"] == p["prompt_id"])
    text = {r["response_id"]: r for r in by_id[p["prompt_id"]]}[p["a"]]
    assert p["gold_a"] == pytest.approx(voice.gold_utility(rec, text["text"], text["finished"]))


def test_panel_uses_the_weights_it_is_given():
    panel = voice.make_panel(3, seed=1)
    assert set(panel[0].weights) == set(voice.VOICE_CATEGORIES)
    assert panel[0].weights["fact"]["correct"] != panel[1].weights["fact"]["correct"]  # people differ
    assert set(data.annotate.make_panel(2)[0].weights) == set(data.annotate.WEIGHTS)  # the default is untouched


# ========================================================================================== pipeline
def _split(n=6):
    return PairSplit(torch.arange(n), torch.arange(n) + n, torch.full((n,), 0.7), torch.ones(n), torch.zeros(n),
                     rows=torch.arange(n), group=torch.arange(n) // 2, target=torch.linspace(0.5, 1, n),
                     weight=torch.full((n,), 5.0))


def test_restrict_pairs_keeps_every_field_aligned():
    s = _split()
    keep = [True, False, True, False, False, True]
    r = language.restrict_pairs(s, keep)
    assert r.chosen.tolist() == [0, 2, 5] and r.rows.tolist() == [0, 2, 5] and r.group.tolist() == [0, 1, 2]
    assert torch.allclose(r.target, s.target[[0, 2, 5]])
    with pytest.raises(ValueError, match="3 flags"):
        language.restrict_pairs(s, keep[:3])


def test_votes_and_preference_dataset_from_panel_pairs():
    prompts = [{**FACT, "split": "train"}, {**CONV, "id": "c2", "split": "val"}, {**CONV, "split": "test"}]
    texts = {"f": ["Eight legs.", "Six legs.", "Spiders have 8 legs."],
             "c2": ["180 minutes.", "120 minutes."], "c": ["It is 180.", "It is 120."]}
    responses = {pid: [{"prompt_id": pid, "response_id": f"{pid}/{i}", "text": t, "finished": True}
                       for i, t in enumerate(ts)] for pid, ts in texts.items()}
    prompts_by_id = {p["id"]: p for p in prompts}
    pairs = voice.annotate_pairs(list(prompts_by_id.values()), responses, voice.make_panel(5), seed=0)
    assert len(pairs) == 3 + 1 + 1
    votes = data.panel_vote_rows(pairs, data.response_texts(responses))
    assert all(v["votes_a"] + v["votes_b"] <= 5 for v in votes)
    assert {v["a"] for v in votes} <= {t for ts in texts.values() for t in ts}
    rows = data.to_preference_rows(prompts, responses, pairs)
    per_split = {s: sum(r["split"] == s for r in rows) for s in ("train", "val", "test")}
    assert all(per_split.values()), per_split  # the prompts above are in all three splits
    ds = language.preference_dataset(rows)
    assert {s: len(ds[s]) for s in ds} == per_split and "split" not in ds["train"].column_names
    assert {(r["prompt"], r["chosen"], r["rejected"]) for r in ds["val"]} == {
        (r["prompt"], r["chosen"], r["rejected"]) for r in rows if r["split"] == "val"}
    with pytest.raises(ValueError, match="no preference pairs in split 'test'"):
        language.preference_dataset([r for r in rows if r["split"] != "test"])


def test_feature_rm_scores_new_text_with_the_cached_features(tiny):
    model, tok = tiny
    head = reward.FeedForwardRM(2 * model.config.hidden_size, hidden=8)
    rm = language.FeatureRM(model, tok, head, layer=2, max_length=64)
    prompts, responses = ["Who wrote Hamlet?", "Hi!"], ["Shakespeare.", "Hello there, how can I help?"]
    got = rm.score(prompts, responses)
    table = PairTable(prompts, responses, models.encode(tok, prompts, responses, 64))
    from rlhf_lib import features

    x = features.extract(model, tok, table, top_k=1, cache=False, progress=False).features(2, "both")
    assert np.allclose(got, head(x).tolist(), atol=1e-5)
    assert rm.score([], []) == []
    fn = language.reward_fn(rm, tok, mean=got[0], std=2.0)
    ids = [tok(r, add_special_tokens=False)["input_ids"] for r in responses]
    assert np.allclose(fn([{"prompt": p} for p in prompts], ids), [0.0, (got[1] - got[0]) / 2], atol=1e-4)


def test_train_feature_rm_learns_a_planted_preference():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(200, 16, generator=g)
    u = x[:, 0]  # the hidden utility: feature 0
    a, b = torch.arange(0, 200, 2), torch.arange(1, 200, 2)
    c, r = torch.where(u[a] > u[b], a, b), torch.where(u[a] > u[b], b, a)
    split = PairSplit(c, r, torch.ones(100), u[c], u[r], group=torch.arange(100))
    train, val = language.restrict_pairs(split, [i < 70 for i in range(100)]), language.restrict_pairs(split, [i >= 70 for i in range(100)])
    head, results = language.train_feature_rm(x, train, val, hidden=16, lr=1e-2, epochs=30, batch_size=16, seeds=2,
                                          progress=False)
    assert len(results) == 2 and isinstance(head, reward.EnsembleRM)
    m = language.rm_metrics(head, x, val)
    assert m["accuracy"] > 0.85 and m["gold_agreement"] > 0.85 and m["pairs"] == 30


def test_judge_samples_an_application_with_its_own_gold_and_reads_them(tiny):
    """5.1 and 5.4 judge with `rlhf_lib.judge` and their own gold; apps only reads the samples (tables, plot)."""
    from rlhf_lib import judge, models

    model, tok = models.load_tiny_model(seed=1, tokenizer=tiny[1])  # its own copy: LoRA changes a model in place
    policy = models.with_lora(model, r=2, top_layers=1)
    ac = ppo.ActorCritic(policy, frozen_bottom=1)
    cfg = ppo.PPOConfig(max_new_tokens=6, autocast=False)
    recs = [{**r, "task": "QA" if r["category"] in ("fact", "conversion") else "other"} for r in (FACT, CONV, TIMER)]
    kw = dict(n_samples=2, gold=voice.gold_utility, score=lambda ps, ts: [float(len(t)) for t in ts])
    base = judge.sample(ac, recs, cfg, tok, reference=True, **kw)
    tuned = judge.sample(ac, recs, cfg, tok, **kw)
    # LoRA starts as the identity: the tuned policy IS the base, the same seeds give the same answers
    assert tuned["texts"] == base["texts"] and len(tuned["records"]) == 6
    assert tuned["gold"] == [voice.gold_utility(r, t, f) for r, t, f in
                             zip(tuned["records"], tuned["texts"], tuned["finished"], strict=True)]
    by_task = judge.versus(tuned, base, n_boot=50, key="task")
    assert by_task["win"]["value"] == 0.5 and set(by_task["per_category"]) == {"QA", "other"}
    assert by_task["per_category"]["QA"]["n"] == 4
    table = language.samples_table({"reference": base, "PPO policy": tuned}, n=3)
    assert list(table.columns) == ["category", "prompt", "reference", "gold reference", "PPO policy",
                                   "gold PPO policy"] and len(table) == 3
    comp = language.component_means({"reference": base, "PPO policy": tuned}, voice.gold_components, lambda r: r["task"])
    assert set(comp.index) == {(g, m) for g in ("QA", "other") for m in ("reference", "PPO policy")}
    assert {"correct", "spoken", "words"} <= set(comp.columns)


def test_versus_groups_by_any_record_field():
    from rlhf_lib import judge

    recs = [{"id": f"p{i}", "category": c, "task": t, "prompt": "?"}
            for i, (c, t) in enumerate([("fact", "QA"), ("conversion", "QA"), ("howto", "other")] * 4)]
    a = {"records": recs, "gold": [1.0, 0.0, 1.0] * 4, "finished": [True] * 12, "kl": [0.0] * 12, "rm": None,
         "texts": ["a"] * 12}
    b = {**a, "gold": [0.5] * 12}
    by_cat, by_task = judge.versus(a, b, n_boot=50), judge.versus(a, b, n_boot=50, key="task")
    assert set(by_cat["per_category"]) == {"fact", "conversion", "howto"}  # the default: unchanged
    assert by_task["per_category"]["QA"]["value"] == 0.5 and by_task["per_category"]["QA"]["n"] == 8
    assert by_task["per_category"]["other"] == {"n": 4, "value": 1.0, "lo": 1.0, "hi": 1.0}
    assert by_task["win"] == by_cat["win"]  # the overall rate does not depend on the grouping


def test_plot_win_rates_draws_ci_error_bars_and_survives_missing_ones():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    nan = {"value": float("nan"), "lo": float("nan"), "hi": float("nan"), "n": 0}
    fig = language.plot_win_rates({
        "controls": {"all pairs": {"(a) reference": {"value": 0.7, "lo": 0.6, "hi": 0.8, "n": 40},
                                   "(c) brevity baseline": {"value": 0.5, "lo": 0.52, "hi": 0.6, "n": 40}},
                     "both finished": {"(a) reference": nan, "(c) brevity baseline": {"value": 0.4, "lo": 0.3,
                                                                                      "hi": 0.5, "n": 9}}},
        "per category": {"vs reference": {"fact": {"value": 1.0, "lo": 1.0, "hi": 1.0, "n": 2}}},
    }, "title")
    left, right = fig.axes
    assert len(left.patches) == 4 and len(right.patches) == 1  # grouped bars: 2 series x 2 labels
    assert [t.get_text() for t in left.get_xticklabels()][0].endswith("(n=40)")
    assert any(t.get_text() == "n/a" for t in left.texts)  # the win rate without pairs is marked, not drawn
    plt.close(fig)
