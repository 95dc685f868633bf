"""The gpu profile's code paths on a CPU, at the ci profile's sizes: profile `gpu-smoke` (docs/profiles.md).

No GPU has ever run the gpu profile, so its branches would meet a learner untested. Here they run on a tiny random
Llama: chapter 2's transformer reward model built the gpu way (LoRA on every layer, no top-k cache), trained,
interrupted, resumed and saved; chapters 4-6's policy with LoRA on every layer (no frozen trunk) over bf16 base
weights, as `train_ppo.prepare` and `train_ppo.load_actor_critic` build it, trained a few PPO steps; bf16 sampling
(chapters 0-1); chapter 6's DPO in bf16; and each "None = all" size of the gpu column, read by what reads it.
Speed, CUDA kernels, memory and bf16 numerics on a GPU are what only a GPU can show.
"""

import math
import sys

import pytest
import torch
from transformers import AutoModelForSequenceClassification

from rlhf_lib import compare, config, data, features, judge, models, pairs, ppo, reward, train_ppo
from rlhf_lib.reward import TrainConfig

# ci sizes, shrunk further: a CPU without native bf16 emulates the gpu path's bf16 autocast, several times slower
SHRUNK = dict(reward__max_train_pairs=16, reward__max_eval_pairs=8, reward__max_length=64, reward__batch_size=4,
              reward__eval_every=2, ppo__max_new_tokens=8)


def _bf16_is_fast(monkeypatch) -> None:
    """What a GPU answers (bf16 is fast: bf16 base weights and autocast), in every module that holds the name."""
    for name, module in list(sys.modules.items()):
        if name.startswith("rlhf_lib") and callable(getattr(module, "bf16_is_fast", None)):
            monkeypatch.setattr(module, "bf16_is_fast", lambda device=None: True)


@pytest.fixture(scope="module")
def cfg(tmp_path_factory):
    """The gpu-smoke configuration, with a tiny random 3-layer Llama folder as the base model; artifacts in a
    temporary folder (a random reward model in it, where chapter 4 looks for chapter 2's)."""
    root = tmp_path_factory.mktemp("gpu_smoke")
    base = root / "tiny_base"
    model, tokenizer = models.load_tiny_model(seed=0, layers=3)
    model.save_pretrained(base)
    tokenizer.save_pretrained(base)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RLHF_ARTIFACTS", str(root / "artifacts"))
        torch.manual_seed(0)
        rm = AutoModelForSequenceClassification.from_config(
            model.config.__class__.from_dict({**model.config.to_dict(), "num_labels": 1}))
        rm.config.pad_token_id = tokenizer.pad_token_id
        reward.save_reward_model(rm, tokenizer, info={"arch": "random"})
        yield config.load("gpu-smoke", model__name=str(base), **SHRUNK)


def test_the_smoke_profile_makes_the_gpu_choices(cfg):
    assert (cfg.reward.arch, cfg.reward.lora_epochs, cfg.ppo.lora_layers) == ("lora", None, None)
    assert cfg.ppo.steps == config.load("ci").ppo.steps  # sizes: ci's (some shrunk here: SHRUNK)


