"""Checks for the exercises at the end of chapters 0-6: `exercises.check("02.2", my_bt_loss)`.

`registry.py` holds the machinery (the registry, `verdict`, `check`, the helpers a check uses); each chapter's
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

from . import ch00, ch01, ch02, ch03, ch04, ch05, ch06  # noqa: F401
from .ch02 import toy_reward_data
from .ch03 import clustered_correct, margins_03, overconfident_margins
from .ch04 import kl_pairs_04, kl_rewards_04
from .ch05 import judged_05, plan_pairs_05, runs_05
from .ch06 import bon_cases_06
from .registry import EXERCISES, Exercise, Wrong, check, verdict

__all__ = ["EXERCISES", "Exercise", "Wrong", "check", "verdict", "toy_reward_data", "margins_03",
           "overconfident_margins", "clustered_correct", "kl_rewards_04", "kl_pairs_04", "judged_05", "plan_pairs_05",
           "runs_05", "bon_cases_06"]
