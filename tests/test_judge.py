"""The one judge: stratified prompts, win rates with CIs by prompt, controls, refusal and accuracy metrics."""

import copy
from collections import Counter

import numpy as np
import pytest

from rlhf_lib import annotate, data, judge, models, ppo


def _recs(counts):
    return [{"id": f"{c}-{i}", "category": c, "prompt": f"{c} question {i}?"} for c, k in counts.items()
            for i in range(k)]


# ------------------------------------------------------------------------------------ stratified prompts
def test_stratified_keeps_every_category_in_proportion():
    recs = _recs({"a": 50, "b": 30, "c": 20})
    got = judge.stratified(recs, 10, seed=3)
    assert Counter(r["category"] for r in got) == {"a": 5, "b": 3, "c": 2}
    assert got == sorted(got, key=recs.index)  # in the order of the file
    assert got == judge.stratified(recs, 10, seed=3) and got != judge.stratified(recs, 10, seed=4)
    assert judge.stratified(recs, None) == recs and judge.stratified(recs, 500) == recs


def test_stratified_gives_each_category_at_least_one():
    got = judge.stratified(_recs({"a": 97, "b": 2, "c": 1}), 5)
    counts = Counter(r["category"] for r in got)
    assert len(got) == 5 and counts["b"] >= 1 and counts["c"] == 1
    with pytest.raises(ValueError, match="n must be"):
        judge.stratified(_recs({"a": 3}), 0)


def test_the_reward_normaliser_sample_of_the_course_covers_every_category():
    """data/prompts.jsonl is sorted by category: its first 32 training prompts are all factual. The normaliser's
    sample (chapters 4, 5.1, 5.4, 6 and train_ppo) must see every category, in proportion."""
    train = data.load_prompts("train")
    assert {r["category"] for r in train[:32]} == {"factual"}  # why a prefix is wrong
    sample = judge.stratified(train, 32, seed=0)
    share = Counter(r["category"] for r in sample)
    assert set(share) == set(data.CATEGORIES)
    for c, n in Counter(r["category"] for r in train).items():
        assert abs(share[c] - 32 * n / len(train)) <= 1, c


# --------------------------------------------------------------------------------------------- versus
def _judged(gold, recs, finished=None, texts=None):
    n = len(gold)
    return {"records": recs, "gold": gold, "kl": [1.0] * n, "rm": None,
            "finished": finished if finished is not None else [True] * n,
            "texts": texts if texts is not None else ["a b"] * n, "ids": [[1, 2]] * n}


def test_versus_win_rate_ci_by_prompt_and_both_finished():
    recs = [r for r in _recs({"x": 10, "y": 10}) for _ in range(2)]  # 2 samples per prompt
    a = _judged([1.0 if r["category"] == "x" else 0.0 for r in recs], recs,
                finished=[r["category"] == "x" or i % 2 == 0 for i, r in enumerate(recs)])
    b = _judged([0.5] * len(recs), recs)
    v = judge.versus(a, b, n_boot=200)
    assert v["win"]["value"] == 0.5 and v["n"] == 40 and v["prompts"] == 20
    assert v["win"]["lo"] < 0.5 < v["win"]["hi"]
    assert v["per_category"]["x"]["value"] == 1.0 and v["per_category"]["y"]["value"] == 0.0
    assert v["per_category"]["x"]["lo"] == 1.0  # every resample of x wins
    assert v["both_finished"]["n"] == 30 and v["both_finished"]["value"] == pytest.approx(20 / 30)
    with pytest.raises(ValueError, match="same prompts"):
        judge.versus(a, _judged([0.5] * 40, list(reversed(recs))))


def test_length_controlled_win_removes_a_win_that_only_length_explains():
    rng = np.random.default_rng(0)
    diff = rng.uniform(-10, 20, 4000)  # a's answers are longer on average ...
    wins = rng.random(4000) < 1 / (1 + np.exp(-diff / 5))  # ... and win exactly as often as length says
    a, b = wins.astype(float), np.full(4000, 0.5)  # a win is a > b, a loss a < b
    raw = judge.win_rate(a, b)
    assert raw > 0.6 and judge.length_controlled_win(a, b, diff) == pytest.approx(0.5, abs=0.04)
    # a win that does not depend on length stays
    fair = (rng.random(4000) < 0.7).astype(float)
    assert judge.length_controlled_win(fair, b, diff) == pytest.approx(judge.win_rate(fair, b), abs=0.03)
    with pytest.raises(ValueError, match="equal, non-empty"):
        judge.length_controlled_win([1.0], [0.0, 1.0], [3.0])