def test_chapter2_reward_model_the_gpu_way_trains_resumes_and_saves(cfg, tmp_path):
    """Notebook 02 in the gpu profile: §3 builds the LoRA model and extracts the FFN's features through it; §6
    trains it on token ids (no cache), interrupted and resumed; §9 saves it with LoRA merged in."""
    R = cfg.reward

    def fresh():
        return reward.load_transformer_rm(cfg.model.name, R.arch, R.top_k, R.lora_r, seed=cfg.seed)

    rm, tokenizer = fresh()
    assert hasattr(rm, "get_base_model")  # peft-wrapped
    prefs = data.load_preferences()
    table = pairs.build_pairs(prefs, tokenizer, R.max_length, pairs.split_caps(R), seed=cfg.seed)
    pairs.add_vote_splits(table, prefs, data.load_panel_votes())
    tr, va = ("train_votes", "val_votes") if "train_votes" in table.splits else ("train", "val")
    train, val = table.splits[tr], table.splits[va]
    cache = features.extract(rm, tokenizer, table, R.top_k, models.resolve(cfg.model.name), R.feature_batch_size,
                             cache=False, progress=False)
    assert cache.pooled.shape[:2] == (len(table), rm.config.num_hidden_layers + 1)
    assert torch.isfinite(cache.features(rm.config.num_hidden_layers, "both").float()).all()
    tc = TrainConfig(loss="bt", optimizer="adamw", lr=R.lr, batch_size=R.batch_size, epochs=R.epochs,
                     eval_every=R.eval_every, patience=R.patience, center_coef=0.01, seed=cfg.seed)
    fn = reward.token_reward_fn(rm, table, tokenizer.pad_token_id)
    before = reward.evaluate(fn, train, tc)["loss"]
    ckpt = tmp_path / "ckpt"
    reward.train(rm, fn, train, val, tc, ckpt_dir=ckpt, stop_after=R.eval_every + 1, autocast=True, progress=False)
    resumed = reward.train(rm, fn, train, val, tc, ckpt_dir=ckpt, autocast=True, progress=False)
    straight_rm, _ = fresh()
    straight = reward.train(straight_rm, reward.token_reward_fn(straight_rm, table, tokenizer.pad_token_id), train,
                            val, tc, autocast=True, progress=False)
    assert resumed.steps == straight.steps > R.eval_every + 1
    for (name, a), b in zip(rm.named_parameters(), straight_rm.parameters(), strict=True):
        if a.requires_grad:
            assert torch.equal(a, b), name  # the resumed LoRA run ends where the uninterrupted one does
    rm.eval()
    assert reward.evaluate(fn, train, tc)["loss"] < before
    scores = reward.score(rm, tokenizer, ["What is the capital of France?"], ["Paris."], max_length=R.max_length)
    path = reward.save_reward_model(rm, tokenizer, tmp_path / "reward_model", info={"arch": R.arch})
    loaded, loaded_tok = reward.load_reward_model(path, device="cpu")
    assert not hasattr(loaded, "get_base_model")  # merged: chapters 3-6 read a plain seq-cls model
    assert reward.score(loaded, loaded_tok, ["What is the capital of France?"], ["Paris."],
                        max_length=R.max_length) == pytest.approx(scores, abs=1e-4)


def _frozen_dtype(ac) -> torch.dtype:
    return next(p for p in ac.policy.parameters() if not p.requires_grad).dtype


def _lora_layers(ac) -> set[int]:
    return {int(n.split(".layers.")[1].split(".")[0]) for n, _ in ac.policy.named_parameters() if "lora_A" in n}


def test_chapter4_ppo_the_gpu_way_lora_everywhere_over_bf16_weights(cfg, monkeypatch):
    """`train_ppo.prepare` (chapter 4's set-up) in the gpu profile: LoRA on every layer so no trunk is frozen and
    cached, bf16 base weights and autocast; then the main loop's PPO steps."""
    _bf16_is_fast(monkeypatch)
    s = train_ppo.prepare(cfg, torch.device("cpu"))
    n_layers = s.ac.policy.config.num_hidden_layers
    assert s.ac.bottom is None and _lora_layers(s.ac) == set(range(n_layers))
    assert _frozen_dtype(s.ac) == torch.bfloat16 and s.run.autocast
    assert all(p.dtype == torch.float32 for p in s.ac.trainable_parameters())  # adapters and value head: fp32
    history = ppo.train(s.ac, s.ids, s.prompts, s.reward_fn, s.run, s.eos, s.pad, progress=False)
    assert len(history) == cfg.ppo.steps
    for h in history:
        assert all(math.isfinite(h[k]) for k in ("objective/kl", "objective/scores", "loss/policy", "loss/value"))


