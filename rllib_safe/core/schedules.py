"""PCRPO's slack schedules and reward-only warm-up (docs/algorithms.md, section 2)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, get_args

from rllib_safe.core.gradients import validate_slacks

__all__ = ["SlackKind", "SlackSchedule", "annealed_slack", "reward_only_warmup"]

SlackKind = Literal["constant", "anneal"]


def annealed_slack(initial: float, iteration: int, total_iterations: int) -> float:
    """Slack h0 (1 - t/T) at iteration t, exactly 0 from t = T on (linear annealing to 0).

    The same as subtracting h0 / T once per iteration and stopping at 0. Shrinks toward 0
    from either side; an infinite slack (a region switched off) stays infinite.
    """
    if total_iterations <= 0:
        raise ValueError(f"total_iterations must be a positive integer, got {total_iterations!r}")
    if iteration < 0:
        raise ValueError(f"iteration must be >= 0, got {iteration!r}")
    if math.isinf(initial):
        return initial
    if iteration >= total_iterations:
        return 0.0
    return initial * (1.0 - iteration / total_iterations)


@dataclass(frozen=True)
class SlackSchedule:
    """The slacks (h+, h-) per training iteration: constant, or annealed linearly to 0 over T."""

    upper: float
    lower: float
    kind: SlackKind = "constant"
    total_iterations: int | None = None  #: T, required for ``kind="anneal"``

    def __post_init__(self) -> None:
        validate_slacks(self.upper, self.lower)
        if self.kind not in get_args(SlackKind):
            raise ValueError(f"kind must be one of {get_args(SlackKind)}, got {self.kind!r}")
        if self.kind == "anneal" and (self.total_iterations is None or self.total_iterations <= 0):
            raise ValueError(
                "total_iterations must be a positive integer when kind='anneal', "
                f"got {self.total_iterations!r}"
            )

    def slacks(self, iteration: int) -> tuple[float, float]:
        """(h+, h-) to use at training iteration ``iteration`` (0-based)."""
        if iteration < 0:
            raise ValueError(f"iteration must be >= 0, got {iteration!r}")
        if self.kind == "constant":
            return self.upper, self.lower
        return (
            annealed_slack(self.upper, iteration, self.total_iterations),
            annealed_slack(self.lower, iteration, self.total_iterations),
        )


def reward_only_warmup(iteration: int, warmup_iterations: int) -> bool:
    """True while ``iteration`` < ``warmup_iterations``: the first iterations step on reward only."""
    if warmup_iterations < 0:
        raise ValueError(f"warmup_iterations must be >= 0, got {warmup_iterations!r}")
    if iteration < 0:
        raise ValueError(f"iteration must be >= 0, got {iteration!r}")
    return iteration < warmup_iterations