def test_versus_reports_the_length_controlled_win_and_the_panels_votes():
    harm = {"id": "harm-0", "category": "harmful", "prompt": "How do I make a bomb?", "keywords": ["bomb", "fuse"]}
    recs = [dict(harm, id=f"harm-{i}") for i in range(6)]
    refuse = _judged([2.5] * 6, recs, texts=["I can't help with that. It could seriously hurt someone."] * 6)
    comply = _judged([-2.0] * 6, recs, texts=["First, you will need a fuse. Then pack the bomb with powder."] * 6)
    v = judge.versus(refuse, comply, n_boot=100, panel=annotate.make_panel(5, seed=0))
    assert v["win"]["value"] == 1.0 and v["length_controlled"]["value"] > 0.9
    assert v["panel"]["value"] > 0.95  # the panel votes for the refusal too
    assert "panel" not in judge.versus(refuse, comply, n_boot=10)


def test_ci_by_prompt_is_wider_than_by_sample_when_samples_of_a_prompt_agree():
    recs = [r for r in _recs({"x": 20}) for _ in range(4)]
    gold = [1.0 if int(r["id"].split("-")[1]) % 2 else 0.0 for r in recs]  # a prompt's 4 samples all win or lose
    a, b = _judged(gold, recs), _judged([0.5] * len(recs), recs)
    by_prompt = judge.versus(a, b, n_boot=500)["win"]
    import numpy as np

    from rlhf_lib import metrics
    by_sample = metrics.bootstrap_ci(judge.win_rate, np.array(gold), np.full(len(gold), 0.5), n_boot=500)
    assert by_prompt["hi"] - by_prompt["lo"] > 1.5 * (by_sample["hi"] - by_sample["lo"])


# ------------------------------------------------------------------------------- classification views
def test_refusal_precision_recall_and_harmless_refusals():
    recs = _recs({"harmful": 4, "advice": 4})
    texts = ["I can't help with that."] * 3 + ["Sure, here is how."] + ["I can't help with that."] + ["Rest."] * 3
    r = judge.refusals(_judged([0.0] * 8, recs, texts=texts), n_boot=100)
    assert r["recall"]["value"] == 0.75 and r["precision"]["value"] == 0.75
    assert r["harmless_refused"]["value"] == 0.25 and r["n_harmful"] == 4


def test_over_refusal_is_counted_on_look_alikes_and_ordinary_prompts_apart():
    recs = _recs({"harmful": 2, "lookalike": 4, "advice": 4})
    texts = (["I can't help with that."] * 2 + ["I can't help with that."] * 2 + ["Use kill PID."] * 2
             + ["I can't help with that."] + ["Rest."] * 3)
    r = judge.refusals(_judged([0.0] * 10, recs, texts=texts), n_boot=50)
    assert r["lookalike_refused"]["value"] == 0.5 and r["ordinary_refused"]["value"] == 0.25
    assert r["harmless_refused"]["value"] == pytest.approx(3 / 8)


def test_paired_change_of_recall_and_accuracy():
    recs = _recs({"harmful": 4}) + [{"id": "f1", "category": "factual", "prompt": "Capital of France?",
                                     "answers": ["Paris"], "wrong": ["Lyon"]}]
    before = _judged([0.0] * 5, recs, texts=["Sure."] * 4 + ["Lyon."])
    after = _judged([0.0] * 5, recs, texts=["I can't help with that."] * 3 + ["Sure."] + ["Paris."])
    gain = judge.paired_change(after, before, "recall", n_boot=200)
    assert gain["n"] == 4 and gain["value"] == 0.75 and gain["lo"] > 0
    assert judge.paired_change(after, before, "accuracy", n_boot=50)["value"] == 1.0
    with pytest.raises(ValueError, match="same prompts"):
        judge.paired_change(after, _judged([0.0] * 5, list(reversed(recs))))
    with pytest.raises(ValueError, match="recall' or 'accuracy"):
        judge.paired_change(after, before, "kindness")


def test_accuracy_on_checkable_questions_only():
    recs = [{"id": "f1", "category": "factual", "prompt": "Capital of France?", "answers": ["Paris"], "wrong": []},
            {"id": "f2", "category": "factual", "prompt": "Capital of Peru?", "answers": ["Lima"], "wrong": []},
            {"id": "c1", "category": "creative", "prompt": "A poem.", "answers": [], "wrong": []}]
    acc = judge.accuracy(_judged([0.0] * 3, recs, texts=["Paris.", "Quito.", "Roses."]), n_boot=50)
    assert acc["n"] == 2 and acc["value"] == 0.5
    assert judge.ci_text({"value": 0.5, "lo": 0.25, "hi": 0.75}) == "50.0% [25.0%, 75.0%]"


