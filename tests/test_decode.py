"""The fast sampler (`rlhf_lib.decode`): same tokens as `generate` where the arithmetic is the same, log-probs that
the policy's own forward pass reproduces, LoRA merged exactly, finished rows dropped without changing the rest."""

import pytest
import torch

from rlhf_lib import decode, models, ppo


def _policy(seed=0, lora=True):
    model, tok = models.load_tiny_model(seed=seed)
    if not lora:
        return model, tok
    policy = models.with_lora(model, r=4)
    torch.manual_seed(seed + 1)
    for name, p in policy.named_parameters():  # non-zero B, so the adapters change the output
        if "lora_B" in name:
            p.data.normal_(0, 0.05)
    return policy, tok


def _prompts(tok, lengths=(5, 9, 3, 7)):
    g = torch.Generator().manual_seed(0)
    rows = [torch.randint(10, len(tok) - 10, (n,), generator=g).tolist() for n in lengths]
    return models.pad_batch(rows, tok.pad_token_id, side="left")


def test_same_tokens_as_generate_in_fp32():
    model, tok = _policy(lora=False)
    ids, mask = _prompts(tok)
    s = decode.Sampler(model, dtype=torch.float32)
    ours, _ = s.sample(ids, mask, 12, 0.7, tok.eos_token_id, tok.pad_token_id, seed=3, drop_finished=False,
                       sampling="multinomial")
    ref = ppo.sample(model, ids, mask, 12, 0.7, tok.eos_token_id, tok.pad_token_id, seed=3, autocast=False)
    assert torch.equal(ours, ref)


def test_inverse_cdf_draws_follow_the_distribution():
    torch.manual_seed(0)
    p = torch.tensor([[0.5, 0.0, 0.2, 0.3, 0.0], [0.0, 0.0, 0.0, 0.0, 1.0]])
    draws = torch.stack([decode.draw(p) for _ in range(20_000)])  # (N, 2)
    freq = torch.stack([(draws[:, 0] == k).float().mean() for k in range(5)])
    assert (freq - p[0]).abs().max() < 0.015  # 3 standard errors at 20,000 draws
    assert (draws[:, 1] == 4).all()  # a token of probability 1 always, of probability 0 never
    with pytest.raises(ValueError, match="cdf"):
        decode.draw(p, "top_k")


def test_merged_weights_equal_the_lora_forward():
    policy, tok = _policy()
    ids, mask = _prompts(tok)
    s = decode.Sampler(policy, dtype=torch.float32)
    with torch.no_grad():
        a = policy(input_ids=ids, attention_mask=mask, position_ids=models.position_ids(mask)).logits
        b = s.model(input_ids=ids, attention_mask=mask, position_ids=models.position_ids(mask)).logits
    assert (a - b).abs().max() < 1e-4
    with torch.no_grad():  # an update moves the adapters: refresh follows, a stale copy would not
        for name, p in policy.named_parameters():
            if "lora_A" in name:
                p.add_(0.1)
        s.refresh()
        a = policy(input_ids=ids, attention_mask=mask, position_ids=models.position_ids(mask)).logits
        b = s.model(input_ids=ids, attention_mask=mask, position_ids=models.position_ids(mask)).logits
    assert (a - b).abs().max() < 1e-4


def test_refresh_follows_a_policy_trained_in_full():
    model, tok = _policy(lora=False)
    ids, mask = _prompts(tok)
    s = decode.Sampler(model, dtype=torch.float32)
    with torch.no_grad():
        for p in model.parameters():  # an update of every weight, as full fine-tuning makes
            p.mul_(1.5)
        s.refresh()
        a = model(input_ids=ids, attention_mask=mask, position_ids=models.position_ids(mask)).logits
        b = s.model(input_ids=ids, attention_mask=mask, position_ids=models.position_ids(mask)).logits
    assert (a - b).abs().max() < 1e-4


def _recomputed(policy, ids, mask, responses, temperature, eos_id):
    r_mask, _ = ppo.response_mask(responses, eos_id)
    full, fmask = torch.cat([ids, responses], 1), torch.cat([mask, r_mask], 1)
    with torch.no_grad():
        hidden = ppo.response_hidden(policy.get_decoder(), full, fmask, ids.shape[1])
        lp, _ = ppo.token_logprobs(policy, hidden, responses, temperature)
    return lp * r_mask, r_mask


def test_sampler_logprobs_match_the_policy_forward():
    policy, tok = _policy()
    ids, mask = _prompts(tok)
    for dtype, tol in ((torch.float32, 1e-4), (torch.bfloat16, 0.1)):
        s = decode.Sampler(policy, dtype=dtype)
        resp, lp = s.sample(ids, mask, 10, 0.7, tok.eos_token_id, tok.pad_token_id, seed=1)
        ref, r_mask = _recomputed(policy, ids, mask, resp, 0.7, tok.eos_token_id)
        assert ((lp - ref).abs() * r_mask).max() < tol, dtype


