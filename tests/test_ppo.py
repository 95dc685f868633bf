"""Every formula of rlhf_lib.ppo against values computed by hand, then the loop on a tiny random model."""

import copy
import json
import math

import pytest
import torch
import torch.nn.functional as F

from rlhf_lib import checkpoint, decode, judge, models, ppo, train_ppo


# ------------------------------------------------------------------------------------- the formulas
def test_masked_mean_and_whiten_use_only_masked_positions():
    x = torch.tensor([[1.0, 3.0, 100.0]])
    mask = torch.tensor([[1, 1, 0]])
    assert ppo.masked_mean(x, mask).item() == pytest.approx(2.0)
    w = ppo.whiten(x, mask)
    assert w[0, :2].tolist() == pytest.approx([-1.0, 1.0], abs=1e-4)


def test_kl_estimators_by_hand():
    logp, ref = torch.tensor([math.log(0.5)]), torch.tensor([math.log(0.25)])
    k = ppo.kl_estimators(logp, ref)
    assert k["k1"].item() == pytest.approx(math.log(2))
    assert k["k2"].item() == pytest.approx(0.5 * math.log(2) ** 2)
    assert k["k3"].item() == pytest.approx((0.5 - 1) + math.log(2))


def test_k1_and_k3_are_unbiased_for_the_true_kl():
    torch.manual_seed(0)
    p = torch.softmax(torch.randn(20), 0)
    q = torch.softmax(torch.randn(20), 0)
    exact = (p * (p.log() - q.log())).sum().item()
    x = torch.multinomial(p, 200_000, replacement=True)
    k = ppo.kl_estimators(p.log()[x], q.log()[x])
    assert k["k1"].mean().item() == pytest.approx(exact, rel=0.03)
    assert k["k3"].mean().item() == pytest.approx(exact, rel=0.03)
    assert (k["k3"] >= 0).all()


def test_kl_penalty_rewards_by_hand():
    scores = torch.tensor([2.0])
    logp = torch.tensor([[-1.0, -2.0, -3.0]])
    ref = torch.tensor([[-1.5, -2.0, -2.0]])
    mask = torch.tensor([[1.0, 1.0, 0.0]])
    rewards, kl = ppo.kl_penalty_rewards(scores, logp, ref, mask, beta=0.1)
    assert kl[0].tolist() == pytest.approx([0.5, 0.0, 0.0])
    assert rewards[0].tolist() == pytest.approx([-0.05, 2.0, 0.0])  # the score lands on the last response token


def test_leave_one_out_by_hand():
    scores = torch.tensor([1.0, 2.0, 3.0, 10.0, 10.0, 13.0])  # two prompts, three answers each
    # 1 − (2+3)/2, 2 − (1+3)/2, 3 − (1+2)/2 ; 10 − 23/2, 10 − 23/2, 13 − 10
    torch.testing.assert_close(ppo.leave_one_out(scores, 3), torch.tensor([-1.5, 0.0, 1.5, -1.5, -1.5, 3.0]))
    # a prompt's own level is gone: shifting one prompt's scores changes nothing
    torch.testing.assert_close(ppo.leave_one_out(scores + torch.tensor([0, 0, 0, 5.0, 5.0, 5.0]), 3),
                               ppo.leave_one_out(scores, 3))
    with pytest.raises(ValueError, match="at least 2"):
        ppo.leave_one_out(scores, 1)
    with pytest.raises(ValueError, match="whole groups of 4"):
        ppo.leave_one_out(scores, 4)


def test_gae_by_hand():
    rewards = torch.tensor([[0.0, 0.0, 1.0]])
    values = torch.tensor([[0.5, 0.5, 0.5]])
    adv, ret = ppo.gae(rewards, values, torch.ones(1, 3), gamma=1.0, lam=0.5)
    # δ = [0, 0, 0.5]; A_2 = 0.5, A_1 = 0 + 0.5·0.5, A_0 = 0.5·0.25
    assert adv[0].tolist() == pytest.approx([0.125, 0.25, 0.5])
    assert ret[0].tolist() == pytest.approx([0.625, 0.75, 1.0])


