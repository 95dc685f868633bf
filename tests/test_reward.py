"""Tests of rlhf_lib.reward and rlhf_lib.features: losses, metrics, inputs, the loop, checkpoints, scoring."""

import dataclasses
import math

import numpy as np
import pytest
import torch
from datasets import Dataset, DatasetDict
from transformers import AutoModelForSequenceClassification

from rlhf_lib import checkpoint, config, data, features, models, pairs, reward, train_reward
from rlhf_lib.reward import TrainConfig


# ------------------------------------------------------------------------------------------ fixtures
# `tokenizer`: the tests' tiny tokenizer (tests/conftest.py)
def tiny_rm(tokenizer, seed=0, layers=2):
    """A random tiny Llama with a scalar head, the same shape of model as the real transformer RM."""
    causal, _ = models.load_tiny_model(seed=seed, layers=layers, tokenizer=tokenizer)
    torch.manual_seed(seed)
    config = causal.config
    config.num_labels = 1
    model = AutoModelForSequenceClassification.from_config(config)
    model.model.load_state_dict(causal.model.state_dict())
    model.config.pad_token_id = tokenizer.pad_token_id
    return model.eval()


def toy_preferences(n_prompts=12):
    """A DatasetDict in the chapter-1 contract: the right capital is preferred over a wrong one."""
    capitals = [("France", "Paris", "Lyon"), ("Italy", "Rome", "Milan"), ("Spain", "Madrid", "Seville"),
                ("Japan", "Tokyo", "Osaka"), ("Egypt", "Cairo", "Giza"), ("Peru", "Lima", "Cusco")]
    rows = {"train": [], "val": [], "test": []}
    for i in range(n_prompts):
        country, good, bad = capitals[i % len(capitals)]
        split = ["train", "train", "val", "test"][i % 4]
        prompt = f"What is the capital of {country}? ({i})"
        rows[split].append({
            "prompt": prompt, "chosen": f"The capital of {country} is {good}.", "rejected": f"It is {bad}, I think.",
            "prompt_id": f"cap-{i:03d}", "category": "factual", "annotator": "sim-0",
            "gold_chosen": 1.0, "gold_rejected": 0.0 if i % 3 else 1.0, "p_chosen": 0.8,
        })
    return DatasetDict({k: Dataset.from_list(v) for k, v in rows.items()})


# -------------------------------------------------------------------------------------------- losses
def test_bradley_terry_loss_matches_hand_computation():
    r_c, r_r = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 0.0])
    # -(log sigmoid(1) + log sigmoid(0)) / 2 = (0.313262 + 0.693147) / 2
    assert reward.bradley_terry_loss(r_c, r_r).item() == pytest.approx(0.5032045, abs=1e-6)
    # margin: -log sigmoid(2 - 0 - 1) = 0.313262
    assert reward.bradley_terry_loss(torch.tensor([2.0]), torch.tensor([0.0]), margin=1.0).item() == pytest.approx(
        0.3132617, abs=1e-6)
    # stable for huge margins (a naive log(sigmoid(x)) gives -inf)
    assert reward.bradley_terry_loss(torch.tensor([-200.0]), torch.tensor([0.0])).item() == pytest.approx(200.0)


def test_mse_and_centering_match_hand_computation():
    r_c, r_r = torch.tensor([1.0, 0.0]), torch.tensor([0.0, -1.0])
    # chosen -> +1: errors 0 and 1; rejected -> -1: errors 1 and 0 -> 0.5 * (0.5 + 0.5)
    assert reward.mse_loss(r_c, r_r).item() == pytest.approx(0.5)
    # centering: mean((1 + 0)^2, (0 - 1)^2) = 1
    assert reward.center_penalty(r_c, r_r).item() == pytest.approx(1.0)
    total = reward.reward_loss(r_c, r_r, "bt", center_coef=0.1).item()
    assert total == pytest.approx(reward.bradley_terry_loss(r_c, r_r).item() + 0.1)
    with pytest.raises(ValueError, match="loss kind"):
        reward.reward_loss(r_c, r_r, "hinge")


