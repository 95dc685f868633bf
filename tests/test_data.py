import json

import pytest

from rlhf_lib import annotate, data


def write(path, lines):
    path.write_bytes(b"".join((ln if isinstance(ln, bytes) else ln.encode()) + b"\n" for ln in lines))
    return path


def test_prompts_are_split_by_prompt_and_cover_every_category():
    prompts = data.load_prompts()
    assert len(prompts) >= 300
    assert {p["category"] for p in prompts} == set(data.CATEGORIES)
    assert any(p["prompt"] == "What is the capital of France?" for p in prompts)
    ids = [p["id"] for p in prompts]
    assert len(ids) == len(set(ids))
    groups = {}
    for p in prompts:  # the two phrasings of a passage never straddle splits
        groups.setdefault(p.get("group", p["id"]), set()).add(p["split"])
    assert all(len(s) == 1 for s in groups.values())
    assert {len(data.load_prompts(s)) > 20 for s in data.SPLITS} == {True}


def test_trl_explicit_conversational_and_hh_formats(tmp_path):
    path = write(tmp_path / "mixed.jsonl", [
        json.dumps({"prompt": "Hi?", "chosen": "Hello!", "rejected": "Go away."}),
        json.dumps({"prompt": [{"role": "user", "content": "Hi?"}],
                    "chosen": [{"role": "assistant", "content": "Hello!"}],
                    "rejected": [{"role": "assistant", "content": "Go away."}]}),
        json.dumps({"chosen": "\n\nHuman: Hi?\n\nAssistant: Hello!", "rejected": "\n\nHuman: Hi?\n\nAssistant: Go away."}),
        json.dumps({"chosen": [{"role": "user", "content": "Hi?"}, {"role": "assistant", "content": "Hello!"}],
                    "rejected": [{"role": "user", "content": "Hi?"}, {"role": "assistant", "content": "Go away."}]}),
    ])
    rows, skipped = data.read_preference_jsonl(path)
    assert skipped == 0
    assert [(r["prompt"], r["chosen"], r["rejected"]) for r in rows] == [("Hi?", "Hello!", "Go away.")] * 4


def test_conversational_multi_turn_and_implicit_mismatch():
    history = [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "A"},
               {"role": "assistant", "content": "B"}, {"role": "user", "content": "C"}]
    row = data.normalize({"prompt": history, "chosen": [{"role": "assistant", "content": "good"}],
                          "rejected": [{"role": "assistant", "content": "bad"}]})
    assert row["prompt"] == history  # real chat turns, the system message kept, not a "Human: ..." transcript
    with pytest.raises(data.PreferenceDataError, match="share every message but the last"):
        data.normalize({"chosen": history[1:2] + [{"role": "assistant", "content": "x"}],
                        "rejected": history[3:4] + [{"role": "assistant", "content": "y"}]}, where="f.jsonl:7")


def test_hh_multi_turn_keeps_history_and_rejects_mismatch():
    c = "\n\nHuman: A\n\nAssistant: B\n\nHuman: C\n\nAssistant: good"
    r = "\n\nHuman: A\n\nAssistant: B\n\nHuman: C\n\nAssistant: bad"
    prompt, chosen, rejected = data.split_hh(c, r)
    assert prompt == [{"role": "user", "content": "A"}, {"role": "assistant", "content": "B"},
                      {"role": "user", "content": "C"}] and (chosen, rejected) == ("good", "bad")
    with pytest.raises(data.PreferenceDataError, match="differ before the last answer"):
        data.split_hh(c, r.replace("Human: C", "Human: D"))


