"""The language model's second round (rlhf_lib.iterate): the round-2 data it writes and the results it reports."""

import copy
import json

import pytest

from rlhf_lib import annotate, data, iterate, pairs


def _round2(tmp_path, cap=60):
    """Round-2 data on the shipped dataset: two fresh answers of a 'policy' to one train prompt, labelled by the panel."""
    prompt = next(p for p in data.load_prompts("train") if p["id"] == "capital-000")
    answers = {prompt["id"]: [
        {"prompt_id": prompt["id"], "response_id": f"{prompt['id']}/round2-0", "text": "Paris.", "finished": True},
        {"prompt_id": prompt["id"], "response_id": f"{prompt['id']}/round2-1", "text": "It is Lyon, I think.",
         "finished": True}]}
    panel = annotate.make_panel(5, seed=0)
    new_pairs = data.annotate_pairs([prompt], answers, panel, seed=1)
    new_rows = data.to_preference_rows([prompt], answers, new_pairs)
    source = data.DATA_DIR / "preferences"
    folder = iterate.write_round2_data(tmp_path / "round2", source, cap, 0, new_rows, new_pairs, answers)
    return folder, source, new_rows, new_pairs


def test_round2_data_is_rm1s_train_pairs_plus_the_new_ones_with_every_label(tmp_path):
    folder, source, new_rows, new_pairs = _round2(tmp_path)
    old = data.load_preferences(source)
    kept = pairs.capped_rows(old["train"]["prompt"], 60, 0)
    new = data.load_preferences(folder)
    assert len(new["train"]) == len(kept) + len(new_rows)  # RM1's capped train pairs, then the new ones
    assert new["train"][-1]["chosen"] == new_rows[-1]["chosen"]
    assert new["train"][0]["chosen"] == old["train"][int(kept[0])]["chosen"]
    assert len(new["val"]) == len(old["val"]) and len(new["test"]) == len(old["test"])  # judged as before
    votes = data.load_panel_votes(folder)  # the old label log and the new pairs, texts found for both
    assert len(votes) == len(data.load_panel_votes(source)) + len(new_pairs)
    assert {votes[-1]["a"], votes[-1]["b"]} == {"Paris.", "It is Lyon, I think."}
    assert votes[-1]["votes_a"] + votes[-1]["votes_b"] >= 1


def test_the_new_rows_keep_chapter_1s_columns_only(tmp_path):
    folder, *_ = _round2(tmp_path, cap=None)
    rows = [json.loads(line) for line in (folder / "train.jsonl").read_text().splitlines()]
    assert {frozenset(r) for r in rows} == {frozenset(rows[0])}


def _results():
    ci = {"value": 0.6, "lo": 0.5, "hi": 0.7}
    rm = {"chapter1_test": {"accuracy": ci, "gold_agreement": ci}, "round1_answers": {**ci, "pairs": 30, "prompts": 9}}
    policy = {"gold": 0.1, "kl": 3.0, "finished": 0.9, "words": 20.0, "rm_scores": {"reward_model": 0.2}}
    match = {"win": ci, "both_finished": {**ci, "n": 40}, "n": 50, "prompts": 25}
    return {"profile": "cpu", "date": "2026-12-04", "machine": {"cpu": "test"},
            "sizes": {"round1_steps": 24, "round2_steps": 12, "round2_target_kl": 12.0, "eval_prompts": 25,
                      "eval_samples": 2, "feedback_prompts": 10, "answers_per_prompt": 4, "feedback_temperature": 1.0},
            "held_out": "capital 3, sum 2", "feedback": {"pairs": 60, "pairwise_agreement": 0.7, "tie_rate": 0.1},
            "reward_models": {"reward_model": rm, "reward_model_round2": rm},
            "policies": {p: policy for p in iterate.POLICIES},
            "versus": {f"{a} vs {b}": match for a, b in iterate.MATCHES}, "seconds": {"total": 100}}


def test_describe_prints_every_match_with_its_interval():
    text = iterate.describe_run(_results())
    for a, b in iterate.MATCHES:
        assert f"{a} vs {b}" in text
    assert "60.0% [50.0%, 70.0%]" in text and "capital 3, sum 2" in text


def test_your_run_is_set_beside_the_reference_run(tmp_path):
    ref, mine = _results(), copy.deepcopy(_results())
    mine["versus"]["round 1 vs reference"]["win"] = {"value": 0.4, "lo": 0.3, "hi": 0.5}
    (tmp_path / "ref.json").write_text(json.dumps(ref))
    (tmp_path / "mine.json").write_text(json.dumps(mine))
    text = iterate.compare_with_reference(tmp_path / "mine.json", tmp_path / "ref.json")
    line = next(ln for ln in text.splitlines() if ln.startswith("round 1 vs reference") and "40.0%" in ln)
    assert "60.0%" in line  # yours, then the reference's
    assert "your run: none yet" in iterate.compare_with_reference(tmp_path / "absent.json", tmp_path / "ref.json")
    with pytest.raises(FileNotFoundError, match="--record"):
        iterate.compare_with_reference(tmp_path / "mine.json", tmp_path / "absent.json")
