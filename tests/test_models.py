import pytest
import torch

from rlhf_lib import models


@pytest.mark.base_model
def test_gguf_is_found_through_package_metadata():
    path = models.gguf_path()
    assert path.suffix == ".gguf" and path.stat().st_size > 50e6


@pytest.mark.base_model
def test_converted_cache_holds_safetensors_only():
    folder = models.convert_gguf()
    assert (folder / "model.safetensors").is_file()
    assert not list(folder.glob("*.bin")) and not list(folder.glob("*.pt"))


@pytest.mark.base_model
def test_tokenizer_has_chat_template_and_left_padding():
    tok = models.load_tokenizer()
    assert tok.padding_side == "left" and tok.pad_token is not None
    text = models.chat_prompt(tok, "Hi there")
    assert text.rstrip().endswith("assistant") and "Hi there" in text


def test_local_folder_loads_through_the_same_function(tmp_path, tiny):
    model, tok = tiny
    model.save_pretrained(tmp_path, safe_serialization=True)
    tok.save_pretrained(tmp_path)
    loaded, loaded_tok = models.load_model(str(tmp_path), device="cpu")
    ids = torch.tensor([[1, 2, 3, 4]])
    with torch.no_grad():
        assert torch.allclose(model(ids).logits, loaded(ids).logits, atol=1e-5)
    assert loaded_tok.padding_side == "left"


def test_generate_shapes_eos_and_repeatability(tiny):
    model, tok = tiny
    kwargs = dict(n=3, max_new_tokens=6, batch_size=4, seed=7, progress=False)
    first = models.generate(model, tok, ["a", "b"], **kwargs)
    again = models.generate(model, tok, ["a", "b"], **kwargs)
    assert [len(g) for g in first] == [3, 3]
    assert [[x.text for x in g] for g in first] == [[x.text for x in g] for g in again]
    for g in first[0] + first[1]:
        assert 1 <= g.n_tokens <= 6 and (g.finished or g.n_tokens == 6)  # an unfinished answer used the budget


def _scripted(model, rows):
    """Make `model` greedily emit rows[b][t] as token t of answer b (one forward call per generated token)."""
    step = iter(range(10**6))

    def hook(_module, _inputs, out):
        t = next(step)
        forced = torch.full_like(out, -1e4)  # (B, T, V): only the last position is sampled from
        for b, row in enumerate(rows):
            forced[b, -1, row[min(t, len(row) - 1)]] = 0.0
        return forced

    return model.lm_head.register_forward_hook(hook)


def test_generate_cuts_at_the_first_eos_and_counts_it(tiny):
    """Answer 0 ends with EOS as its 3rd token, answer 1 never does: the lengths, flags and texts follow."""
    model, tok = tiny
    eos = tok.eos_token_id
    a, b, c = (tok(w, add_special_tokens=False)["input_ids"][0] for w in ("the", " cat", " sat"))
    _scripted(model, [[a, b, eos, c], [c, b, a, b, c]])
    first, second = (g[0] for g in models.generate(model, tok, ["x", "y"], max_new_tokens=5, greedy=True,
                                                   batch_size=2, progress=False, bf16=False))
    assert (first.n_tokens, first.finished, first.text) == (3, True, tok.decode([a, b]).strip())
    assert (second.n_tokens, second.finished, second.text) == (5, False, tok.decode([c, b, a, b, c]).strip())


def test_generate_marks_finished_answers(tokenizer):
    """A model that always predicts EOS finishes every answer after one token."""
    model, tok = models.load_tiny_model(seed=1, tokenizer=tokenizer)
    eos_only = torch.full((len(tok),), -1e4)
    eos_only[tok.eos_token_id] = 0.0
    model.lm_head.register_forward_hook(lambda mod, inp, out: torch.zeros_like(out) + eos_only)
    out = models.generate(model, tok, ["x"], n=2, max_new_tokens=5, progress=False)[0]
    assert all(g.finished and g.n_tokens == 1 and g.text == "" for g in out)


def test_device_and_dtype_choice():
    assert models.pick_device("cpu").type == "cpu"
    assert models.pick_dtype(torch.device("cpu")) == torch.float32
    with models.autocast("cpu"):
        y = torch.ones(2, 2) @ torch.ones(2, 2)
    assert y.dtype == torch.bfloat16


@pytest.mark.base_model
def test_the_base_model_knows_paris():
    model, tok = models.load_model()
    assert "Paris" in models.chat(model, tok, "What is the capital of France?", max_new_tokens=20)


def test_contiguous_head_feeds_the_head_a_contiguous_input_and_changes_no_number(tiny):
    model, _ = tiny
    head = model.get_output_embeddings()
    hidden = torch.randn(3, 10, head.in_features)[:, 4:-1]  # a slice, like generate's last position
    assert not hidden.is_contiguous()
    expected = hidden.contiguous() @ head.weight.T
    seen = []
    handle = head.register_forward_hook(lambda _m, args, _out: seen.append(args[0].is_contiguous()))
    models.contiguous_head(model)
    models.contiguous_head(model)  # a second call adds no second hook
    assert len(head._forward_pre_hooks) == 1
    out = head(hidden)
    handle.remove()
    assert seen == [True]
    torch.testing.assert_close(out, expected + (head.bias if head.bias is not None else 0))


def test_pad_batch_left_and_right_for_ids_and_hidden_states():
    ids, mask = models.pad_batch([[1, 2, 3], [4], []], 0, side="left")
    assert ids.tolist() == [[1, 2, 3], [0, 0, 4], [0, 0, 0]] and mask.tolist() == [[1, 1, 1], [0, 0, 1], [0, 0, 0]]
    ids, mask = models.pad_batch([[1, 2, 3], [4]], 9)
    assert ids.tolist() == [[1, 2, 3], [4, 9, 9]] and mask.tolist() == [[1, 1, 1], [1, 0, 0]]
    assert ids.dtype == mask.dtype == torch.long
    states = [torch.ones(2, 3, dtype=torch.bfloat16), torch.full((1, 3), 2.0, dtype=torch.bfloat16)]
    embeds, mask = models.pad_batch(states, 0.0, side="left", dtype=torch.float32)  # cached states: (B, L, H)
    assert embeds.dtype == torch.float32 and embeds.shape == (2, 2, 3) and mask.tolist() == [[1, 1], [0, 1]]
    assert embeds[1, 0].eq(0).all() and embeds[1, 1].eq(2).all()
    # positions count real tokens only, so a left-padded row starts at 0 like a right-padded one
    assert models.position_ids(torch.tensor([[0, 0, 1, 1], [1, 1, 1, 0]])).tolist() == [[0, 0, 0, 1], [0, 1, 2, 2]]
    with pytest.raises(ValueError, match="side"):
        models.pad_batch([[1]], 0, side="middle")
