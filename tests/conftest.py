import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def tiny():
    """(model, tokenizer): a random 2-layer Llama with the SmolLM2 tokenizer, shared by the whole session."""
    from rlhf_lib import models

    return models.load_tiny_model(seed=0)


@pytest.fixture()
def artifacts(tmp_path, monkeypatch):
    """Point the artifacts folder at a temporary directory for one test."""
    monkeypatch.setenv("RLHF_ARTIFACTS", str(tmp_path / "artifacts"))
    return tmp_path / "artifacts"
