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

from rllib_safe.checks import check_count


def _finite(value: float, what: str) -> float:
    """``value`` as a float; ValueError unless it is a finite number."""
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"An episode's {what} must be a finite number, got {value!r}.")
    return value


class EpisodeWindow:
    """One figure (cost, return or length) of the last ``size`` finished episodes, oldest first."""

    def __init__(self, size: int):
        check_count("episode_cost_window", size, 1)
        self._values: deque[float] = deque(maxlen=size)

    def __len__(self) -> int:
        return len(self._values)

    def extend(self, values: Iterable[float]) -> None:
        """Adds finished episodes' values in the order they finished; the oldest fall out."""
        self._values.extend(_finite(value, "cost, return or length") for value in values)

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


class RecentEpisodeCosts:
    """The J_c an update steers by when its lag is set in env steps (``steering_cost_env_steps``).

    The mean cost of the episodes that finished within the last ``horizon_env_steps`` env steps
    sampled, or, where fewer than ``min_episodes`` did, of the last ``min_episodes`` finished
    episodes (all of them while fewer have finished). The 100-episode J_c spans 12.5 iterations
    of 4,000 steps on 500-step tasks and 25 on 1000-step ones; OmniSafe's same window spans 2.5 to
    5 of its 20,000-step epochs. A horizon in env steps gives the same lag at any batch size and
    episode length. Each episode is stamped with the lifetime env steps sampled when the
    algorithm recorded it (the end of its iteration's sampling).
    """

    def __init__(self, horizon_env_steps: int, min_episodes: int):
        check_count("steering_cost_env_steps", horizon_env_steps, 1, allowed="an integer >= 1 (or None)")
        check_count("steering_cost_min_episodes", min_episodes, 1)
        self.horizon_env_steps = horizon_env_steps
        self.min_episodes = min_episodes
        self._episodes: deque[tuple[int, float]] = deque()  # (env steps when recorded, cost), oldest first
        self._now = 0

    def __len__(self) -> int:
        return len(self._episodes)

    def extend(self, costs: Iterable[float], env_steps: int) -> None:
        """Adds the costs of the episodes recorded once ``env_steps`` env steps had been sampled."""
        self._now = max(self._now, int(env_steps))
        self._episodes.extend((self._now, _finite(cost, "cost")) for cost in costs)
        # Keep what a later mean can still use: the horizon's episodes and the last min_episodes.
        while len(self._episodes) > self.min_episodes and self._episodes[0][0] <= self._now - self.horizon_env_steps:
            self._episodes.popleft()

    def mean(self) -> float | None:
        """The steering J_c, or None while no episode has finished."""
        if not self._episodes:
            return None
        recent = [cost for stamp, cost in self._episodes if stamp > self._now - self.horizon_env_steps]
        if len(recent) < self.min_episodes:
            recent = [cost for _, cost in list(self._episodes)[-self.min_episodes:]]
        return sum(recent) / len(recent)

    def get_state(self) -> dict:
        return {"now": self._now, "episodes": [list(episode) for episode in self._episodes]}

    def set_state(self, state: dict) -> None:
        self._episodes.clear()
        self._now = int(state["now"])
        self._episodes.extend((int(stamp), float(cost)) for stamp, cost in state["episodes"])
