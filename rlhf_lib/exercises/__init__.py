"""Checks for the exercises at the end of chapters 0-6: `exercises.check("02.2", my_bt_loss)`.

This file holds the machinery (the registry, `verdict`, `check`, the helpers a check uses); each chapter's
checks are in their own file, `ch00.py` ... `ch06.py`, and register themselves when the package is imported.

Each check works out the right answer on its own (or tests the properties a right answer must have) and,
when an answer is wrong, says what is wrong and where to look, not only that it is wrong. The worked
solutions are in `notebooks/solutions/`: CI runs them, which proves every check accepts a right answer;
`tests/test_exercises.py` proves each one rejects wrong ones. Every check runs in seconds on a CPU (the
model exercises use the tiny random model of `models.load_tiny_model`).

Data for an exercise comes from a function of its chapter's file, exported here (`toy_reward_data`,
`margins_03`, ...), so that the check can compute the expected answer from the same seeded source.
"""

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
from . import ch00, ch01, ch02, ch03, ch04, ch05, ch06  # noqa: E402, F401
from .ch02 import toy_reward_data  # noqa: E402
from .ch03 import clustered_correct, margins_03, overconfident_margins  # noqa: E402
from .ch04 import kl_pairs_04, kl_rewards_04  # noqa: E402
from .ch05 import judged_05, plan_pairs_05, runs_05  # noqa: E402
from .ch06 import bon_cases_06  # noqa: E402

__all__ = ["EXERCISES", "Exercise", "Wrong", "check", "verdict", "toy_reward_data", "margins_03",
           "overconfident_margins", "clustered_correct", "kl_rewards_04", "kl_pairs_04", "judged_05", "plan_pairs_05",
           "runs_05", "bon_cases_06"]