def test_gae_stops_at_the_end_of_the_response():
    rewards = torch.tensor([[0.0, 1.0, 7.0]])  # the 7 is past the end and must be ignored
    values = torch.tensor([[0.5, 0.5, 9.0]])
    adv, _ = ppo.gae(rewards, values, torch.tensor([[1.0, 1.0, 0.0]]), gamma=1.0, lam=0.5)
    assert adv[0].tolist() == pytest.approx([0.25, 0.5, 0.0])


def test_gae_with_lambda_one_is_return_minus_value():
    torch.manual_seed(1)
    r, v = torch.randn(2, 5), torch.randn(2, 5)
    adv, ret = ppo.gae(r, v, torch.ones(2, 5), gamma=1.0, lam=1.0)
    reward_to_go = r.flip(1).cumsum(1).flip(1)
    assert torch.allclose(ret, reward_to_go, atol=1e-5)
    assert torch.allclose(adv, reward_to_go - v, atol=1e-5)


def test_policy_loss_clips_by_hand():
    old = torch.zeros(1, 3)
    new = torch.log(torch.tensor([[1.5, 0.5, 1.0]]))
    adv = torch.tensor([[1.0, -1.0, 1.0]])
    loss, stats = ppo.policy_loss(new, old, adv, torch.ones(1, 3), clip_eps=0.2)
    # token 0: max(−1.5, −1.2) = −1.2; token 1: max(0.5, 0.8) = 0.8; token 2: −1
    assert loss.item() == pytest.approx((-1.2 + 0.8 - 1.0) / 3)
    assert stats["policy/clipfrac"] == pytest.approx(2 / 3)


def test_policy_loss_gradient_is_zero_once_clipped():
    new = torch.log(torch.tensor([[1.5]])).requires_grad_()
    loss, _ = ppo.policy_loss(new, torch.zeros(1, 1), torch.ones(1, 1), torch.ones(1, 1), 0.2)
    loss.backward()
    assert new.grad.item() == 0.0


def test_value_loss_by_hand():
    loss, stats = ppo.value_loss(torch.tensor([[1.0]]), torch.tensor([[0.5]]), torch.tensor([[1.0]]),
                                 torch.ones(1, 1), clip_value=0.2)
    assert loss.item() == pytest.approx(0.5 * 0.3 ** 2)  # V is held at 0.5 + 0.2 = 0.7
    assert stats["val/clipfrac"] == 1.0


def test_adaptive_kl_controller_by_hand():
    ctl = ppo.AdaptiveKLController(0.1, target=6.0, horizon=10_000)
    ctl.update(kl=12.0, n_steps=16)  # error clipped to +0.2
    assert ctl.beta == pytest.approx(0.1 * (1 + 0.2 * 16 / 10_000))
    ctl.update(kl=6.0, n_steps=16)  # on target: unchanged
    assert ctl.beta == pytest.approx(0.1 * (1 + 0.2 * 16 / 10_000))
    ctl.update(kl=4.5, n_steps=100)  # error −0.25 -> −0.2
    assert ctl.beta == pytest.approx(0.1 * (1 + 0.2 * 16 / 10_000) * (1 - 0.2 * 100 / 10_000))
    fixed = ppo.FixedKLController(0.05)
    fixed.update(100.0, 16)
    assert fixed.beta == 0.05


def test_token_logprobs_and_entropy_match_torch():
    torch.manual_seed(0)
    head = torch.nn.Linear(8, 11, bias=False)
    lm = type("LM", (), {"get_output_embeddings": lambda self: head})()
    hidden, tokens = torch.randn(2, 5, 8), torch.randint(0, 11, (2, 5))
    lp, ent = ppo.token_logprobs(lm, hidden, tokens, temperature=0.7, with_entropy=True)
    logits = head(hidden) / 0.7
    assert torch.allclose(lp, F.log_softmax(logits, -1).gather(-1, tokens[..., None])[..., 0], atol=1e-5)
    assert torch.allclose(ent, torch.distributions.Categorical(logits=logits).entropy(), atol=1e-5)


def test_response_mask_and_left_pad():
    mask, finished = ppo.response_mask(torch.tensor([[5, 2, 2, 2], [5, 6, 7, 8]]), eos_id=2)
    assert mask.tolist() == [[1, 1, 0, 0], [1, 1, 1, 1]]
    assert finished.tolist() == [True, False]
    ids, m = models.pad_batch([[1, 2, 3], [4]], 0, side="left")
    assert ids.tolist() == [[1, 2, 3], [0, 0, 4]] and m.tolist() == [[1, 1, 1], [0, 0, 1]]


