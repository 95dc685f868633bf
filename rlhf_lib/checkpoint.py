"""Checkpoints of a training loop, shared by PPO (`ppo.train`) and the reward model's loop (`reward.train`).

A checkpoint is one folder, written to `<folder>.tmp` and renamed into place, so a crash mid-save never leaves a
half checkpoint:
    <weights file>.safetensors   the TRAINABLE weights only (LoRA adapters, top layers, heads: megabytes)
    optimizer.pt                 {"optimizer": its state_dict, "rng": torch's RNG state (where the loop asks)},
                                 tensors and plain containers only, loaded with `weights_only=True` (no pickle)
    state.json                   {"config": the run's config dataclass, "frozen_weights": `frozen_digest`,
                                  ...the loop's own state}
Loading compares the saved config with the current one and refuses a checkpoint made with other settings,
naming every changed field (`CheckpointMismatchError`): resuming it would splice two different runs into one.
It refuses one made on other frozen weights too (a base model of the same shapes, swapped).
Each loop names the fields that may change (`free`, e.g. the number of steps, so a run can be extended); a field
newer than the checkpoint counts as its default.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or infinite loss: both loops stop with a message rather than optimise garbage."""


class CheckpointMismatchError(ValueError):
    """A checkpoint was made by a run with other settings (`changed`): resuming it would mix two runs."""

    def __init__(self, message: str, changed: Sequence[str]):
        super().__init__(message)
        self.changed = tuple(changed)


# ============================================================================================ weights
def trainable_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """A CPU copy of the weights that train (requires_grad): what a checkpoint holds, and a snapshot of them."""
    return {name: p.detach().to("cpu", copy=True).contiguous() for name, p in model.named_parameters()
            if p.requires_grad}