def test_chapter5_actor_critic_the_gpu_way(cfg, monkeypatch):
    """`train_ppo.load_actor_critic` (chapters 5.1 and 5.4) in the gpu profile, and one PPO step of its config."""
    _bf16_is_fast(monkeypatch)
    ac, tokenizer, fast_bf16 = train_ppo.load_actor_critic(cfg, torch.device("cpu"))
    assert fast_bf16 and ac.bottom is None and _frozen_dtype(ac) == torch.bfloat16
    assert _lora_layers(ac) == set(range(ac.policy.config.num_hidden_layers))
    run = train_ppo.profile_ppo_config(cfg, steps=1, autocast=fast_bf16)
    prompts = data.load_prompts("train")[: run.batch_size]
    history = ppo.train(ac, models.chat_prompt_ids(tokenizer, prompts), prompts, lambda m, r: [len(x) / 8 for x in r],
                        run, tokenizer.eos_token_id, tokenizer.pad_token_id, progress=False)
    assert len(history) == 1 and math.isfinite(history[0]["loss/policy"])


def test_chapters0_1_sample_with_bf16_weights(cfg):
    """On a GPU `models.pick_dtype` gives bf16 weights: chapter 0 chats and chapter 1 samples with them."""
    model, tokenizer = models.load_model(cfg.model.name, device="cpu", dtype=torch.bfloat16)
    assert next(model.parameters()).dtype == torch.bfloat16
    out = models.generate(model, tokenizer, ["Hi", "Name a colour"], n=2, max_new_tokens=5, progress=False)
    assert [len(g) for g in out] == [2, 2] and all(1 <= x.n_tokens <= 5 for g in out for x in g)


def test_chapter6_dpo_in_bf16_with_lora_everywhere(cfg, tmp_path):
    """Notebook 06's DPO cell in the gpu profile: bf16 base weights, `bf16=True`, adapters on every layer."""
    from trl import DPOConfig, DPOTrainer

    B, P = cfg.beyond, cfg.ppo
    base, tokenizer = models.load_model(cfg.model.name, device="cpu", dtype=torch.bfloat16)
    pairs = compare.conversational_pairs(data.load_preferences()["train"], B.dpo_pairs, seed=cfg.seed)
    args = DPOConfig(output_dir=str(tmp_path), beta=B.dpo_beta, learning_rate=B.dpo_lr,
                     per_device_train_batch_size=B.dpo_batch_size, num_train_epochs=B.dpo_epochs,
                     max_length=cfg.reward.max_length, gradient_checkpointing=False, bf16=True, use_cpu=True,
                     logging_steps=1, report_to="none", save_strategy="no", seed=cfg.seed, disable_tqdm=True)
    trainer = DPOTrainer(model=base, args=args, train_dataset=pairs, processing_class=tokenizer,
                         peft_config=models.lora_config(base.config.num_hidden_layers, P.lora_r, P.lora_layers))
    trainer.train()
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    assert losses and all(math.isfinite(x) for x in losses)


def test_every_none_of_the_gpu_column_is_read_as_all(tokenizer):
    """The gpu column's "None = all" sizes, each passed to the function that reads it in the chapters."""
    gpu = config.load("gpu")
    prefs, train_prompts, test_prompts = data.load_preferences(), data.load_prompts("train"), data.load_prompts("test")
    # chapter 2 (reward.max_train_pairs / max_eval_pairs / chapter_train_pairs) and train_reward
    caps = pairs.split_caps(gpu.reward)
    assert set(caps.values()) == {None} and caps == pairs.split_caps(gpu.reward, chapter=False)
    table = pairs.build_pairs(prefs, tokenizer, 64, caps, seed=0)
    assert {k: len(v) for k, v in table.splits.items()} == {k: len(prefs[k]) for k in ("train", "val", "test")}
    # chapter 5.1 (apps.chat_eval_prompts); chapter 6 (beyond.dpo_pairs, beyond.implicit_pairs)
    assert judge.stratified(test_prompts, gpu.apps.chat_eval_prompts, seed=0) == test_prompts
    assert len(compare.conversational_pairs(prefs["train"], gpu.beyond.dpo_pairs, seed=0)) == len(prefs["train"])
    assert compare.pair_subset(prefs["test"], gpu.beyond.implicit_pairs, seed=0) is prefs["test"]
    # chapter 1 (data.max_prompts) and 5.4 (apps.voice_max_prompts) test for None before they subset
    assert gpu.data.max_prompts is None and gpu.apps.voice_max_prompts is None
    assert judge.stratified(train_prompts, None, seed=1) == train_prompts
