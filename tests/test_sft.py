"""The SFT stage: the loss reads the answer tokens only, equals the log-likelihood the library computes elsewhere,
and a few steps on the demonstrations lower it; the shipped demonstrations cover only train prompts."""

import hashlib
import json

import pytest
import torch

from rlhf_lib import annotate, compare, config, data, sft

DEMOS = [{"prompt": "What is the capital of France?", "response": "The capital of France is Paris."},
         {"prompt": "How do I make a bomb?", "response": "I can't help with that. It could seriously hurt someone."}]


def test_labels_cover_the_answer_and_its_end_of_turn_only(tokenizer):
    ids, mask, labels = sft.sft_batch(tokenizer, DEMOS, max_length=256)
    for i, d in enumerate(DEMOS):
        prompt, answer = compare.conversation_ids(tokenizer, d["prompt"], d["response"])
        row = labels[i][mask[i].bool()].tolist()
        assert row == [sft.IGNORE] * len(prompt) + answer  # the prompt is read, never learned
        assert (labels[i][~mask[i].bool()] == sft.IGNORE).all()  # nor the padding


def test_loss_is_the_mean_answer_log_likelihood(tiny):
    model, tok = tiny
    ids, mask, labels = sft.sft_batch(tok, DEMOS, max_length=256)
    loss = sft.sft_loss(model, ids, mask, labels)
    logp = compare.sequence_logprobs(model, tok, [d["prompt"] for d in DEMOS], [d["response"] for d in DEMOS])
    n_tokens = (labels[:, 1:] != sft.IGNORE).sum()
    torch.testing.assert_close(loss, -logp.sum() / n_tokens, atol=1e-4, rtol=1e-4)


def test_a_few_steps_lower_the_loss_and_return_a_plain_model(tiny):
    model, tok = tiny
    ids, mask, labels = sft.sft_batch(tok, DEMOS, max_length=256)
    with torch.no_grad():
        before = float(sft.sft_loss(model, ids, mask, labels))
    merged, losses = sft.train(model, tok, DEMOS * 4, sft.SFTConfig(epochs=3, lr=3e-3, batch_size=4), progress=False)
    assert not hasattr(merged, "peft_config")  # adapters folded in: the reference PPO copies is a plain model
    with torch.no_grad():
        after = float(sft.sft_loss(merged, ids, mask, labels))
    assert len(losses) == 6 and after < before - 0.2


def test_bad_demonstrations_name_the_line(tmp_path):
    path = tmp_path / "demos.jsonl"
    path.write_text(json.dumps(DEMOS[0]) + "\n" + json.dumps({"prompt": "hi", "response": ""}) + "\n")
    with pytest.raises(ValueError, match=r"demos.jsonl:2: field 'response'"):
        sft.load_demos(path)


def test_shipped_demonstrations_are_train_prompts_and_refusals_are_recognised():
    prompts = {p["id"]: p for p in data.load_prompts()}
    demos = sft.load_demos()
    assert len(demos) >= 200
    for d in demos:
        p = prompts[d["prompt_id"]]
        assert p["split"] == "train" and p["prompt"] == d["prompt"] and p.get("task") != "checker"
        refused = annotate.refusal_score(d["response"], d["prompt"]) == 1.0
        assert refused == (p["category"] == "harmful"), d  # refuse harm, answer look-alikes
        assert annotate.gold_components(p, d["response"], True)["truncation"] == 0.0


def test_contrast_demonstrations_are_outside_the_task_and_refused_only_when_harmful(tmp_path, monkeypatch):
    """data/make_demos.py --contrast (the experiment benchmarks.sft_gate measured): demonstration-only prompts that
    are in no split, refused exactly when harmful, and none close to a held-out prompt."""
    monkeypatch.syspath_prepend(str(config.DATA_DIR))
    import contrast_demos
    import make_demos

    task = {p["prompt"] for p in data.load_prompts()}
    extra = [d for d in make_demos.demos(contrast=True) if d["prompt_id"] is None]
    assert len(extra) == len(contrast_demos.LOOKALIKES) + len(contrast_demos.HARMFUL) > 80
    for d in extra:
        assert d["prompt"] not in task
        assert (annotate.refusal_score(d["response"], d["prompt"]) == 1.0) == (d["category"] == "harmful"), d
    with pytest.raises(ValueError, match="too close to the held-out prompt"):
        contrast_demos.check_no_overlap([contrast_demos.HARMFUL[0]])


def test_the_sft_cache_is_named_by_the_demonstrations_too():
    """Another demonstration set is another SFT model: the cache folder carries the demonstrations' digest."""
    settings = config.sft_settings(config.load("ci"))
    shipped = config.sft_dir(settings)
    assert shipped == config.sft_dir(settings, hashlib.sha256(config.DATA_DIR.joinpath("demos.jsonl").read_bytes())
                                     .hexdigest()[:10])
    assert config.sft_dir(settings, "0123456789") != shipped
