"""Wrappers that give any env the cost contract: ``info["cost"]`` is a float >= 0 per step.

- :class:`CostWrapper` computes the cost with a function of the transition.
- :class:`SixTupleToFiveTuple` adapts ``(obs, reward, cost, terminated, truncated, info)`` steps.
- :class:`CostContract` (outermost in ``make_env`` unless :class:`ObserveEpisodeCost` is asked
  for) enforces the contract, adapting 6-tuples it sees and raising :class:`MissingCostError`
  when a step carries no cost; it also keeps the running episode cost in
  ``info["cumulative_cost"]``, which the cost pipeline reads, and the lowest reward of the
  episode so far (never above 0) in ``info["episode_reward_minimum"]``.
- :class:`ObserveEpisodeCost` (optional, outside ``CostContract``) appends the episode cost so
  far, divided by a scale, to a 1-D Box observation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np

from rllib_safe.envs.errors import MissingCostError


class Transition(NamedTuple):
    """One step: the action taken and what the env returned for it."""

    action: Any
    obs: Any
    reward: float
    terminated: bool
    truncated: bool
    info: dict


CostFn = Callable[[gym.Env, Transition], float]
"""``cost_fn(env, transition) -> float >= 0``; ``env`` is the wrapped env (use ``env.unwrapped``
for simulator state after the step)."""


def _five_tuple(result: tuple) -> tuple:
    """A gymnasium 5-tuple from a 5- or 6-tuple step result; 6-tuple costs go to info."""
    if len(result) == 6:
        obs, reward, cost, terminated, truncated, info = result
        info = dict(info)
        info["cost"] = cost
        return obs, reward, terminated, truncated, info
    return result


class SixTupleToFiveTuple(gym.Wrapper):
    """Adapts an env whose step returns (obs, reward, cost, terminated, truncated, info)."""

    def step(self, action: Any) -> tuple:
        result = self.env.step(action)
        if len(result) != 6:
            raise ValueError(f"{self.env} step returned {len(result)} items, expected 6")
        return _five_tuple(result)


class CostWrapper(gym.Wrapper):
    """Puts ``cost_fn(env, transition)`` in ``info["cost"]`` at every step."""

    def __init__(self, env: gym.Env, cost_fn: CostFn) -> None:
        super().__init__(env)
        self.cost_fn = cost_fn

    def step(self, action: Any) -> tuple:
        obs, reward, terminated, truncated, info = self.env.step(action)
        transition = Transition(action, obs, reward, terminated, truncated, info)
        info["cost"] = float(self.cost_fn(self.env, transition))
        return obs, reward, terminated, truncated, info


#: Info key of the episode cost so far (``rllib_safe.connectors.columns.CUMULATIVE_COST_INFO``,
#: repeated here so that building an env imports no Ray).
CUMULATIVE_COST_INFO = "cumulative_cost"
#: Info key of min(0, the lowest reward of the episode so far) (``rllib_safe.connectors.columns``
#: re-exports it): the shift that makes every reward of the episode so far >= 0, as SMPO's
#: reward shaping does, computed on the learner so that reported returns stay the env's.
EPISODE_REWARD_MINIMUM_INFO = "episode_reward_minimum"


def _numpy_scalars_to_python(info: dict) -> None:
    """Replaces, in place, each top-level numpy scalar value of ``info`` with its Python number."""
    for key, value in info.items():
        if isinstance(value, np.generic):
            info[key] = value.item()


class CostContract(gym.Wrapper):
    """Guarantees a float ``info["cost"] >= 0`` on every step and 0.0 on reset.

    ``info["cumulative_cost"]`` is the cost accumulated in the episode up to and including
    the step (0.0 on reset): the cost pipeline's per-step bookkeeping, done here rather than
    in an EnvRunner callback per step.

    ``info["episode_reward_minimum"]`` is min(0, the lowest reward of the episode up to and
    including the step) (0.0 on reset). SMPO's authors shift each reward by minus this value
    (their ``envs/reward_shaping.py``), so that every reward learnt from is >= 0; here the env's
    rewards pass unchanged and the learner reads the shift from the info
    (``rllib_safe.connectors.AddEpisodeRewardMinimumToTrainBatch``).

    Info values that are numpy scalars (MuJoCo tasks report ``x_velocity`` and the like as
    ``np.float64``) become the Python numbers of the same value: every step's info travels
    pickled with the episodes from the EnvRunners to the learners, and a numpy scalar takes
    several times longer to pickle than a float.
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self._episode_cost = 0.0
        self._reward_minimum = 0.0

    def reset(self, **kwargs: Any) -> tuple:
        obs, info = self.env.reset(**kwargs)
        _numpy_scalars_to_python(info)
        info["cost"] = 0.0
        self._episode_cost = 0.0
        info[CUMULATIVE_COST_INFO] = 0.0
        self._reward_minimum = 0.0
        info[EPISODE_REWARD_MINIMUM_INFO] = 0.0
        return obs, info

    def step(self, action: Any) -> tuple:
        obs, reward, terminated, truncated, info = _five_tuple(self.env.step(action))
        if "cost" not in info:
            raise MissingCostError(self.env)
        _numpy_scalars_to_python(info)
        cost = float(np.asarray(info["cost"]).item())
        if not cost >= 0.0:
            raise ValueError(f"{self.env} returned cost {cost}; costs must be >= 0")
        info["cost"] = cost
        self._episode_cost += cost
        info[CUMULATIVE_COST_INFO] = self._episode_cost
        self._reward_minimum = min(self._reward_minimum, float(np.asarray(reward).item()))
        info[EPISODE_REWARD_MINIMUM_INFO] = self._reward_minimum
        return obs, reward, terminated, truncated, info