def load_trainable_state(model: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Copy `state` (from `trainable_state`) into `model`; every trainable weight must be there, and nothing else."""
    params = dict(model.named_parameters())
    unknown = [name for name in state if name not in params]
    if unknown:
        raise ValueError(f"the checkpoint holds weights this model does not have: {unknown[:3]}")
    missing = [name for name, p in params.items() if p.requires_grad and name not in state]
    if missing:
        raise KeyError(f"checkpoint lacks trainable weights {missing[:3]}")
    with torch.no_grad():
        for name, value in state.items():
            params[name].copy_(value)


# ======================================================================================== the folder
def save(folder: str | Path, model: nn.Module, optimizer: torch.optim.Optimizer, cfg, state: dict,
         weights_file: str, rng: bool = False) -> None:
    """Write trainable weights, optimizer (+ torch's RNG state with `rng`) and `{"config": cfg, **state}`."""
    folder = Path(folder)
    tmp, old = folder.with_name(folder.name + ".tmp"), folder.with_name(folder.name + ".old")
    _finish_interrupted_save(folder)
    shutil.rmtree(tmp, ignore_errors=True)  # left by a crash mid-save
    tmp.mkdir(parents=True)
    save_file(trainable_state(model), tmp / weights_file)
    extra = {"optimizer": optimizer.state_dict(), **({"rng": torch.get_rng_state()} if rng else {})}
    torch.save(extra, tmp / "optimizer.pt")
    (tmp / "state.json").write_text(json.dumps({"config": asdict(cfg), "frozen_weights": frozen_digest(model),
                                                **state}, indent=1))
    if folder.exists():
        shutil.rmtree(old, ignore_errors=True)
        folder.rename(old)
        tmp.rename(folder)
        shutil.rmtree(old)
    else:
        tmp.rename(folder)


def frozen_digest(model: nn.Module) -> str:
    """A short digest of the weights that do not train (the base model under the adapters, frozen layers): each one's
    name, shape and first values, rounded to bf16 so that the model loaded in fp32 or bf16 reads the same. A
    checkpoint records it, so that its adapters are never resumed on another base model of the same shapes."""
    h = hashlib.sha256()
    for name, p in model.named_parameters():
        if not p.requires_grad:
            h.update(f"{name}:{tuple(p.shape)}".encode())
            h.update(p.detach().flatten()[:256].to("cpu", torch.bfloat16).view(torch.int16).numpy().tobytes())
    return h.hexdigest()[:16]


def _finish_interrupted_save(folder: Path) -> None:
    """Complete a save that a crash cut between its two renames (`folder` moved to .old, the new one still .tmp):
    the complete .tmp (its state.json is written last) becomes the checkpoint, else the .old one comes back. Without
    this the next save deleted the .tmp, the newest checkpoint, and the run restarted from nothing."""
    tmp, old = folder.with_name(folder.name + ".tmp"), folder.with_name(folder.name + ".old")
    if folder.exists():
        return
    if (tmp / "state.json").is_file():
        tmp.rename(folder)
    elif (old / "state.json").is_file():
        old.rename(folder)


def exists(folder: str | Path | None) -> bool:
    """Whether `folder` holds a checkpoint to resume (after finishing a save a crash interrupted)."""
    if folder is None:
        return False
    _finish_interrupted_save(Path(folder))
    return (Path(folder) / "state.json").is_file()


def _damaged(folder: Path, name: str, err: Exception):
    """Refuse a checkpoint whose file `name` cannot be read (cut short by a full disk or an interrupted copy), naming
    it: a `CheckpointMismatchError` ("damaged"), so a loop that starts afresh on a changed checkpoint does so here
    too. Was a bare SafetensorError / JSONDecodeError naming no file."""
    raise CheckpointMismatchError(f"the checkpoint in {folder} is damaged: {name} cannot be read ({type(err).__name__}: "
                                  f"{str(err)[:160]}); delete the folder to start afresh", ["damaged " + name]) from None


def changed_settings(saved: dict, cfg, free: Sequence[str] = ()) -> dict[str, tuple]:
    """{name: (saved, now)} for each field of the config dataclass `cfg` that differs from the `saved` one (as
    written by `save`), except the `free` ones; a field the checkpoint does not know counts as its default."""
    saved = {**asdict(type(cfg)()), **saved}
    return {k: (saved.get(k), v) for k, v in sorted(asdict(cfg).items()) if k not in free and saved.get(k) != v}


def load(folder: str | Path, model: nn.Module, optimizer: torch.optim.Optimizer, cfg, weights_file: str,
         free: Sequence[str] = (), rng: bool = False) -> dict:
    """Refuse a checkpoint made with other settings than `cfg` (but the `free` fields), else restore the weights,
    the optimizer (and torch's RNG state with `rng`); returns the loop's state as `save` got it."""
    folder = Path(folder)
    try:  # every file read before the model or the optimizer changes: a damaged one leaves them as they were
        state = json.loads((folder / "state.json").read_text())
        saved_config = state.pop("config")
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as err:
        _damaged(folder, "state.json", err)
    try:
        weights = load_file(folder / weights_file)
    except Exception as err:  # noqa: BLE001 -- safetensors raises its own SafetensorError (not an OSError)
        _damaged(folder, weights_file, err)
    try:
        extra = torch.load(folder / "optimizer.pt", weights_only=True)  # safe: tensors and plain containers only
    except Exception as err:  # noqa: BLE001 -- a truncated zip is a RuntimeError, a missing file an OSError
        _damaged(folder, "optimizer.pt", err)
    changed = changed_settings(saved_config, cfg, free)
    if changed:
        what = "; ".join(f"{k}: {old!r} -> {new!r}" for k, (old, new) in changed.items())
        raise CheckpointMismatchError(f"the checkpoint in {folder} was made with other settings ({what}); delete "
                                      f"the folder to start afresh or restore those settings to resume", changed)
    saved, now = state.pop("frozen_weights", None), frozen_digest(model)
    if saved is not None and saved != now:  # a checkpoint from before this check has none
        raise CheckpointMismatchError(f"the checkpoint in {folder} was made on other frozen weights (another base model "
                                      f"of the same shapes: {saved} -> {now}); delete the folder to start afresh or "
                                      f"resume with the model it was made with", ["base model"])
    load_trainable_state(model, weights)
    if "optimizer" not in extra:  # a PPO checkpoint from before this module held the optimizer's state_dict alone
        extra = {"optimizer": extra}
    optimizer.load_state_dict(extra["optimizer"])
    if rng:
        torch.set_rng_state(extra["rng"])
    return state
