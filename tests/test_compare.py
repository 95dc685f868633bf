"""rlhf_lib.compare: best-of-n against simulation, DPO against TRL's trainer, the memory meter, the glue."""

import itertools
import math
import time

import numpy as np
import pytest
import torch

from rlhf_lib import compare, judge, meters, models, ppo


# ------------------------------------------------------------------------------------------- best-of-n
def test_best_of_n_kl_by_hand_and_bad_n():
    assert compare.best_of_n_kl(1) == 0.0
    assert compare.best_of_n_kl(2) == pytest.approx(math.log(2) - 0.5)
    assert compare.best_of_n_kl(16) == pytest.approx(math.log(16) - 15 / 16)
    for bad in (0, -3, 2.0, True):
        with pytest.raises(ValueError, match="n >= 1"):
            compare.best_of_n_kl(bad)


@pytest.mark.parametrize("n", [2, 4, 16])
def test_best_of_n_kl_formula_matches_a_sampled_estimate(n):
    """Draw best-of-n answers from a reference over many answers with distinct rewards and estimate the KL.

    The density ratio of best-of-n to the reference at an answer of reward quantile F is n·F^(n−1), so
    KL = E_bon[log(n F^(n−1))]: estimate it from simulated best-of-n picks.
    """
    rng = np.random.default_rng(0)
    k = 5000  # equally likely answers; their rewards are a random permutation of ranks
    rewards = rng.permutation(k)
    picks = rng.integers(0, k, size=(100_000, n))  # n reference draws per trial
    best = picks[np.arange(len(picks)), rewards[picks].argmax(1)]
    quantile = (rewards[best] + 1) / k  # F(y) of the chosen answer
    estimate = np.mean(np.log(n) + (n - 1) * np.log(quantile))
    assert estimate == pytest.approx(compare.best_of_n_kl(n), abs=0.02)
    # the exact KL of this discrete best-of-n is a little below the formula (an upper bound)
    f = np.arange(1, k + 1) / k
    p_bon = f**n - (f - 1 / k) ** n
    exact = float(np.sum(p_bon * np.log(p_bon * k)))
    assert exact <= compare.best_of_n_kl(n) + 1e-12
    assert exact == pytest.approx(compare.best_of_n_kl(n), abs=0.01)


def test_best_of_n_weights_are_the_average_over_every_subset():
    rng = np.random.default_rng(1)
    proxy, values = rng.normal(size=(3, 6)), rng.normal(size=(3, 6))
    for n in range(1, 7):
        brute = np.mean([[v[list(s)][np.argmax(p[list(s)])] for s in itertools.combinations(range(6), n)]
                         for p, v in zip(proxy, values, strict=True)], axis=1)
        assert compare.best_of_n_mean(proxy, values, n) == pytest.approx(brute)
    w = compare.best_of_n_weights(6, 3)
    assert w.sum() == pytest.approx(1.0)
    assert w[:2].tolist() == [0.0, 0.0]  # the two lowest can never be the best of three
    assert compare.best_of_n_weights(6, 1) == pytest.approx(np.full(6, 1 / 6))
    assert compare.best_of_n_weights(6, 6).tolist() == [0, 0, 0, 0, 0, 1]
    with pytest.raises(ValueError, match="pool size"):
        compare.best_of_n_weights(4, 5)


def test_best_of_n_win_rate_by_hand():
    proxy = np.array([[0.1, 0.9, 0.5]])  # the RM likes answer 1 best, then 2
    gold = np.array([[1.0, -1.0, 0.0]])
    ref_gold = np.array([[0.0, 0.5]])
    # best-of-3 always picks answer 1 (gold −1): it loses to both references
    assert compare.best_of_n_win_rate(proxy, gold, ref_gold, 3) == 0.0
    # best-of-1 is each answer with prob 1/3: wins (1, 1), (0, 0), (tie 0.5, 0) -> mean (2 + 0 + 0.5) / 6
    assert compare.best_of_n_win_rate(proxy, gold, ref_gold, 1) == pytest.approx(2.5 / 6)
    with pytest.raises(ValueError, match="ref_gold"):
        compare.best_of_n_win_rate(proxy, gold, np.zeros((2, 2)), 1)


# ------------------------------------------------------------------------------------------------- DPO
def test_dpo_loss_by_hand():
    loss, rc, rr = compare.dpo_loss(torch.tensor([-10.0, -5.0]), torch.tensor([-12.0, -4.0]),
                                    torch.tensor([-11.0, -5.0]), torch.tensor([-11.0, -5.0]), beta=0.5)
    assert rc.tolist() == pytest.approx([0.5, 0.0])
    assert rr.tolist() == pytest.approx([-0.5, 0.5])
    expected = (-math.log(1 / (1 + math.exp(-1.0))) - math.log(1 / (1 + math.exp(0.5)))) / 2
    assert loss.item() == pytest.approx(expected)


def test_sequence_logprobs_do_not_depend_on_padding(tiny):
    model, tok = tiny
    prompts, answers = ["Hi there.", "What is the capital of France, please?"], ["Hello!", "Paris is the capital."]
    batched = compare.sequence_logprobs(model, tok, prompts, answers, batch_size=2)
    single = torch.cat([compare.sequence_logprobs(model, tok, [p], [a], batch_size=1)
                        for p, a in zip(prompts, answers, strict=True)])
    assert batched.tolist() == pytest.approx(single.tolist(), abs=1e-4)
    # by hand for one: Σ log softmax over the answer's tokens only
    p_ids, a_ids = compare.conversation_ids(tok, prompts[0], answers[0])
    assert tok.decode(a_ids).startswith("Hello!")
    ids = torch.tensor([p_ids + a_ids])
    with torch.no_grad():
        logp = torch.log_softmax(model(input_ids=ids).logits[0, :-1].float(), -1)
    by_hand = logp[torch.arange(len(p_ids) - 1, ids.shape[1] - 1), ids[0, len(p_ids):]].sum()
    assert single[0].item() == pytest.approx(by_hand.item(), abs=1e-4)