@pytest.mark.parametrize(("line", "message"), [
    (b'{"prompt": "q", "chosen": "a"', r"bad\.jsonl:2: malformed JSON"),
    (b'{"prompt": "q", "chosen": "a"}', r"bad\.jsonl:2: missing field 'rejected'"),
    (b'{"prompt": "q", "chosen": "  ", "rejected": "b"}', r"bad\.jsonl:2: field 'chosen' is empty"),
    (b'{"prompt": "q", "chosen": "same", "rejected": "same"}', r"bad\.jsonl:2: fields 'chosen' and 'rejected' are identical"),
    (b'{"prompt": "q", "chosen": 3, "rejected": "b"}', r"bad\.jsonl:2: field 'chosen' must be a string"),
    (b'{"prompt": "q", "chosen": "a", "rejected": "b", "p_chosen": NaN}', r"bad\.jsonl:2: field 'p_chosen' must be a finite"),
    (b'{"prompt": "q\xff", "chosen": "a", "rejected": "b"}', r"bad\.jsonl:2: not UTF-8"),
    (b'["a", "b"]', r"bad\.jsonl:2: expected a JSON object"),
    (b'{"prompt": "q", "chosen": "a", "rejected": "b", "annotator": 7}', r"bad\.jsonl:2: field 'annotator' must be a string"),
])
def test_bad_input_names_file_line_and_field(tmp_path, line, message):
    path = write(tmp_path / "bad.jsonl", [b'{"prompt": "q", "chosen": "a", "rejected": "b"}', line])
    with pytest.raises(data.PreferenceDataError, match=message):
        data.read_preference_jsonl(path)
    rows, skipped = data.read_preference_jsonl(path, on_error="skip")
    assert (len(rows), skipped) == (1, 1)


def test_load_preferences_from_folder_file_and_saved_dataset(tmp_path):
    folder = tmp_path / "prefs"
    folder.mkdir()
    row = {"prompt": "q", "chosen": "a", "rejected": "b", "gold_chosen": 1.0, "gold_rejected": 0.0, "p_chosen": 0.7}
    for split in data.SPLITS:
        write(folder / f"{split}.jsonl", [json.dumps(row)])
    dd = data.load_preferences(folder)
    assert set(dd) == set(data.SPLITS) and dd["test"][0]["p_chosen"] == 0.7
    dd.save_to_disk(str(tmp_path / "saved"))
    assert data.load_preferences(tmp_path / "saved")["train"][0]["chosen"] == "a"
    assert list(data.load_preferences(folder / "val.jsonl")) == ["train"]
    with pytest.raises(data.PreferenceDataError, match="no such file or folder"):
        data.load_preferences(tmp_path / "missing")


def test_shipped_dataset_follows_the_contract():
    dd = data.load_preferences(data.DATA_DIR / "preferences")
    assert set(dd) == set(data.SPLITS)
    for split in data.SPLITS:
        assert set(data.COLUMNS) <= set(dd[split].column_names)
        assert len(dd[split]) > 0
    train_prompts = set(dd["train"]["prompt_id"])
    assert not train_prompts & set(dd["test"]["prompt_id"])


def test_pairs_use_the_assigned_annotator_and_drop_ties_and_duplicates():
    prompts = [{"id": "capital-000", "category": "factual", "prompt": "Capital of France?", "answers": ["Paris"],
                "wrong": ["Lyon"], "split": "train"}]
    texts = ["Paris.", "Lyon.", "Paris.", "It is in Europe."]
    responses = {"capital-000": [{"response_id": f"capital-000/{i}", "text": t} for i, t in enumerate(texts)]}
    panel = annotate.make_panel(3, seed=0)
    pairs = data.annotate_pairs(prompts, responses, panel, seed=0)
    assert len(pairs) == 5  # 6 pairs minus the duplicate "Paris." / "Paris."
    rows = data.to_preference_rows(prompts, responses, pairs)
    kept = [p for p in pairs if p["labels"][p["assigned"]] != annotate.TIE]
    assert len(rows) == len(kept)
    for r in rows:
        assert 0 <= r["p_chosen"] <= 1 and r["chosen"] != r["rejected"]
    stats = data.agreement_stats(pairs)
    assert 0.5 <= stats["bayes_ceiling"] <= 1


def test_stratified_subset_spans_categories():
    picked = data.stratified_subset(data.load_prompts(), 24, seed=0)
    assert len(picked) == 24 and {p["category"] for p in picked} == set(data.CATEGORIES)


def test_stats_and_calibration_sweep_on_a_tiny_set():
    prompts = [{"id": f"a{i}", "category": "arithmetic", "prompt": f"What is {i} + 1?", "answers": [str(i + 1)],
                "wrong": [str(i + 2)], "split": "train"} for i in range(30)]
    texts = lambda i: [f"It is {i + 1}.", f"It is {i + 2}.", "I like numbers.", f"{i} + 1 = {i + 1}"]  # noqa: E731
    responses = {p["id"]: [{"response_id": f"{p['id']}/{j}", "text": t, "finished": True}
                           for j, t in enumerate(texts(i))] for i, p in enumerate(prompts)}
    sweep = data.agreement_sweep(prompts, responses, [0.1, 3.0], n_annotators=3)
    assert sweep[0]["pairwise_agreement"] > sweep[1]["pairwise_agreement"] + 0.1  # more noise, less agreement
    assert sweep[0]["label_gold_agreement"] > sweep[1]["label_gold_agreement"]
    assert sweep[0]["bayes_ceiling"] > sweep[1]["bayes_ceiling"]