def test_metrics():
    assert reward.pairwise_accuracy([1.0, 0.0, 2.0, 1.0], [0.0, 1.0, 2.0, 0.0]) == pytest.approx(0.625)
    # gold tie in the second pair is excluded; the model agrees on 1 of the 2 others
    assert reward.gold_agreement([1.0, 1.0, 0.0], [0.0, 0.0, 1.0], [2.0, 1.0, 3.0], [1.0, 1.0, 0.0]) == 0.5


# -------------------------------------------------------------------------------------------- inputs
def test_truncation_keeps_the_end_of_the_response(tokenizer):
    prompt, response = "word " * 300, "The answer is Paris, and that is final."
    (ids,) = models.encode(tokenizer, [prompt], [response], max_length=40)
    assert len(ids) == 40
    text = tokenizer.decode(ids)
    assert text.rstrip().endswith(response + "<|im_end|>")
    (short,) = models.encode(tokenizer, ["Hi"], ["Hello"], max_length=400)
    assert tokenizer.decode(short).startswith("<|im_start|>system")  # nothing cut when it fits


def test_reward_read_at_last_real_token_with_left_and_right_padding(tokenizer):
    model = tiny_rm(tokenizer)
    seqs = models.encode(tokenizer, ["Hi", "What is two plus two, please?"], ["Hello!", "Four."], 64)
    alone = torch.stack([reward.sequence_rewards(model, torch.ones(1, len(s), dtype=torch.long),
                                                 input_ids=torch.tensor([s])) for s in seqs]).squeeze(-1)
    with torch.no_grad():
        for side in ("left", "right"):
            ids, mask = models.pad_batch(seqs, tokenizer.pad_token_id, side=side)
            assert torch.equal(models.last_token_index(mask), torch.tensor([ids.shape[1] - 1] * 2) if side == "left"
                               else torch.tensor([len(s) - 1 for s in seqs]))
            torch.testing.assert_close(reward.sequence_rewards(model, mask, input_ids=ids), alone, atol=1e-5, rtol=0)
    # the reward depends on the last token: changing it changes the reward
    changed = seqs[0][:-1] + [seqs[0][-1] + 1]
    other = reward.sequence_rewards(model, torch.ones(1, len(changed), dtype=torch.long), input_ids=torch.tensor([changed]))
    assert not torch.allclose(other, alone[:1])


def test_top_layers_on_cached_states_equal_the_full_model(tokenizer, tmp_path, monkeypatch):
    monkeypatch.setenv("RLHF_ARTIFACTS", str(tmp_path))
    model = tiny_rm(tokenizer, layers=3)
    table = pairs.build_pairs(toy_preferences(8), tokenizer, max_length=64)
    cache = features.extract(model, tokenizer, table, top_k=1, cache=False, progress=False)
    top = reward.top_layers_model(model, 1)
    idx = torch.arange(len(table))
    full = reward.token_reward_fn(model, table, tokenizer.pad_token_id)(idx)
    via_cache = features.topk_reward_fn(top, cache)(idx)
    # the cache is stored in bf16, so equality holds to bf16 precision
    torch.testing.assert_close(via_cache, full, atol=0.05, rtol=0.05)
    assert cache.features(3, "both").shape == (len(table), 2 * model.config.hidden_size)