def test_dropping_finished_rows_keeps_each_row_a_valid_sample():
    policy, tok = _policy()
    ids, mask = _prompts(tok)
    s = decode.Sampler(policy, dtype=torch.float32)
    free, _ = s.sample(ids, mask, 16, 1.5, -1, tok.pad_token_id, seed=0)  # no EOS: every row runs 16 tokens
    eos = int(free[:, :8].flatten().mode().values)  # the commonest token as EOS, so some rows finish early
    resp, lp = s.sample(ids, mask, 16, 1.5, eos, tok.pad_token_id, seed=0)
    r_mask, finished = ppo.response_mask(resp, eos)
    lengths = r_mask.sum(1)
    assert finished.any() and lengths.min() < lengths.max()  # rows really left the batch at different steps
    ref, _ = _recomputed(policy, ids, mask, resp, 1.5, eos)
    assert ((lp - ref).abs() * r_mask).max() < 1e-4
    assert (lp * (1 - r_mask)).abs().max() == 0  # nothing after a row's EOS


def test_ppo_rollout_samples_from_the_updated_policy():
    policy, tok = _policy()
    ac = ppo.ActorCritic(policy)
    prompts = [models.chat_prompt_ids(tok, [{"prompt": q}])[0] for q in ("Hi", "What is 2+2?", "Tell me a story")]
    cfg = ppo.PPOConfig(batch_size=3, minibatch_size=3, max_new_tokens=8, autocast=False, sampler="decode")
    ppo.rollout(ac, prompts, [None] * 3, lambda m, r: [0.0] * len(r), cfg, tok.eos_token_id, tok.pad_token_id, 0)
    with torch.no_grad():  # an update moves the adapters; the next rollout must sample from the moved policy
        for name, p in policy.named_parameters():
            if "lora_B" in name:
                p.mul_(-3.0)
    batch = ppo.rollout(ac, prompts, [None] * 3, lambda m, r: [0.0] * len(r), cfg, tok.eos_token_id,
                        tok.pad_token_id, 1)
    ids, mask = models.pad_batch(prompts, tok.pad_token_id, side="left")
    resp, lp = ac.sampler().sample(ids, mask, 8, cfg.temperature, tok.eos_token_id, tok.pad_token_id, 1)
    r = batch.logprobs.shape[1]
    assert torch.equal(resp[:, :r], batch.ids[:, batch.n_prompt:])
    tol = 1e-4 if ac.sampler().dtype == torch.float32 else 0.1
    assert ((lp[:, :r] - batch.logprobs).abs() * batch.response_mask).max() < tol


def test_the_reference_sampler_holds_the_base_weights_and_the_policy_gets_its_merge_back():
    """`ActorCritic.sampler(reference=True)` of a LoRA policy: the adapters switched off while it refreshes, so the
    judge samples π_ref from the same plain copy; the next policy call merges the adapters in again."""
    policy, tok = _policy()
    ac = ppo.ActorCritic(policy)
    name, layer = next(iter(decode.lora_layers(policy).items()))
    base, merged = layer.base_layer.weight.detach().clone(), decode.merged_weights(policy)[f"{name}.weight"]
    assert not torch.allclose(base.float(), merged)
    ref = ac.sampler(reference=True)
    assert torch.equal(ref.params[f"{name}.weight"].float(), base.to(ref.dtype).float())
    pol = ac.sampler()
    assert pol is ref and torch.allclose(pol.params[f"{name}.weight"].float(), merged.to(pol.dtype).float())
    # the same tokens as a sampler built on the base model itself (same dtype, same seed)
    ids, mask = _prompts(tok)
    cfg = ppo.PPOConfig(max_new_tokens=8, temperature=0.7, sampler="decode")
    ours = ppo.sample_responses(ac, ids, mask, cfg, tok.eos_token_id, tok.pad_token_id, seed=5, reference=True)
    with policy.disable_adapter():
        plain = decode.Sampler(policy, dtype=ref.dtype).sample(ids, mask, 8, 0.7, tok.eos_token_id,
                                                               tok.pad_token_id, seed=5)[0]
    assert torch.equal(ours, plain)
    with pytest.raises(ValueError, match="sampler"):
        ppo.sample_responses(ac, ids, mask, ppo.PPOConfig(sampler="vllm"), tok.eos_token_id, tok.pad_token_id, 0)


