"""J_c, the measured episode cost every constrained update steers by, and the return beside it.

J_c is the mean undiscounted cost of the last ``size`` finished episodes (docs/algorithms.md,
section 1; OmniSafe's ``EpCost`` sliding window), across iterations and EnvRunners, each
episode counted once. The reported return and episode length are means over the same
episodes (OmniSafe's ``EpRet`` and ``EpLen`` share the window). Plain Python: the algorithm
keeps one window per figure on the driver and checkpoints their state.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable


class EpisodeWindow:
    """One figure (cost, return or length) of the last ``size`` finished episodes, oldest first."""

    def __init__(self, size: int):
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"`episode_cost_window` = {size!r} is invalid: it must be an integer >= 1.")
        self._values: deque[float] = deque(maxlen=size)

    def __len__(self) -> int:
        return len(self._values)

    def extend(self, values: Iterable[float]) -> None:
        """Adds finished episodes' values in the order they finished; the oldest fall out."""
        for value in values:
            value = float(value)
            if not math.isfinite(value):
                raise ValueError(f"An episode's cost, return or length must be a finite number, got {value!r}.")
            self._values.append(value)

    def mean(self) -> float | None:
        """The window's mean (J_c for the costs), or None while no episode has finished."""
        return sum(self._values) / len(self._values) if self._values else None

    def fraction_over(self, cost_limit: float) -> float | None:
        """Share of the window's episodes whose cost exceeded ``cost_limit`` (None when empty)."""
        if not self._values:
            return None
        return sum(cost > cost_limit for cost in self._values) / len(self._values)

    def get_state(self) -> list[float]:
        return list(self._values)

    def set_state(self, costs: Iterable[float]) -> None:
        self._values.clear()
        self.extend(costs)