# ---------------------------------------------------------------------------------------------- loop
def toy_split(n=64, dim=8, seed=0):
    """Random features with a linear true utility; pairs labelled by it."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2 * n, dim, generator=g)
    utility = x @ torch.linspace(-1, 1, dim)
    a, b = torch.arange(n), torch.arange(n, 2 * n)
    better = utility[a] > utility[b]
    c, r = torch.where(better, a, b), torch.where(better, b, a)
    split = pairs.PairSplit(c, r, torch.full((n,), 0.8), utility[c], utility[r])
    return x, split


def test_a_training_step_lowers_the_loss_on_a_toy_set(tokenizer):
    model = tiny_rm(tokenizer)
    table = pairs.build_pairs(toy_preferences(8), tokenizer, max_length=64)
    split = table.splits["train"]
    fn = reward.token_reward_fn(model, table, tokenizer.pad_token_id)
    opt = reward.make_optimizer(model.parameters(), TrainConfig(lr=1e-3))
    losses = []
    for _ in range(3):
        r_c, r_r = fn(torch.cat([split.chosen, split.rejected])).chunk(2)
        loss = reward.bradley_terry_loss(r_c, r_r)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_explicit_loop_learns_and_resume_equals_an_uninterrupted_run(tmp_path):
    x, train_split = toy_split(96)
    xv, val_split = toy_split(48, seed=1)
    feats = torch.cat([x, xv])
    val_split = pairs.PairSplit(val_split.chosen + len(x), val_split.rejected + len(x), val_split.p_chosen,
                                 val_split.gold_chosen, val_split.gold_rejected)
    cfg = TrainConfig(lr=1e-2, batch_size=16, epochs=4, eval_every=5, patience=100, seed=3)

    def run(ckpt, stop_after=None, fresh=True):
        if fresh:
            torch.manual_seed(0)
            run.net = reward.FeedForwardRM(8, hidden=16, dropout=0.1)  # dropout: the RNG must be restored too
        return reward.train(run.net, features.feature_reward_fn(run.net, feats), train_split, val_split, cfg,
                            ckpt_dir=ckpt, stop_after=stop_after, progress=False)

    full = run(tmp_path / "a")
    weights_full = checkpoint.trainable_state(run.net)
    assert full.best_val_accuracy > 0.8  # the loop learns a linear utility from pairs
    assert full.steps == 4 * 6
    partial = run(tmp_path / "b", stop_after=13)  # interrupted between two checkpoints (10 and 15)
    assert partial.steps == 13
    resumed = run(tmp_path / "b")  # a fresh process: new model, resumes from step 10
    for name, value in weights_full.items():
        torch.testing.assert_close(checkpoint.trainable_state(run.net)[name], value, atol=0, rtol=0)
    assert [h["val_accuracy"] for h in resumed.history] == [h["val_accuracy"] for h in full.history]
    assert resumed.best_step == full.best_step


def test_a_checkpoint_made_with_another_train_config_is_refused_naming_what_changed(tmp_path):
    x, split = toy_split(64)  # 4 steps per epoch at batch 16
    cfg = TrainConfig(lr=1e-2, batch_size=16, epochs=2, eval_every=2, patience=100, seed=3)

    def run(cfg, stop_after=None):
        torch.manual_seed(0)
        net = reward.FeedForwardRM(8, hidden=8, dropout=0.0)
        return reward.train(net, features.feature_reward_fn(net, x), split, split, cfg, ckpt_dir=tmp_path,
                            stop_after=stop_after, progress=False)

    run(cfg, stop_after=2)  # a checkpoint at step 2
    with pytest.raises(checkpoint.CheckpointMismatchError, match=r"other settings \(lr: 0.01 -> 0.02; seed: 3 -> 4\)") as err:
        run(dataclasses.replace(cfg, lr=2e-2, seed=4))
    assert err.value.changed == ("lr", "seed")
    longer = run(dataclasses.replace(cfg, epochs=3))  # `epochs` is free: the run is extended from step 2
    assert longer.steps == 12 and longer.history[0]["step"] == 2


def test_early_stopping_stops_and_restores_the_best_weights():
    x, split = toy_split(64)
    net = reward.FeedForwardRM(8, hidden=8, dropout=0.0)
    cfg = TrainConfig(lr=0.0, batch_size=16, epochs=50, eval_every=4, patience=2)  # lr 0: never improves
    result = reward.train(net, features.feature_reward_fn(net, x), split, split, cfg, progress=False)
    assert result.stopped_early and result.steps == 12 and result.best_step == 4


def test_a_fraction_of_an_epoch_stops_part_way():
    x, split = toy_split(64)  # 4 steps per epoch at batch 16
    net = reward.FeedForwardRM(8, hidden=8, dropout=0.0)
    cfg = TrainConfig(lr=1e-2, batch_size=16, epochs=0.6, eval_every=100, patience=2)
    result = reward.train(net, features.feature_reward_fn(net, x), split, split, cfg, progress=False)
    assert result.steps == 3 and [h["step"] for h in result.history] == [3]  # ceil(0.6 * 4), evaluated at the end


def test_nan_loss_stops_training_with_a_clear_message():
    _, split = toy_split(16)
    net = reward.FeedForwardRM(8)
    with pytest.raises(checkpoint.NonFiniteLossError, match="loss is nan at step 0"):
        reward.train(net, lambda idx: torch.full((len(idx),), float("nan"), requires_grad=True), split, split,
                     TrainConfig(), progress=False)


def test_bad_dataset_column_is_named(tokenizer):
    prefs = toy_preferences(4).remove_columns("rejected")  # a required column (p_chosen and gold are optional)
    with pytest.raises(KeyError, match="rejected"):
        pairs.build_pairs(prefs, tokenizer, 64)


# ------------------------------------------------------------------------------------ score and save
def test_score_returns_floats_in_input_order_and_round_trips(tokenizer, tmp_path):
    model = tiny_rm(tokenizer)
    prompts = ["Hi", "What is the capital of France?", "Tell me a joke."]
    responses = ["Hello!", "Paris. " * 40, "No."]
    scores = reward.score(model, tokenizer, prompts, responses, batch_size=2, max_length=48)
    assert len(scores) == 3 and all(isinstance(s, float) and math.isfinite(s) for s in scores)
    one_by_one = [reward.score(model, tokenizer, [p], [r], max_length=48)[0] for p, r in zip(prompts, responses, strict=True)]
    assert scores == pytest.approx(one_by_one, abs=1e-4)
    with pytest.raises(TypeError):
        reward.score(model, tokenizer, "Hi", "Hello")
    path = reward.save_reward_model(model, tokenizer, tmp_path / "rm", info={"arch": "tiny"})
    assert (path / "model.safetensors").is_file()
    loaded, tok = reward.load_reward_model(path, device="cpu")
    assert reward.score(loaded, tok, prompts, responses, max_length=48) == pytest.approx(scores, abs=1e-5)
    with pytest.raises(FileNotFoundError, match="no reward model"):
        reward.load_reward_model(tmp_path / "missing")
    # the fingerprint PPO checkpoints record: the same for the same weights, another for other weights
    first = reward.fingerprint(path)
    assert first == reward.fingerprint(reward.save_reward_model(loaded, tok, tmp_path / "again"))
    with torch.no_grad():
        loaded.score.weight.add_(1.0)
    assert reward.fingerprint(reward.save_reward_model(loaded, tok, tmp_path / "changed")) != first
    with pytest.raises(FileNotFoundError, match="no reward model weights"):
        reward.fingerprint(tmp_path / "missing")


@pytest.mark.parametrize("arch", ["lora", "topk"])
def test_transformer_rm_arches_train_the_right_weights_and_save(tokenizer, tmp_path, arch):
    folder = tmp_path / "tiny"
    tiny_rm(tokenizer, layers=3).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    model, tok = reward.load_transformer_rm(str(folder), arch=arch, top_k=1, lora_r=4)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    if arch == "lora":
        assert trainable and all("lora_" in n or "score" in n for n in trainable)
    else:
        assert all(".layers.2." in n or "norm" in n or "score" in n for n in trainable)
        assert not any(".layers.0." in n for n in trainable)
    table = pairs.build_pairs(toy_preferences(8), tok, max_length=64)
    split = table.splits["train"]
    fn = reward.token_reward_fn(model, table, tok.pad_token_id)
    before = reward.evaluate(fn, split, TrainConfig())["loss"]
    reward.train(model, fn, split, split, TrainConfig(lr=3e-3, batch_size=4, epochs=3, eval_every=100),
                 progress=False)
    assert reward.evaluate(fn, split, TrainConfig())["loss"] < before
    scores = reward.score(model, tok, ["Hi"], ["Hello"])
    path = reward.save_reward_model(model, tok, tmp_path / "saved")
    loaded, _ = reward.load_reward_model(path, device="cpu")
    assert reward.score(loaded, tok, ["Hi"], ["Hello"]) == pytest.approx(scores, abs=1e-4)


def test_epoch_order_groups_pairs_by_prompt_and_repeats():
    group = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2, 3])
    split = pairs.PairSplit(torch.arange(10), torch.arange(10, 20), torch.full((10,), 0.7), torch.ones(10),
                             torch.zeros(10), group=group)
    cfg = TrainConfig(seed=5)
    order = reward.epoch_order(split, cfg, epoch=2)
    assert sorted(order.tolist()) == list(range(10))
    runs = [g for i, g in enumerate(group[order].tolist()) if i == 0 or g != group[order][i - 1]]
    assert len(runs) == 4  # each prompt's pairs are contiguous
    assert torch.equal(order, reward.epoch_order(split, cfg, epoch=2))
    assert not torch.equal(order, reward.epoch_order(split, cfg, epoch=3))


# ------------------------------------------------------------------------- several labels per pair
def test_soft_label_loss_and_accuracy_equal_one_pair_per_label():
    r_c, r_r = torch.tensor([1.0, -0.5]), torch.tensor([0.0, 0.0])
    target, weight = torch.tensor([0.75, 1 / 3]), torch.tensor([4.0, 3.0])
    # the same pairs written out label by label: 3 for / 1 against, then 1 for / 2 against
    c = torch.tensor([1.0, 1, 1, 0, -0.5, 0, 0])
    r = torch.tensor([0.0, 0, 0, 1, 0, -0.5, -0.5])
    assert reward.bradley_terry_loss(r_c, r_r, target=target, weight=weight).item() == pytest.approx(
        reward.bradley_terry_loss(c, r).item(), abs=1e-6)
    assert reward.pairwise_accuracy(r_c, r_r, target, weight) == pytest.approx(reward.pairwise_accuracy(c, r))
    assert reward.pairwise_accuracy(r_c, r_r, target, weight) == pytest.approx(5 / 7)
    # MSE with mean labels: targets +-(2t - 1)
    y = 2 * target - 1
    expected = 0.5 * ((weight * (r_c - y) ** 2).sum() + (weight * (r_r + y) ** 2).sum()) / weight.sum()
    assert reward.mse_loss(r_c, r_r, target, weight).item() == pytest.approx(expected.item())
    # one label per pair is the default
    assert reward.bradley_terry_loss(r_c, r_r, target=torch.ones(2)).item() == pytest.approx(
        reward.bradley_terry_loss(r_c, r_r).item())


def test_vote_splits_reuse_the_table_and_keep_every_label(tokenizer):
    prefs = toy_preferences(8)
    table = pairs.build_pairs(prefs, tokenizer, max_length=64)
    n_seqs = len(table)
    row = prefs["train"][0]
    votes = [{"prompt_id": row["prompt_id"], "a": row["rejected"], "b": row["chosen"], "votes_a": 1, "votes_b": 3,
              "gold_a": 0.0, "gold_b": 1.0, "p_a": 0.3},
             {"prompt_id": row["prompt_id"], "a": row["chosen"], "b": "an answer not in the table", "votes_a": 5,
              "votes_b": 0, "gold_a": 1.0, "gold_b": 0.0, "p_a": 0.9},
             {"prompt_id": row["prompt_id"], "a": row["chosen"], "b": row["rejected"], "votes_a": 0, "votes_b": 0,
              "gold_a": 1.0, "gold_b": 0.0, "p_a": 0.5}]  # all ties: nothing to learn
    labels = pairs.add_vote_splits(table, prefs, votes)
    assert labels == {"train_votes": 4} and len(table) == n_seqs
    split = table.splits["train_votes"]
    assert len(split) == 1 and split.target.tolist() == [0.75] and split.weight.tolist() == [4.0]
    assert table.responses[int(split.chosen[0])] == row["chosen"]  # the side with more votes is `chosen`
    assert split.p_chosen.item() == pytest.approx(0.7) and split.gold_chosen.item() == 1.0
    x = torch.randn(n_seqs, 4)
    net = reward.FeedForwardRM(4, hidden=4)
    result = reward.train(net, features.feature_reward_fn(net, x), split, split,
                          TrainConfig(batch_size=2, epochs=2, eval_every=1), progress=False)
    assert result.steps == 2


def test_a_cap_keeps_whole_prompts_in_a_seeded_order():
    """A cap samples prompts, not pairs: every pair of a kept prompt stays (its responses, its votes), none of the rest."""
    prompts = ["a"] * 6 + ["b"] * 6 + ["c"] * 3 + ["d"]
    for seed in range(5):
        rows = pairs.capped_rows(prompts, 10, seed)
        kept = [prompts[i] for i in rows]
        assert 1 <= len(rows) <= 10 and list(rows) == sorted(rows)
        assert all(kept.count(p) == prompts.count(p) for p in set(kept))
    assert len({tuple(pairs.capped_rows(prompts, 10, seed)) for seed in range(5)}) > 1  # the seed decides
    assert len(pairs.capped_rows(prompts, 2, 0)) >= 1  # one whole prompt even when it alone is over the cap
    assert list(pairs.capped_rows(prompts, None, 0)) == list(pairs.capped_rows(prompts, 16, 0)) == list(range(16))


def test_chapter_caps_sub_sample_train_only_in_a_chapter():
    """The cpu chapters sub-sample train (`reward.chapter_train_pairs`); the headless entry point reads every pair."""
    cpu, ci = config.load("cpu").reward, config.load("ci").reward
    assert pairs.split_caps(cpu) == {"train": cpu.chapter_train_pairs, "val": None, "test": None}
    assert pairs.split_caps(cpu, chapter=False) == {"train": None, "val": None, "test": None}
    assert pairs.split_caps(ci) == pairs.split_caps(ci, chapter=False) == {"train": 96, "val": 48, "test": 48}
    smaller = config.load("ci", reward__chapter_train_pairs=10).reward
    assert pairs.split_caps(smaller)["train"] == 10 and pairs.split_caps(smaller, chapter=False)["train"] == 96


def test_load_or_train_trains_a_missing_model_once_through_the_entry_point(tokenizer, tmp_path, monkeypatch):
    calls = []

    def train_and_save(cfg, path, engine="ours", state=None, chapter=False):  # stands in for chapter 2's recipe
        calls.append((path, engine, state, chapter))
        return reward.save_reward_model(tiny_rm(tokenizer), tokenizer, path)

    monkeypatch.setattr(train_reward, "train_and_save", train_and_save)
    path = tmp_path / "rm"
    first, tok = train_reward.load_or_train(path, device="cpu")
    again, _ = train_reward.load_or_train(path, device="cpu")  # now it exists: loaded, not trained again
    assert calls == [(path, "ours", None, True)]  # on the pairs chapter 2 keeps, as chapter 2 would have
    assert reward.score(first, tok, ["Hi"], ["Hello"]) == reward.score(again, tok, ["Hi"], ["Hello"])


def test_panel_votes_are_read_from_the_shipped_label_log():
    votes = data.load_panel_votes()
    assert votes and all(0 <= v["votes_a"] + v["votes_b"] <= 5 for v in votes)
    assert all(isinstance(v["a"], str) and v["a"] for v in votes[:20])


def test_multi_layer_features_and_block_norm():
    cache = features.FeatureCache(torch.randn(5, 4, 2, 3).to(torch.bfloat16), torch.zeros(1, 3),
                                  torch.zeros(6, dtype=torch.long), top_k=1)
    assert torch.equal(cache.features(2, "both"), cache.pooled[:, 2].float().flatten(1))
    both = cache.features([1, 3], "both")
    assert both.shape == (5, 12) and torch.equal(both[:, 6:9], cache.pooled[:, 3, 0].float())
    assert cache.features([1, 3], "mean").shape == (5, 6)
    norm = reward.BlockNorm(12, blocks=4)
    out = norm(both * torch.tensor([1.0] * 3 + [100.0] * 9))  # blocks on very different scales
    torch.testing.assert_close(out.unflatten(-1, (4, 3)).std(-1, unbiased=False), torch.ones(5, 4), atol=1e-2, rtol=0)
    members = [reward.FeedForwardRM(12, hidden=4, blocks=4).eval() for _ in range(3)]
    ens = reward.EnsembleRM(members)
    torch.testing.assert_close(ens(both), torch.stack([m(both) for m in members]).mean(0))


def test_capped_preferences_are_the_rows_build_pairs_keeps(tokenizer):
    """Chapter 3 reads as text the pairs chapter 2 trained on: `pairs.capped` must cut the very rows a cap keeps."""
    prefs, caps = toy_preferences(24), {"train": 5, "val": 2, "test": None}
    kept = pairs.build_pairs(prefs, tokenizer, 64, caps, seed=3)
    cut = pairs.capped(prefs, caps, seed=3)
    assert {s: len(cut[s]) for s in cut} == {"train": 5, "val": 2, "test": len(prefs["test"])}
    again = pairs.build_pairs(cut, tokenizer, 64, seed=3)
    assert again.prompts == kept.prompts and again.responses == kept.responses
    for s in kept.splits:
        assert torch.equal(again.splits[s].chosen, kept.splits[s].chosen), s
        assert torch.equal(again.splits[s].rejected, kept.splits[s].rejected), s


def test_figures_with_ci_are_evaluates_figures_with_an_interval_by_prompt(tokenizer):
    """The point values equal `reward.evaluate`'s; the interval resamples prompts, so it brackets the value."""
    prefs = toy_preferences(24)
    table = pairs.build_pairs(prefs, tokenizer, 64)
    split = table.splits["train"]
    g = torch.Generator().manual_seed(0)
    r = torch.randn(len(table), generator=g)
    fn = lambda idx: r[idx]  # noqa: E731 - a reward per sequence index
    tc = reward.TrainConfig()
    plain = reward.evaluate(fn, split, tc)
    measured = reward.measure(fn, split, n_boot=200, seed=0)
    for key in ("accuracy", "gold_agreement"):
        fig = measured[key]
        assert fig["value"] == pytest.approx(plain[key]), key
        assert fig["lo"] <= fig["value"] <= fig["hi"] and fig["hi"] - fig["lo"] > 0, key
    np.testing.assert_allclose(measured["margins"], (r[split.chosen] - r[split.rejected]).numpy())
    some = np.arange(len(split)) < len(split) // 2
    part = reward.figures_with_ci(split, measured["margins"], n_boot=200, seed=0, rows=some)
    assert part["accuracy"]["value"] == pytest.approx(
        reward.pairwise_accuracy(torch.tensor(measured["margins"][some]), torch.zeros(int(some.sum()))))