def test_our_dpo_loss_equals_trls_on_the_same_batch(tiny, tmp_path):
    """Our log-probs + dpo_loss give TRL's DPOTrainer loss on the same pairs (adapters moved off the identity)."""
    import copy

    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    model, tok = tiny
    rows = Dataset.from_dict({"prompt": ["What is 2+2?", "Name a colour.", "Say hi.", "Capital of France?"],
                              "chosen": ["4.", "Blue.", "Hi!", "Paris."],
                              "rejected": ["5, or maybe six.", "Dog", "No.", "Lyon is it."]})
    beta = 20.0  # large, so that a wrong log-prob would show in the loss
    args = DPOConfig(output_dir=str(tmp_path), per_device_train_batch_size=4, max_steps=1, beta=beta,
                     gradient_checkpointing=False, bf16=False, use_cpu=True, report_to="none", save_strategy="no")
    trainer = DPOTrainer(model=copy.deepcopy(model), args=args, train_dataset=compare.conversational_pairs(rows),
                         processing_class=tok, peft_config=models.lora_config(2, 4, None))
    policy = trainer.model
    torch.manual_seed(1)
    with torch.no_grad():
        for name, p in policy.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 2.0)
    trl_loss = trainer.compute_loss(policy, next(iter(trainer.get_train_dataloader()))).item()
    logp = [compare.sequence_logprobs(policy, tok, rows["prompt"], rows[k]) for k in ("chosen", "rejected")]
    with policy.disable_adapter():
        ref = [compare.sequence_logprobs(policy, tok, rows["prompt"], rows[k]) for k in ("chosen", "rejected")]
    ours, r_chosen, r_rejected = compare.dpo_loss(*logp, *ref, beta)
    ours = ours.item()
    imp = compare.implicit_rewards(policy, tok, rows["prompt"], rows["chosen"], rows["rejected"], beta)
    assert imp["chosen"] == pytest.approx(r_chosen.numpy(), abs=1e-4)
    assert ours > math.log(2) + 0.1  # the adapters really changed the policy
    assert ours == pytest.approx(trl_loss, rel=1e-3)


def test_implicit_rewards_need_a_peft_model(tiny):
    model, tok = tiny
    with pytest.raises(ValueError, match="peft model"):
        compare.implicit_rewards(model, tok, ["a"], ["b"], ["c"], 0.1)


def test_pair_subset_draws_from_the_whole_file():
    from datasets import Dataset

    ds = Dataset.from_dict({"prompt": [f"p{i}" for i in range(100)], "chosen": ["c"] * 100, "rejected": ["r"] * 100})
    sub = compare.pair_subset(ds, 10, seed=0)
    assert len(sub) == 10 and max(int(p[1:]) for p in sub["prompt"]) > 20
    assert compare.pair_subset(ds, None) is ds
    conv = compare.conversational_pairs(ds, 3)
    assert conv[0]["prompt"][0]["role"] == "user" and conv[0]["chosen"] == [{"role": "assistant", "content": "c"}]


# ------------------------------------------------------------------------------------------ TRL glue
def test_eos_penalised_scores_cut_answers_with_the_penalty():
    fn = compare.eos_penalised(lambda prompts, completions, **kw: [1.0, 2.0, 3.0], eos_id=7, penalty=-2.0)
    out = fn(prompts=["a", "b", "c"], completions=["x", "y", "z"], completion_ids=[[1, 7], [1, 2], []])
    assert out == [1.0, -2.0, -2.0]


def test_sample_reference_draws_what_sample_with_kl_draws(tiny):
    import copy

    model, tok = tiny
    ac = ppo.ActorCritic(models.with_lora(copy.deepcopy(model), r=4))
    cfg = ppo.PPOConfig(max_new_tokens=6, temperature=1.0, autocast=False)
    prompts = [[1, 2, 3], [4, 5], [6, 7, 8, 9], [10]]
    with torch.no_grad():
        for name, p in ac.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 1.0)  # a policy unlike the reference: sampling the wrong one would show
    ids, done, kl = judge.sample_reference(ac, prompts, cfg, tok.eos_token_id, tok.pad_token_id, seed=5, batch_size=3)
    ref = judge.sample_with_kl(ac, prompts, cfg, tok.eos_token_id, tok.pad_token_id, seed=5, reference=True,
                             batch_size=3)
    pol = judge.sample_with_kl(ac, prompts, cfg, tok.eos_token_id, tok.pad_token_id, seed=5, batch_size=3)
    assert ids == ref[0] and done == ref[1] and kl == [0.0] * 4
    assert ids != pol[0]


# ----------------------------------------------------------------------------------------- the meters
def test_peak_memory_sees_an_allocation_and_not_its_absence():
    with meters.measure(interval=0.01) as m:
        block = np.ones(300 * 2**20 // 8)  # 300 MiB, touched
        time.sleep(0.1)
        del block
    assert m.delta_mb > 250
    assert m.seconds >= 0.1
    with meters.measure(interval=0.01) as idle:
        time.sleep(0.05)
    assert idle.delta_mb < 50


def test_method_table():
    row = compare.MethodRow("DPO", 0.75, 3.0, 0.5, 1.0, None, 1000.0, 10.0)
    text = compare.table([row])
    assert "| DPO | 75.0% | 3.00 |" in text and "| — |" in text