def test_static_decoder_of_the_compile_benchmark_draws_the_samplers_tokens():
    """benchmarks.static_decode writes the Llama forward out over a preallocated cache: from the same seed it must
    draw the very tokens decode.Sampler draws (left-padded prompts of different lengths, no rows dropped)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root holds `benchmarks/`
    from benchmarks.static_decode import StaticDecoder

    model, tok = _policy(lora=False)
    ids, mask = _prompts(tok)
    ref, ref_lp = decode.Sampler(model, dtype=torch.float32).sample(ids, mask, 12, 0.7, tok.eos_token_id,
                                                                    tok.pad_token_id, seed=3, drop_finished=False)
    static = StaticDecoder(model, ids.shape[0], ids.shape[1] + 12)
    ours, ours_lp = static.sample(static.forward, ids, mask, 12, 0.7, tok.eos_token_id, tok.pad_token_id, seed=3)
    assert torch.equal(ours, ref)
    assert torch.allclose(ours_lp, ref_lp, atol=1e-4)


def test_static_decode_benchmark_quick_run_and_its_report():
    """The benchmark's --quick path end to end on a tiny model (no compile): every contestant timed, the check passed,
    ratios against generate, and the report's section."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks import report, static_decode

    opts = static_decode.options(quick=True, profile="ci")
    out = static_decode.run(opts)
    assert out["check"]["same_tokens_as_sampler"] and out["check"]["max_logp_difference"] < 1e-4
    assert set(out["contestants"]) == {"sampler", "generate", "static"} and "compile_s" not in out
    assert all(c["tokens_per_s"] > 0 and len(c["seconds"]) == opts["repeats"] for c in out["contestants"].values())
    assert set(out["ratios"]) == {"sampler / generate", "static / generate"}
    text = "\n".join(report._static_decode({**out, "options": opts, "machine": {"cpu": "x", "note": "test"}}))
    assert "| static |" in text and "**static / generate**" in text


def test_decode_floor_replays_the_models_products_and_reports_the_ceiling():
    """benchmarks.decode_floor: the replay runs every linear layer of the decoder in forward order (the tiny Llama:
    q, k, v, o, gate, up, down a layer) and the head; the --quick run times all contestants and the report shows
    floor / generate, the most an exact sampler can gain."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks import decode_floor, report

    model, _ = _policy(lora=False)
    layers, head = decode_floor.linear_weights(model)
    first = model.get_decoder().layers[0]
    assert len(layers) == 7 * len(model.get_decoder().layers) and head is model.get_output_embeddings().weight
    assert layers[0] is first.self_attn.q_proj.weight and layers[6] is first.mlp.down_proj.weight
    calls = []
    run = decode_floor.replay(layers, head, [tuple(w.shape) for w in layers], batch=3, prompt_rows=10, steps=2,
                              linear=lambda x, w: calls.append((x.shape[0], w.shape)) or x @ w.T)
    assert run(0).shape == (3, 3)  # counted as batch x (steps + 1) tokens
    rows = [r for r, _ in calls]
    assert len(calls) == 3 * (len(layers) + 1) and rows[:len(layers)] == [10] * len(layers)
    assert rows[len(layers)] == 3 and set(rows[len(layers):]) == {3}  # the head on the last states only

    opts = decode_floor.options(quick=True, profile="ci")
    out = decode_floor.run(opts)
    assert {"generate", "sampler", "floor_fp32"} <= set(out["contestants"])
    assert out["contestants"]["floor_fp32"]["widths"][0] == out["products"]["width"]
    assert 0 < out["contestants"]["floor_fp32"]["prompt_s"] < out["contestants"]["floor_fp32"]["median_s"]
    assert "floor_fp32 / generate" in out["ratios"] and "sampler / floor_fp32" in out["ratios"]
    text = "\n".join(report._decode_floor({**out, "options": opts, "machine": {"cpu": "x", "note": "test"}}))
    assert "| floor_fp32 |" in text and "**floor_fp32 / generate**" in text


def test_the_one_process_decode_benchmarks_command_line_writes_its_results(tmp_path, capsys):
    """benchmarks.common.decode_cli (decode_floor's and static_decode's `main`): --quick sizes, the result file with
    its options, machine and note, and one printed line per contestant."""
    import json
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks import decode_floor

    out = tmp_path / "floor.json"
    threads = torch.get_num_threads()  # the command sets torch's threads: give this process's back as they were
    assert decode_floor.main(["--quick", "--threads", str(threads), "--note", "a test", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["benchmark"] == "decode_floor" and result["options"]["model"] == "tiny"
    assert result["machine"]["note"] == "a test" and result["machine"]["threads"] == threads
    printed = capsys.readouterr().out
    assert all(name in printed for name in result["contestants"]) and "floor_fp32 / generate" in printed