def test_learning_rate_schedule_warms_up_then_decays_to_zero():
    cfg = reward.TrainConfig(lr=1.0, schedule="cosine", warmup=0.1)
    lrs = [reward.lr_at(step, 100, cfg) for step in range(100)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)  # 10 warm-up steps, linear
    assert max(lrs) == pytest.approx(1.0) and lrs[-1] < 0.01 and all(a >= b for a, b in zip(lrs[9:-1], lrs[10:], strict=True))
    assert reward.lr_at(50, 100, reward.TrainConfig(lr=0.3)) == 0.3  # constant by default
    with pytest.raises(ValueError, match="schedule"):
        reward.TrainConfig(schedule="linear")


def test_best_linear_probe_picks_the_layer_that_knows_and_reads_past_the_last_as_the_last():
    g = torch.Generator().manual_seed(0)
    s, n_layers, h = 60, 3, 5
    pooled = torch.randn(s, n_layers + 1, 2, h, generator=g)
    pooled[:30, 2, :, 0] += 2.0  # only layer 2 tells the chosen (0-29) from the rejected (30-59)
    cache = features.FeatureCache(pooled, torch.zeros(1, h), torch.zeros(s + 1, dtype=torch.long), top_k=1)
    train = pairs.PairSplit(torch.arange(20), torch.arange(30, 50), None, None, None)
    val = pairs.PairSplit(torch.arange(20, 30), torch.arange(50, 60), None, None, None)
    assert list(features.layer_features(cache, (2, 1, 99, 3))) == [1, 2, n_layers]  # 99: the last layer, once
    r, chosen = features.best_linear_probe(features.layer_features(cache, (1, 2, 99)), train, val, Cs=(1.0,))
    assert chosen == {"layer": 2, "C": 1.0} and r.shape == (s,)
    assert (r[val.chosen] > r[val.rejected]).float().mean() > 0.9