def test_batch_indices_cover_every_prompt_each_pass_and_repeat():
    seen = sum((ppo.batch_indices(10, 5, step, seed=3) for step in range(2)), [])
    assert sorted(seen) == list(range(10))
    assert ppo.batch_indices(10, 4, 2, seed=3) == ppo.batch_indices(10, 4, 2, seed=3)  # crosses a pass boundary
    assert len(ppo.batch_indices(3, 8, 0, seed=0)) == 8  # a batch larger than the prompts wraps around


def test_win_rate_splits_ties():
    assert judge.win_rate([1, 2, 3, 0], [0, 2, 4, 0]) == pytest.approx((1 + 0.5 + 0 + 0.5) / 4)
    with pytest.raises(ValueError, match="equal, non-empty"):
        judge.win_rate([], [])


def test_reward_normaliser():
    mean, std = judge.reward_normaliser([1.0, 3.0])
    assert (mean, std) == pytest.approx((2.0, 1.0))
    with pytest.raises(ValueError, match="finite"):
        judge.reward_normaliser([1.0, float("nan")])


# ---------------------------------------------------------------------------- the loop, tiny model
def _setup(tokenizer, seed=0):
    model, _ = models.load_tiny_model(seed=seed, tokenizer=tokenizer)
    ac = ppo.ActorCritic(models.with_lora(model, r=4))
    prompts = [tokenizer(models.chat_prompt(tokenizer, q), add_special_tokens=False)["input_ids"]
               for q in ("Hi", "What is 2+2?", "Tell me a story", "Name a colour")]
    return ac, prompts


def _length_reward(meta, responses):
    return [len(r) / 8 for r in responses]


CFG = dict(batch_size=4, minibatch_size=2, max_new_tokens=6, lr=3e-3, autocast=False, save_every=2)


def test_evaluate_actions_matches_the_models_own_forward(tokenizer):
    ac, prompts = _setup(tokenizer)
    ids, mask = models.pad_batch(prompts[:2], tokenizer.pad_token_id, side="left")
    resp = torch.randint(0, 100, (2, 3))
    full_ids, full_mask = torch.cat([ids, resp], 1), torch.cat([mask, torch.ones(2, 3, dtype=torch.long)], 1)
    lp, values, _ = ppo.evaluate_actions(ac, full_ids, full_mask, ids.shape[1], temperature=0.5)
    logits = ac.policy(input_ids=full_ids, attention_mask=full_mask,
                       position_ids=models.position_ids(full_mask)).logits[:, ids.shape[1] - 1:-1] / 0.5
    assert torch.allclose(lp, F.log_softmax(logits, -1).gather(-1, resp[..., None])[..., 0], atol=1e-4)
    assert values.shape == (2, 3)


def test_rollout_logprobs_are_the_policys_and_reference_is_adapters_off(tokenizer):
    ac, prompts = _setup(tokenizer)
    cfg = ppo.PPOConfig(**CFG)
    batch = ppo.rollout(ac, prompts, [None] * 4, _length_reward, cfg, tokenizer.eos_token_id,
                        tokenizer.pad_token_id, seed=0)
    # LoRA's B starts at zero: before any update the policy IS the reference
    assert torch.allclose(batch.logprobs, batch.ref_logprobs, atol=1e-5)
    # a random model rarely says EOS: call the second token of the first answer "EOS" and sample again (same
    # seed, same draws), so that the batch holds finished and unfinished answers
    stop = batch.responses[0][1]
    batch = ppo.rollout(ac, prompts, [None] * 4, _length_reward, cfg, stop, tokenizer.pad_token_id, seed=0)
    done = batch.finished.tolist()
    assert done[0] and not all(done)
    for r, f in zip(batch.responses, done, strict=True):  # cut after the first EOS; unfinished = the whole budget
        assert (r[-1] == stop and r.count(stop) == 1) if f else (len(r) == cfg.max_new_tokens and stop not in r)
    assert batch.raw_scores.tolist() == pytest.approx(_length_reward(None, batch.responses))
    assert batch.scores.tolist() == pytest.approx([len(r) / 8 if f else cfg.missing_eos_penalty
                                                   for r, f in zip(batch.responses, done, strict=True)])