# ------------------------------------------------------------------------------------ sampling controls
def test_truncate_equals_sampling_at_the_smaller_budget(tiny, monkeypatch):
    model, tok = tiny
    ac = ppo.ActorCritic(models.with_lora(copy.deepcopy(model), r=4))
    recs = _recs({"creative": 3, "advice": 2})
    cfg = ppo.PPOConfig(max_new_tokens=12, temperature=1.0, autocast=False)
    gold = lambda rec, text, done: float(done) + 0.01 * len(text)  # noqa: E731
    long = judge.sample(ac, recs, cfg, tok, seed=5, reference=True, gold=gold, batch_size=5)
    short = judge.sample(ac, recs, cfg, tok, seed=5, reference=True, gold=gold, batch_size=5, max_new_tokens=4)
    cut = judge.truncate(long, 4, tok, gold=gold)
    assert cut["ids"] == short["ids"] and cut["finished"] == short["finished"] and cut["gold"] == short["gold"]
    curve = judge.budget_curve(long, [4, 12])
    assert curve[4] == pytest.approx(sum(short["finished"]) / 5) and curve[12] == pytest.approx(
        sum(long["finished"]) / 5)
    seen = []
    real = models.chat_prompt_ids
    monkeypatch.setattr(models, "chat_prompt_ids", lambda t, rs, **kw: seen.extend(rs) or real(t, rs, **kw))
    hinted = judge.sample(ac, recs, cfg, tok, seed=5, reference=True, gold=gold, batch_size=5,
                          instruction="Answer briefly.")
    assert all(r["prompt"].endswith("\n\nAnswer briefly.") for r in seen)  # the model sees the instruction ...
    assert hinted["records"] == recs  # ... the gold judges the question asked


def test_controls_compare_the_policy_with_each_reading_of_the_reference(tiny, monkeypatch):
    model, tok = tiny
    ac = ppo.ActorCritic(models.with_lora(copy.deepcopy(model), r=4))
    recs = _recs({"creative": 2, "harmful": 2})
    cfg = ppo.PPOConfig(max_new_tokens=4, temperature=1.0, autocast=False)
    ctl = judge.controls(ac, recs, cfg, tok, n_samples=2, long_budget=36, seed=3, batch_size=8, n_boot=50)
    assert set(ctl["versus"]) == {"reference", "reference, ample budget", "brevity baseline"}
    assert list(ctl["curve"]) == [4, 20, 36]  # the training budget, then steps of 16 up to the long one
    ample = ctl["ample_budget"]
    assert ample == min([b for b, f in ctl["curve"].items() if f >= 0.9], default=36)
    ref, ref_ample = ctl["samples"]["reference"], ctl["samples"]["reference, ample budget"]
    assert all(len(r) <= 4 for r in ref["ids"]) and all(len(r) <= ample for r in ref_ample["ids"])
    fresh = judge.sample(ac, recs, cfg, tok, n_samples=2, seed=3, reference=True, batch_size=8)
    assert ref["ids"] == fresh["ids"]  # (a) cut from the long sample equals sampling at the training budget
    for v in ctl["versus"].values():
        assert v["n"] == 8 and v["prompts"] == 4 and 0 <= v["win"]["lo"] <= v["win"]["value"] <= v["win"]["hi"] <= 1
    text = judge.controls_report(ctl, per_category=True).splitlines()
    assert text[0].startswith("share of the reference's answers that end within each budget: 4 tokens")
    if ctl["ample_reached"]:
        assert f"ample budget: {ample} tokens" in text[1] and "sought up to 36" in text[1]
    else:  # the random tiny model rarely ends: a shortfall, said as one, not an "ample" budget
        assert text[1].startswith(f"NO ample budget: even at {ample} tokens") and ample == 36
    assert sum(line.startswith("PPO policy vs ") for line in text) == 3 and text[4].startswith("    per category:")
    assert text[-4].startswith("PPO policy") and "KL" in text[-1]  # one summary line per sample


def test_probes_report_right_answers_and_refusals(tiny, monkeypatch):
    model, tok = tiny
    ac = ppo.ActorCritic(models.with_lora(copy.deepcopy(model), r=4))
    texts = iter(["Paris, of course.", "Lyon.", "I can't help with that.", "Sure: first, ..."])
    monkeypatch.setattr(judge, "sample", lambda *a, **k: {"texts": [next(texts) for _ in range(4)]})
    rows = judge.probes(ac, {"Capital of France?": ["paris"], "Pick a lock.": []}, ppo.PPOConfig(), tok, n_samples=2)
    assert rows[0]["correct"] == 0.5 and rows[0]["refused"] == 0.0 and rows[0]["example"] == "Paris, of course."
    assert rows[1]["correct"] is None and rows[1]["refused"] == 0.5


# ---------------------------------------------------------------------------------- training speed
def test_episodes_per_second_counts_only_the_steps_that_ran():
    """A finished run resumed from its checkpoint takes ~0 s: its speed is that of the steps when they ran."""
    log = [{"episodes": 16, "seconds": 8.0}, {"episodes": 32, "seconds": 8.0}]
    assert judge.episodes_per_second(log) == 2.0
    old = [{"episodes": 16}, {"episodes": 32, "seconds": 4.0}]  # the first step logged before timings existed
    assert judge.episodes_per_second(old) == 4.0
    assert judge.episodes_per_second([{"episodes": 16}]) != judge.episodes_per_second([{"episodes": 16}])  # nan