def test_accuracy_difference_is_paired_and_signed():
    group = torch.arange(40) // 4  # 10 prompts of 4 pairs
    split = pairs.PairSplit(torch.arange(40), torch.arange(40, 80), None, None, None, group=group)
    right = np.ones(40)
    half = np.where(np.arange(40) % 2 == 0, 1.0, -1.0)
    same = reward.accuracy_difference(split, half, half, n_boot=200)
    assert same == {"value": 0.0, "lo": 0.0, "hi": 0.0}  # the same model: no difference in any resample
    better = reward.accuracy_difference(split, right, half, n_boot=200)
    assert better["value"] == pytest.approx(0.5) and better["lo"] > 0
    worse = reward.accuracy_difference(split, half, right, n_boot=200)
    assert worse["value"] == pytest.approx(-0.5) and worse["hi"] < 0
    assert reward.difference_verdict(better, 10) == "beats it" and reward.difference_verdict(worse, 10) == "does worse"
    assert reward.difference_verdict(same, 10).startswith("does not beat it")
    assert reward.difference_verdict(better, 1).startswith("cannot tell on one prompt")
    # several labels a pair: the share for chosen counts, as in pairwise_accuracy
    split.target, split.weight = torch.full((40,), 0.25), torch.full((40,), 4.0)
    assert reward.accuracy_difference(split, right, -right, n_boot=50)["value"] == pytest.approx(-0.5)


