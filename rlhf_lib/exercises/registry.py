"""The exercises' machinery: the registry, `verdict`, `check` and the helpers a check uses. Each chapter's file
(`ch00.py` ... `ch06.py`) imports these from here and registers its checks; the package re-exports them, so the
chapter files never import the package that imports them (tests/test_layout.py checks for import cycles)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch


class Wrong(Exception):
    """Raised inside a check; the message tells the learner what is wrong with the answer."""


@dataclass(frozen=True)
class Exercise:
    title: str
    check: Callable[[object], str]  # returns what it verified, raises Wrong


EXERCISES: dict[str, Exercise] = {}


def _exercise(key: str, title: str):
    def register(fn):
        EXERCISES[key] = Exercise(title, fn)
        return fn

    return register


def verdict(key: str, answer) -> tuple[bool, str]:
    """(right?, why) for an answer to exercise `key` ("00.1", ...), without printing."""
    if key not in EXERCISES:
        raise KeyError(f"no exercise {key!r}; the exercises are {', '.join(EXERCISES)}")
    if answer is ... or answer is None:
        return False, "no answer yet: replace the `...` with your answer"
    try:
        return True, EXERCISES[key].check(answer)
    except Wrong as err:
        return False, str(err)


def check(key: str, answer) -> bool:
    """Check an answer: prints ✅ or ❌ with the reason, returns True when it is right."""
    ok, why = verdict(key, answer)
    print(f"{'✅' if ok else '❌'} exercise {key} ({EXERCISES[key].title}): {why}")
    return ok


# ----------------------------------------------------------------------------------------------- helpers
def _expect(condition, message: str) -> None:
    if not condition:
        raise Wrong(message)


def _call(fn, *args, name: str = "your function"):
    """Call the learner's function; an exception it raises becomes a wrong answer that shows it."""
    _expect(callable(fn), f"the answer should be a function, got {type(fn).__name__}")
    try:
        return fn(*args)
    except Exception as err:  # the learner's code failed: show why instead of a traceback into this module
        raise Wrong(f"{name} raised {type(err).__name__}: {err}") from err


def _number(x, what: str) -> float:
    if isinstance(x, torch.Tensor) and x.numel() == 1:
        x = x.item()
    _expect(isinstance(x, int | float | np.floating | np.integer) and not isinstance(x, bool),
            f"{what} should be a number, got {type(x).__name__}")
    _expect(math.isfinite(x), f"{what} is {x}: expected a finite number")
    return float(x)


def _tensor(x, shape: tuple, what: str) -> torch.Tensor:
    _expect(isinstance(x, torch.Tensor), f"{what} should return a torch tensor, got {type(x).__name__}")
    _expect(tuple(x.shape) == shape, f"{what} returned shape {tuple(x.shape)}, expected {shape}")
    _expect(bool(torch.isfinite(x).all()), f"{what} returned NaN or inf: {x.flatten()[:5].tolist()} ...")
    return x.detach().double().cpu()


# ------------------------------------------------------------------------------------------- the chapters
# Imported last: each chapter's file registers its checks with `_exercise` above. Its data functions are what the
# notebooks call (`exercises.margins_03()`).
