"""The course loads only safe formats: safetensors, torch.load(weights_only=True), never trust_remote_code."""

import re
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted([*ROOT.glob("rlhf_lib/**/*.py"), *ROOT.glob("notebooks/src/**/*.py"), *ROOT.glob("benchmarks/*.py")])


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_unsafe_loading(path):
    text = path.read_text()
    assert not re.search(r"trust_remote_code\s*=\s*True", text)
    assert not re.search(r"^\s*import pickle|pickle\.load", text, re.M)
    for call in re.findall(r"torch\.load\([^)]*\)", text):
        assert "weights_only=True" in call, f"{path.name}: {call}"


class Payload:
    """Anything but tensors: unpickling it could run code, so it must be refused."""

    def __reduce__(self):
        return (print, ("this ran while loading a checkpoint",))


def test_a_pickled_checkpoint_is_refused(tmp_path):
    from rlhf_lib import checkpoint, reward

    model = torch.nn.Linear(2, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    cfg = reward.TrainConfig()
    folder = tmp_path / "ckpt"
    checkpoint.save(folder, model, optimizer, cfg, {"loop": {"step": 1}}, reward.WEIGHTS_FILE, rng=True)
    torch.save({"optimizer": Payload(), "rng": torch.get_rng_state()}, folder / "optimizer.pt")
    with pytest.raises(Exception, match="Weights only load failed|Unsupported global"):
        checkpoint.load(folder, model, optimizer, cfg, reward.WEIGHTS_FILE, rng=True)
