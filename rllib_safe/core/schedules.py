"""Schedules counted in env steps: PCRPO's slack annealing and reward-only warm-up, SMPO's
relaxed threshold d' (docs/algorithms.md, sections 1 to 3).

Every duration here is a number of env steps, and every schedule is evaluated on the env steps
sampled so far (RLlib's ``num_env_steps_sampled_lifetime`` as the learners receive it, this
iteration's batch included), so a duration means the same at any batch size: the papers'
"50 epochs" of 20,000 env steps are ``1_000_000`` here, whatever the iteration's batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, get_args

from rllib_safe.core.gradients import validate_slacks

__all__ = [
    "SlackKind",
    "SlackSchedule",
    "annealed_slack",
    "linear_anneal",
    "relaxed_threshold",
    "reward_only_warmup",
]

SlackKind = Literal["constant", "anneal"]


def _check_env_steps(env_steps: int) -> None:
    if env_steps < 0:
        raise ValueError(f"env_steps must be >= 0, got {env_steps!r}")


def linear_anneal(start: float, end: float, env_steps: int, duration: int) -> float:
    """``start`` at 0 env steps, linear to ``end`` at ``duration`` env steps, ``end`` from then on.

    ``duration`` = 0 means no schedule: ``end`` from the first step. Both ends finite.
    """
    _check_env_steps(env_steps)
    if duration < 0:
        raise ValueError(f"duration must be >= 0 env steps (0: no schedule), got {duration!r}")
    if duration == 0 or env_steps >= duration:
        return float(end)
    return float(start + (end - start) * (env_steps / duration))


def annealed_slack(initial: float, env_steps: int, anneal_env_steps: int) -> float:
    """Slack h0 (1 - t/T) after t env steps, exactly 0 from t = T on (linear annealing to 0).

    Shrinks toward 0 from either side; an infinite slack (a region switched off) stays infinite.
    """
    if anneal_env_steps <= 0:
        raise ValueError(f"anneal_env_steps must be a positive integer, got {anneal_env_steps!r}")
    _check_env_steps(env_steps)
    if math.isinf(initial):
        return initial
    return linear_anneal(initial, 0.0, env_steps, anneal_env_steps)


def relaxed_threshold(env_steps: int, cost_limit: float, *, eta: float, anneal_env_steps: int) -> float:
    """SMPO's d' = (eta - (eta - 1) min(t, T) / T) d after t env steps: from eta d down to d at T.

    T = ``anneal_env_steps`` is the paper's e_max (50 of the authors' epochs of 20,000 env steps:
    1,000,000). ``eta = 1`` or ``T = 0`` disables the relaxation (d' = d throughout).
    """
    if not (math.isfinite(cost_limit) and cost_limit >= 0):
        raise ValueError(f"cost_limit must be a finite number >= 0, got {cost_limit!r}")
    if not (math.isfinite(eta) and eta >= 1):
        raise ValueError(f"eta must be a finite number >= 1, got {eta!r}")
    return linear_anneal(eta * cost_limit, cost_limit, env_steps, anneal_env_steps)


@dataclass(frozen=True)
class SlackSchedule:
    """The slacks (h+, h-) by env steps sampled: constant, or annealed linearly to 0 over T env steps."""

    upper: float
    lower: float
    kind: SlackKind = "constant"
    anneal_env_steps: int | None = None  #: T, required for ``kind="anneal"``

    def __post_init__(self) -> None:
        validate_slacks(self.upper, self.lower)
        if self.kind not in get_args(SlackKind):
            raise ValueError(f"kind must be one of {get_args(SlackKind)}, got {self.kind!r}")
        if self.kind == "anneal" and (self.anneal_env_steps is None or self.anneal_env_steps <= 0):
            raise ValueError(
                "anneal_env_steps must be a positive integer when kind='anneal', "
                f"got {self.anneal_env_steps!r}"
            )

    def slacks(self, env_steps: int) -> tuple[float, float]:
        """(h+, h-) to use once ``env_steps`` env steps have been sampled."""
        _check_env_steps(env_steps)
        if self.kind == "constant":
            return self.upper, self.lower
        return (
            annealed_slack(self.upper, env_steps, self.anneal_env_steps),
            annealed_slack(self.lower, env_steps, self.anneal_env_steps),
        )


def reward_only_warmup(env_steps: int, warmup_env_steps: int) -> bool:
    """True while ``env_steps`` <= ``warmup_env_steps`` (> 0): the updates on the first
    ``warmup_env_steps`` env steps step on reward only. With batches of B env steps a warm-up of
    k B is exactly the first k iterations."""
    if warmup_env_steps < 0:
        raise ValueError(f"warmup_env_steps must be >= 0, got {warmup_env_steps!r}")
    _check_env_steps(env_steps)
    return warmup_env_steps > 0 and env_steps <= warmup_env_steps