def check_observe_episode_cost(scale: Any) -> float:
    """``scale`` as a float; ValueError naming ``observe_episode_cost`` unless it is a finite number > 0."""
    is_number = isinstance(scale, int | float | np.integer | np.floating) and not isinstance(scale, bool)
    if not (is_number and np.isfinite(float(scale)) and float(scale) > 0.0):
        raise ValueError(
            f"`observe_episode_cost` = {scale!r} is invalid: it must be a finite number > 0 (the episode "
            "cost budget d the observed episode cost is divided by), or None to leave the observation as is."
        )
    return float(scale)


class ObserveEpisodeCost(gym.Wrapper):
    """Appends ``info["cumulative_cost"] / scale`` to a 1-D Box observation as one more entry.

    The entry is the episode's cost so far, after the step (0 on reset), divided by ``scale``
    (typically the budget d, so the policy sees the share of the budget spent). The observation
    space gets one more entry with bounds [0, inf); its dtype is the original's, promoted to at
    least float32 (float32 stays float32, float64 stays float64).

    Reads ``info["cumulative_cost"]``, so it must wrap :class:`CostContract` (``make_env`` puts it
    outermost when given ``observe_episode_cost``).

    Raises:
        ValueError: the observation space is not a 1-D Box, or ``scale`` is not a finite number > 0.
    """

    def __init__(self, env: gym.Env, scale: float) -> None:
        super().__init__(env)
        self.scale = check_observe_episode_cost(scale)
        space = env.observation_space
        if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
            raise ValueError(
                f"`observe_episode_cost` = {scale!r} is invalid for {env}: its observation space {space} is "
                "not a 1-D Box, the only kind the episode cost can be appended to."
            )
        self._dtype = np.promote_types(space.dtype, np.float32)
        self.observation_space = gym.spaces.Box(
            low=np.append(space.low, 0.0).astype(self._dtype),
            high=np.append(space.high, np.inf).astype(self._dtype),
            dtype=self._dtype,
        )

    def with_episode_cost(self, obs: Any, info: dict) -> np.ndarray:
        """``obs`` with the episode's cost so far (``info["cumulative_cost"]``) / ``scale`` appended."""
        if CUMULATIVE_COST_INFO not in info:
            raise KeyError(
                f"ObserveEpisodeCost reads info['{CUMULATIVE_COST_INFO}'], which {self.env} does not carry: "
                "wrap it outside CostContract (make_env does so for `observe_episode_cost`)."
            )
        return np.append(np.asarray(obs, dtype=self._dtype), info[CUMULATIVE_COST_INFO] / self.scale).astype(
            self._dtype, copy=False
        )

    def reset(self, **kwargs: Any) -> tuple:
        obs, info = self.env.reset(**kwargs)
        return self.with_episode_cost(obs, info), info

    def step(self, action: Any) -> tuple:
        obs, reward, terminated, truncated, info = self.env.step(action)
        return self.with_episode_cost(obs, info), reward, terminated, truncated, info