def test_sampling_is_cached_and_never_redone(tmp_path, tiny, monkeypatch):
    model, tokenizer = tiny
    prompts = [{"id": "p0", "prompt": "Hi"}, {"id": "p1", "prompt": "Hello"}]
    kw = {"k": 2, "cache": tmp_path / "responses.jsonl", "max_new_tokens": 3, "batch_size": 4}
    first = data.sample_responses(prompts, model, tokenizer, **kw)
    assert [len(first[p["id"]]) for p in prompts] == [2, 2]
    assert sum(1 for _ in open(tmp_path / "responses.jsonl")) == 4

    def boom(*args, **kwargs):
        raise AssertionError("sampled again")

    import rlhf_lib.models
    monkeypatch.setattr(rlhf_lib.models, "generate", boom)
    assert data.sample_responses(prompts, None, None, **kw) == first  # no model needed: all cached


def test_raising_k_samples_only_the_missing_responses(tmp_path, tiny):
    model, tokenizer = tiny
    prompts = [{"id": "p0", "prompt": "Hi"}, {"id": "p1", "prompt": "Hello"}]
    kw = {"cache": tmp_path / "responses.jsonl", "max_new_tokens": 3, "batch_size": 4}
    two = data.sample_responses(prompts, model, tokenizer, k=2, **kw)
    three = data.sample_responses(prompts, model, tokenizer, k=3, **kw)
    assert sum(1 for _ in open(tmp_path / "responses.jsonl")) == 6  # one more per prompt, the first two kept
    for p in prompts:
        assert three[p["id"]][:2] == two[p["id"]]
        assert [r["response_id"] for r in three[p["id"]]] == [f"{p['id']}/{j}" for j in range(3)]
    assert data.sample_responses(prompts, None, None, k=2, **kw) == two  # K=2 of a K=3 cache: the first two


def test_hub_id_goes_through_datasets_and_normalize(monkeypatch):
    import datasets

    hh = datasets.Dataset.from_list([{"chosen": "\n\nHuman: Hi?\n\nAssistant: Hello!",
                                      "rejected": "\n\nHuman: Hi?\n\nAssistant: Go."}])
    seen = []
    monkeypatch.setattr(datasets, "load_dataset", lambda name: seen.append(name) or datasets.DatasetDict(train=hh))
    dd = data.load_preferences("someone/hh-style")
    assert seen == ["someone/hh-style"] and dd["train"][0]["prompt"] == "Hi?" and dd["train"][0]["chosen"] == "Hello!"


def test_finished_flags_reproduce_the_shipped_gold_and_name_a_bad_line(tmp_path):
    flags = data.finished_flags(data.DATA_DIR / "preferences")
    records = {p["id"]: p for p in data.load_prompts()}
    rows = [json.loads(line) for line in open(data.DATA_DIR / "preferences" / "test.jsonl")][:40]
    for r in rows:  # the flags are what the gold of the shipped dataset was computed with
        for side in ("chosen", "rejected"):
            u = annotate.gold_utility(records[r["prompt_id"]], r[side], flags[(r["prompt_id"], r[side].strip())])
            assert u == pytest.approx(r[f"gold_{side}"])
    (tmp_path / "prefs").mkdir()
    assert data.finished_flags(tmp_path / "prefs") == flags  # no responses file of its own: the shipped ones
    (tmp_path / "responses.jsonl").write_text('{"prompt_id": "a", "text": " x ", "finished": true}\n')
    assert data.finished_flags(tmp_path / "prefs")[("a", "x")] is True  # its own responses are added
    (tmp_path / "responses.jsonl").write_text('{"prompt_id": "a", "text": "x", "finished": true}\n'
                                              '{"prompt_id": "a", "text": "y", "finished": "yes"}\n')
    with pytest.raises(data.PreferenceDataError, match=r"responses.jsonl:2: field 'finished'"):
        data.finished_flags(tmp_path / "prefs")