def test_linear_probe_finds_the_feature_people_prefer():
    g = torch.Generator().manual_seed(0)
    feats = torch.randn(40, 6, generator=g)
    feats[:20, 2] += 2.0  # sequences 0-19 are better on feature 2
    chosen, rejected = torch.arange(20), torch.arange(20, 40)
    split = pairs.PairSplit(chosen, rejected, torch.full((20,), 0.8), torch.ones(20), torch.zeros(20))
    r = features.linear_probe(feats, split, C=1.0)
    assert r.shape == (40,)
    assert (r[chosen] > r[rejected]).float().mean() > 0.9


def test_ppo_scores_with_the_reward_model_in_the_fast_dtype(tokenizer, tmp_path, monkeypatch):
    """models.fast_dtype is bf16 exactly where bf16 is native; load_or_train loads the saved reward model in the dtype
    asked (PPO's chapters and train_ppo ask for fast_dtype, validation keeps fp32), and bf16 scores stay close."""
    model = tiny_rm(tokenizer)
    path = reward.save_reward_model(model, tokenizer, tmp_path / "rm", info={"arch": "tiny"})
    for native, dtype in ((True, torch.bfloat16), (False, torch.float32)):
        monkeypatch.setattr(models, "bf16_is_fast", lambda device="cpu", native=native: native)
        assert models.fast_dtype("cpu") == dtype
    prompts, responses = ["Hi", "What is 2+2?", "Tell me a joke."], ["Hello!", "4", "No."]
    fp32, tok = train_reward.load_or_train(path, device="cpu")
    bf16, _ = train_reward.load_or_train(path, device="cpu", dtype=torch.bfloat16)
    assert next(fp32.parameters()).dtype == torch.float32 and next(bf16.parameters()).dtype == torch.bfloat16
    a, b = (reward.score(m, tok, prompts, responses, max_length=48) for m in (fp32, bf16))
    assert all(isinstance(s, float) for s in b)
    assert max(abs(x - y) for x, y in zip(a, b, strict=True)) < 0.05 * max(1.0, max(abs(x) for x in a))


