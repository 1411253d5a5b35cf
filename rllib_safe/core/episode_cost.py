"""J_c, the measured episode cost every constrained update steers by.

J_c is the mean undiscounted cost of the last ``size`` finished episodes (docs/algorithms.md,
section 1; OmniSafe's ``EpCost`` sliding window), across iterations and EnvRunners, each
episode counted once. Plain Python: the algorithm keeps one window on the driver and
checkpoints its state.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable


class EpisodeCostWindow:
    """The costs of the last ``size`` finished episodes, oldest first."""

    def __init__(self, size: int):
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"`episode_cost_window` = {size!r} is invalid: it must be an integer >= 1.")
        self._costs: deque[float] = deque(maxlen=size)

    def __len__(self) -> int:
        return len(self._costs)

    def extend(self, episode_costs: Iterable[float]) -> None:
        """Adds finished episodes' costs in the order they finished; the oldest fall out."""
        for cost in episode_costs:
            cost = float(cost)
            if not math.isfinite(cost):
                raise ValueError(f"An episode cost must be a finite number, got {cost!r}.")
            self._costs.append(cost)

    def mean(self) -> float | None:
        """J_c, or None while no episode has finished (there is no measurement yet)."""
        return sum(self._costs) / len(self._costs) if self._costs else None

    def fraction_over(self, cost_limit: float) -> float | None:
        """Share of the window's episodes whose cost exceeded ``cost_limit`` (None when empty)."""
        if not self._costs:
            return None
        return sum(cost > cost_limit for cost in self._costs) / len(self._costs)

    def get_state(self) -> list[float]:
        return list(self._costs)

    def set_state(self, costs: Iterable[float]) -> None:
        self._costs.clear()
        self.extend(costs)