def _toy_policy(vocab: int = 16, seed: int = 0):
    """A custom token-sequence policy: a 2-layer Llama over 16 symbols (0 = EOS, 1 = pad), no tokenizer."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                         bos_token_id=2, eos_token_id=0, pad_token_id=1)
    return LlamaForCausalLM(config).eval()


def test_training_raises_the_reward_of_a_custom_token_policy():
    policy = _toy_policy()
    ac = ppo.ActorCritic(policy, ref_policy=copy.deepcopy(policy))  # full fine-tuning, a frozen copy as π_ref

    def reward(meta, responses):  # the share of the symbol 3 (1 in 16 at random)
        return [sum(t == 3 for t in r) / max(1, len(r)) for r in responses]

    cfg = ppo.PPOConfig(steps=15, batch_size=8, minibatch_size=4, max_new_tokens=6, lr=3e-3, autocast=False,
                        missing_eos_penalty=None, beta=0.01)
    history = ppo.train(ac, [[2, 5, 6]] * 4, [None] * 4, reward, cfg, eos_id=0, pad_id=1, progress=False)
    first = sum(h["objective/scores"] for h in history[:3]) / 3
    last = sum(h["objective/scores"] for h in history[-3:]) / 3
    assert last > first + 0.2
    assert history[-1]["objective/kl"] > 0.05  # it paid for the reward by moving away from π_ref
    for key in ("objective/entropy", "policy/approxkl", "policy/clipfrac", "loss/value", "beta"):
        assert key in history[-1]


def test_several_samples_per_prompt_and_the_leave_one_out_baseline(tokenizer):
    eos, pad = tokenizer.eos_token_id, tokenizer.pad_token_id
    ac, prompts = _setup(tokenizer)
    seen = []

    def reward(meta, responses):
        seen.append(list(meta))
        return _length_reward(meta, responses)

    cfg = ppo.PPOConfig(steps=2, samples_per_prompt=2, baseline="loo", **CFG)
    history = ppo.train(ac, prompts, list(range(4)), reward, cfg, eos, pad, progress=False)
    assert len(history) == 2
    for batch in seen:  # 4 episodes = 2 prompts x 2 answers, each prompt's answers side by side
        assert len(batch) == 4 and batch[0] == batch[1] and batch[2] == batch[3] and batch[0] != batch[2]
    with pytest.raises(ValueError, match="samples_per_prompt >= 2"):
        ppo.train(ac, prompts, list(range(4)), reward, ppo.PPOConfig(steps=1, baseline="loo", **CFG), eos, pad,
                  progress=False)
    with pytest.raises(ValueError, match="times samples_per_prompt"):
        ppo.train(ac, prompts, list(range(4)), reward, ppo.PPOConfig(steps=1, samples_per_prompt=3, **CFG), eos, pad,
                  progress=False)


def test_resume_from_checkpoint_equals_an_uninterrupted_run(tokenizer, tmp_path):
    eos, pad = tokenizer.eos_token_id, tokenizer.pad_token_id
    cfg = ppo.PPOConfig(steps=4, **CFG)
    ac, prompts = _setup(tokenizer)
    straight = ppo.train(ac, prompts, [None] * 4, _length_reward, cfg, eos, pad, progress=False)
    ac_a, _ = _setup(tokenizer)  # stopped after 2 steps (a checkpoint is written at step 2)
    ppo.train(ac_a, prompts, [None] * 4, _length_reward, ppo.PPOConfig(**{**CFG, "steps": 2}), eos, pad,
              ckpt_dir=tmp_path / "ck", progress=False)
    ac_b, _ = _setup(tokenizer)  # a fresh process: new model, state only from disk
    resumed = ppo.train(ac_b, prompts, [None] * 4, _length_reward, cfg, eos, pad, ckpt_dir=tmp_path / "ck",
                        progress=False)
    assert [h["objective/scores"] for h in resumed] == pytest.approx([h["objective/scores"] for h in straight])
    assert [h["loss/policy"] for h in resumed] == pytest.approx([h["loss/policy"] for h in straight])
    for (name, p), q in zip(ac.named_parameters(), ac_b.parameters(), strict=True):
        assert torch.allclose(p, q, atol=1e-6), name


def test_checkpoint_with_other_settings_is_refused(tokenizer, tmp_path):
    eos, pad = tokenizer.eos_token_id, tokenizer.pad_token_id
    ac, prompts = _setup(tokenizer)
    ppo.train(ac, prompts, [None] * 4, _length_reward, ppo.PPOConfig(steps=2, **CFG), eos, pad,
              ckpt_dir=tmp_path / "ck", progress=False)
    with pytest.raises(ValueError, match="other settings.*lr"):
        ppo.train(ac, prompts, [None] * 4, _length_reward, ppo.PPOConfig(steps=2, **{**CFG, "lr": 1.0}), eos, pad,
                  ckpt_dir=tmp_path / "ck", progress=False)


def test_a_checkpoint_against_another_reward_model_is_replaced_by_a_fresh_run(tokenizer, tmp_path, capsys):
    eos, pad = tokenizer.eos_token_id, tokenizer.pad_token_id
    ac, prompts = _setup(tokenizer)
    ppo.train(ac, prompts, [None] * 4, _length_reward, ppo.PPOConfig(steps=2, reward_id="rm-a", **CFG), eos, pad,
              ckpt_dir=tmp_path / "ck", progress=False)
    other = ppo.PPOConfig(steps=2, reward_id="rm-b", **CFG)
    with pytest.raises(checkpoint.CheckpointMismatchError, match="other settings.*reward_id") as err:
        ppo.train(ac, prompts, [None] * 4, _length_reward, other, eos, pad, ckpt_dir=tmp_path / "ck", progress=False)
    assert err.value.changed == ("reward_id",)
    ac_fresh, _ = _setup(tokenizer)
    history = ppo.train(ac_fresh, prompts, [None] * 4, _length_reward, other, eos, pad, ckpt_dir=tmp_path / "ck",
                        progress=False, restart_if_changed=True)
    assert len(history) == 2 and "starting afresh" in capsys.readouterr().out  # trained, not resumed
    resumed = ppo.train(ac_fresh, prompts, [None] * 4, _length_reward, other, eos, pad, ckpt_dir=tmp_path / "ck",
                        progress=False, restart_if_changed=True)
    assert resumed == history  # the new checkpoint is now the one to resume
    # a checkpoint written before `reward_id` existed resumes under the default, and only under it
    state = json.loads((tmp_path / "ck" / "state.json").read_text())
    del state["config"]["reward_id"]
    (tmp_path / "ck" / "state.json").write_text(json.dumps(state))
    plain = ppo.PPOConfig(steps=2, **CFG)
    assert ppo.train(ac_fresh, prompts, [None] * 4, _length_reward, plain, eos, pad, ckpt_dir=tmp_path / "ck",
                     progress=False) == history
    with pytest.raises(checkpoint.CheckpointMismatchError, match="reward_id"):
        ppo.train(ac_fresh, prompts, [None] * 4, _length_reward, other, eos, pad, ckpt_dir=tmp_path / "ck",
                  progress=False)


def test_bad_input_is_named(tokenizer):
    ac, prompts = _setup(tokenizer)
    eos, pad = tokenizer.eos_token_id, tokenizer.pad_token_id
    cfg = ppo.PPOConfig(steps=1, **CFG)
    with pytest.raises(ValueError, match="non-empty list of prompts"):
        ppo.train(ac, [], [], _length_reward, cfg, eos, pad, progress=False)
    with pytest.raises(ValueError, match="empty prompt"):
        ppo.train(ac, [[]], [None], _length_reward, cfg, eos, pad, progress=False)
    with pytest.raises(ValueError, match="must divide"):
        ppo.train(ac, prompts, [None] * 4, _length_reward, ppo.PPOConfig(**{**CFG, "minibatch_size": 3}), eos, pad,
                  progress=False)
    with pytest.raises(FloatingPointError, match="non-finite"):
        ppo.train(ac, prompts, [None] * 4, lambda m, r: [float("nan")] * len(r), cfg, eos, pad, progress=False)
    with pytest.raises(ValueError, match="ref_policy"):
        ppo.ActorCritic(models.load_tiny_model(tokenizer=tokenizer)[0])


def test_save_policy_merges_lora_and_reloads(tokenizer, tmp_path):
    ac, prompts = _setup(tokenizer)
    with torch.no_grad():
        for name, p in ac.policy.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.1)
    path = train_ppo.save_policy(ac, tokenizer, tmp_path / "policy")
    assert (path / "model.safetensors").is_file()
    reloaded, _ = models.load_model(str(path), device="cpu")
    ids = torch.tensor([prompts[0]])
    with torch.no_grad():
        assert torch.allclose(reloaded(ids).logits, ac.policy(ids).logits, atol=1e-4)


def test_frozen_trunk_gives_the_same_numbers_as_the_whole_network(tokenizer):
    model, _ = models.load_tiny_model(seed=0, tokenizer=tokenizer, layers=3)
    ac = ppo.ActorCritic(models.with_lora(model, r=4, top_layers=1), frozen_bottom=2)
    with torch.no_grad():
        for name, p in ac.policy.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.5)  # adapters that do something, so policy != reference
        ac.value_head.weight.normal_()
    prompts = [tokenizer(models.chat_prompt(tokenizer, q), add_special_tokens=False)["input_ids"] for q in ("Hi", "2+2?")]
    ids, mask = models.pad_batch(prompts, tokenizer.pad_token_id, side="left")
    ids = torch.cat([ids, torch.randint(0, 500, (2, 4))], 1)
    mask = torch.cat([mask, torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]])], 1)
    n = ids.shape[1] - 4
    trunk = ppo.trunk_states(ac, ids, mask)
    whole = ppo.evaluate_actions(ac, ids, mask, n, 0.7)
    split = ppo.evaluate_actions(ac, ids, mask, n, 0.7, trunk=trunk)
    assert torch.allclose(whole[0], split[0], atol=1e-5) and torch.allclose(whole[1], split[1], atol=1e-5)
    ref_whole = ppo.reference_logprobs(ac, ids, mask, n, 0.7)
    assert torch.allclose(ref_whole, ppo.reference_logprobs(ac, ids, mask, n, 0.7, trunk=trunk), atol=1e-5)
    assert not torch.allclose(ref_whole, whole[0], atol=1e-3)  # the adapters really are off for the reference
    with pytest.raises(ValueError, match="top layers only"):
        ppo.ActorCritic(models.with_lora(models.load_tiny_model(tokenizer=tokenizer, layers=3)[0], r=4), frozen_bottom=2)


def test_training_with_a_frozen_trunk_equals_training_without(tokenizer):
    prompts = [tokenizer(models.chat_prompt(tokenizer, q), add_special_tokens=False)["input_ids"]
               for q in ("Hi", "What is 2+2?", "Tell me a story", "Name a colour")]
    logs = []
    for frozen in (0, 2):
        model, _ = models.load_tiny_model(seed=0, tokenizer=tokenizer, layers=3)
        ac = ppo.ActorCritic(models.with_lora(model, r=4, top_layers=1), frozen_bottom=frozen)
        logs.append(ppo.train(ac, prompts, [None] * 4, _length_reward, ppo.PPOConfig(steps=3, **CFG),
                              tokenizer.eos_token_id, tokenizer.pad_token_id, progress=False))
    for key in ("objective/scores", "objective/kl", "loss/policy", "loss/value"):
        assert [h[key] for h in logs[0]] == pytest.approx([h[key] for h in logs[1]], abs=1e-4), key


def test_a_separate_value_model_trains_and_leaves_the_policy_head_alone():
    policy, critic = _toy_policy(seed=0), _toy_policy(seed=1)
    ac = ppo.ActorCritic(policy, ref_policy=copy.deepcopy(policy), value_model=critic)
    ids = torch.tensor([[2, 5, 6, 3, 4]])
    mask = torch.ones_like(ids)
    _, values, _ = ppo.evaluate_actions(ac, ids, mask, 3, 1.0)
    hidden = critic.get_decoder()(input_ids=ids, attention_mask=mask).last_hidden_state[:, 2:-1]
    assert torch.allclose(values, ac.value_head(hidden).squeeze(-1), atol=1e-6)  # V reads the critic's states
    before = [p.clone() for p in critic.parameters()]
    cfg = ppo.PPOConfig(steps=2, batch_size=4, minibatch_size=2, max_new_tokens=4, lr=1e-2, autocast=False,
                        missing_eos_penalty=None)
    ppo.train(ac, [[2, 5, 6]] * 4, [None] * 4, lambda m, r: [float(len(r))] * len(r), cfg, 0, 1, progress=False)
    assert any(not torch.equal(a, b) for a, b in zip(before, critic.parameters(), strict=True))


def test_lora_config_puts_adapters_on_the_top_layers_only():
    assert models.lora_config(30, r=8, top_layers=8).layers_to_transform == list(range(22, 30))
    assert models.lora_config(30, r=8).layers_to_transform is None
    assert models.lora_config(30, r=8).lora_alpha == 16


def test_the_samplers_trunk_gives_the_rollout_the_numbers_of_a_separate_trunk_pass(tokenizer):
    """ppo.sample_and_trunk: the decode sampler keeps the bottom layers' output as it samples. Where a token was fed
    back it matches trunk_states over the whole sequence, and log π, V and log π_ref computed from it match those
    computed from a separate trunk pass (so the rollout may skip that pass). Rows end at different lengths (EOS
    drops them from the batch), and the reference's draws share the trunk too. A bf16 sampler or autocast gives None."""
    model, _ = models.load_tiny_model(seed=0, tokenizer=tokenizer, layers=3)
    ac = ppo.ActorCritic(models.with_lora(model, r=4, top_layers=1), frozen_bottom=2)
    with torch.no_grad():
        for name, p in ac.policy.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.5)
        ac.value_head.weight.normal_()
    prompts = [tokenizer(models.chat_prompt(tokenizer, q), add_special_tokens=False)["input_ids"]
               for q in ("Hi", "What is 2+2?", "Tell me a long story about a cat")]
    p_ids, p_mask = models.pad_batch(prompts, tokenizer.pad_token_id, side="left")
    cfg = ppo.PPOConfig(max_new_tokens=10, temperature=1.5, sampler="decode", autocast=False)
    # the policy's own arithmetic (fp32): on a CPU with native bf16 the sampler would pick bf16 and share nothing
    ac._sampler = decode.Sampler(ac.policy, dtype=torch.float32)
    free, _ = ppo.sample_and_trunk(ac, p_ids, p_mask, cfg, -1, tokenizer.pad_token_id, 0)  # no EOS: full rows
    eos = int(free[:, :6].flatten().mode().values)  # the commonest token as EOS, so rows end at different steps
    lengths = set()
    for reference, seed in ((False, 0), (True, 1), (False, 7)):
        responses, trunk = ppo.sample_and_trunk(ac, p_ids, p_mask, cfg, eos, tokenizer.pad_token_id, seed, reference)
        r_mask, _ = ppo.response_mask(responses, eos)
        lengths |= set(r_mask.sum(1).tolist())
        ids, mask = torch.cat([p_ids, responses], 1), torch.cat([p_mask, r_mask], 1)
        n = p_ids.shape[1]
        separate = ppo.trunk_states(ac, ids, mask)
        assert trunk.shape == separate.shape
        fed = mask.bool().clone()
        fed[:, -1] = False  # the last column is never fed back
        fed[:, n:] &= torch.cat([torch.ones_like(r_mask[:, :1]), r_mask[:, :-1]], 1).bool() & r_mask.bool()
        fed[:, n:] &= ~(responses == eos)  # a row's EOS is not fed back either
        assert torch.allclose(trunk[fed], separate[fed], atol=1e-5)
        assert (trunk[:, -1] == 0).all()
        m = r_mask.float()
        for a, b in zip(ppo.evaluate_actions(ac, ids, mask, n, 0.7, trunk=trunk)[:2],
                        ppo.evaluate_actions(ac, ids, mask, n, 0.7, trunk=separate)[:2], strict=True):
            assert torch.allclose(a * m, b * m, atol=1e-5)
        assert torch.allclose(ppo.reference_logprobs(ac, ids, mask, n, 0.7, trunk=trunk) * m,
                              ppo.reference_logprobs(ac, ids, mask, n, 0.7, trunk=separate) * m, atol=1e-5)
    assert len(lengths) > 1  # the rows did end at different lengths
    autocast = ppo.PPOConfig(max_new_tokens=4, sampler="decode", autocast=True)
    assert ppo.sample_and_trunk(ac, p_ids, p_mask, autocast, eos, tokenizer.pad_token_id, 0)[1] is None
    ac._sampler = decode.Sampler(ac.policy, dtype=torch.bfloat16)  # a bf16 copy: other arithmetic than the trunk's
    assert ppo.sample_and_trunk(ac, p_ids, p_mask, cfg, eos, tokenizer.pad_token_id, 0)[1] is None