def test_every_reward_function_normalises_through_one_core():
    """reward.normalised: (s - mean) / std, elementwise as Python floats would give it, float32 scores kept in float32
    (chapter 5's sequence models); scored_text_fn decodes, scores (prompt, text) and normalises."""
    raw = [0.3, -1.7, 2.25]
    assert reward.normalised(raw, 0.1, 1.3) == [(x - 0.1) / 1.3 for x in raw]
    f32 = np.array(raw, dtype=np.float32)
    assert reward.normalised(f32, 0.1, 1.3) == ((f32 - 0.1) / 1.3).tolist()

    class Tok:
        def decode(self, ids, skip_special_tokens=True):
            return " " + "x" * len(ids) + " "

    seen = []
    fn = reward.scored_text_fn(lambda p, t: seen.append((p, t)) or [float(len(s)) for s in t], Tok(), 1.0, 2.0)
    assert fn([{"prompt": "a"}, {"prompt": "b"}], [[5, 6, 7], [5]]) == [1.0, 0.0]
    assert seen == [(["a", "b"], ["xxx", "x"])]


def test_ppo_scores_with_the_max_length_the_reward_model_was_trained_at(tmp_path):
    """reward.trained_max_length, read by train_ppo.prepare and iterate alike: reward_info.json's, else the default."""
    assert reward.trained_max_length(tmp_path, 384) == 384  # no reward_info.json
    (tmp_path / "reward_info.json").write_text('{"max_length": 128}')
    assert reward.trained_max_length(tmp_path, 384) == 128
    (tmp_path / "reward_info.json").write_text('{"max_length": null}')
    assert reward.trained_max_length(str(tmp_path), 384) == 384
