"""Wrappers that give any env the cost contract: ``info["cost"]`` is a float >= 0 per step.

- :class:`CostWrapper` computes the cost with a function of the transition.
- :class:`SixTupleToFiveTuple` adapts ``(obs, reward, cost, terminated, truncated, info)`` steps.
- :class:`CostContract` (outermost in ``make_env``) enforces the contract, adapting 6-tuples it
  sees and raising :class:`MissingCostError` when a step carries no cost; it also keeps the
  running episode cost in ``info["cumulative_cost"]``, which the cost pipeline reads.
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

    Info values that are numpy scalars (MuJoCo tasks report ``x_velocity`` and the like as
    ``np.float64``) become the Python numbers of the same value: every step's info travels
    pickled with the episodes from the EnvRunners to the learners, and a numpy scalar takes
    several times longer to pickle than a float.
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self._episode_cost = 0.0

    def reset(self, **kwargs: Any) -> tuple:
        obs, info = self.env.reset(**kwargs)
        _numpy_scalars_to_python(info)
        info["cost"] = 0.0
        self._episode_cost = 0.0
        info[CUMULATIVE_COST_INFO] = 0.0
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
        return obs, reward, terminated, truncated, info
