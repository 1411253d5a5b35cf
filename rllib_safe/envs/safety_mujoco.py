"""The seven Safety-MuJoCo tasks of the PCRPO paper over gymnasium's own ``*-v5`` MuJoCo envs.

Per-step costs (``info["cost"]``, always >= 0) and rewards, as in ``docs/algorithms.md`` sec. 2;
``a`` is the action, ``ctrl`` the applied (clipped) control ``data.ctrl``:

=============================== ================================ ===========================================
id                              reward                           cost
=============================== ================================ ===========================================
SafetyMujocoWalker2d-v0         v_x + healthy bonus              sqrt(1e-3 |a|^2)
SafetyMujocoHumanoidStandup-v0  z_torso / timestep (uph term)    min(0.5e-6 |cfrc_ext|^2, 10) + 0.1 |ctrl|^2
SafetyMujocoReacher-v0          -|fingertip - target|            |a|^2
SafetyMujocoHopper-v0           v_x                              0.5 |a|^2 + 1[unhealthy]
SafetyMujocoAnt-v0              v_x                              0.5 |a|^2
SafetyMujocoHumanoid-v0         1.25 v_x                         0.1 |ctrl|^2 + 1[torso z outside (1, 2)]
SafetyMujocoHalfCheetah-v0      -|v_x - goal_vel|                |root z|
=============================== ================================ ===========================================

Choices where the paper leaves details open:
- rewards are gymnasium's own v5 terms (``info["reward_forward"]``, ``reward_survive``,
  ``reward_linup``, ``reward_dist``), so scales match gymnasium; HumanoidStandup's "z / dt" is
  gymnasium's uph term, which divides by ``model.opt.timestep``;
- every task runs episodes of 1000 steps (Reacher included; gymnasium's default there is 50);
- termination is gymnasium's (unhealthy Walker2d/Hopper/Ant/Humanoid end the episode; the
  unhealthy step is still charged);
- HalfCheetah's ``goal_vel`` defaults to 1.0 (pass ``goal_vel=`` to ``make_env``); root z is the
  ``rootz`` slide joint, i.e. height relative to the initial pose.
Extra ``make_env`` kwargs go to ``gymnasium.make`` of the base env.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from rllib_safe.envs.wrappers import CostFn, CostWrapper, Transition

EPISODE_STEPS = 1000

RewardFn = Callable[[gym.Env, Transition], float]


def _sq(x: Any) -> float:
    return float(np.sum(np.square(x)))


def _ctrl(env: gym.Env) -> np.ndarray:
    return env.unwrapped.data.ctrl


def _unhealthy(env: gym.Env) -> float:
    return float(not env.unwrapped.is_healthy)


def _torso_z_outside(env: gym.Env, low: float = 1.0, high: float = 2.0) -> float:
    return float(not low < env.unwrapped.data.qpos[2] < high)


class RewardReplacer(gym.Wrapper):
    """Replaces the step reward by ``reward_fn(env, transition)``."""

    def __init__(self, env: gym.Env, reward_fn: RewardFn) -> None:
        super().__init__(env)
        self.reward_fn = reward_fn

    def step(self, action: Any) -> tuple:
        obs, reward, terminated, truncated, info = self.env.step(action)
        reward = float(self.reward_fn(self.env, Transition(action, obs, reward, terminated, truncated, info)))
        return obs, reward, terminated, truncated, info


@dataclass(frozen=True)
class Task:
    """A Safety-MuJoCo task: a gymnasium base env with a reward and a cost."""

    base_id: str
    reward_fn: RewardFn
    cost_fn: CostFn

    def make(self, **kwargs: Any) -> gym.Env:
        kwargs.setdefault("max_episode_steps", EPISODE_STEPS)
        env = gym.make(self.base_id, **kwargs)
        return CostWrapper(RewardReplacer(env, self.reward_fn), self.cost_fn)


def _half_cheetah(goal_vel: float = 1.0, **kwargs: Any) -> gym.Env:
    return Task(
        "HalfCheetah-v5",
        reward_fn=lambda env, t: -abs(t.info["x_velocity"] - goal_vel),
        cost_fn=lambda env, t: abs(float(env.unwrapped.data.qpos[1])),
    ).make(**kwargs)


TASKS: dict[str, Callable[..., gym.Env]] = {
    "SafetyMujocoWalker2d-v0": Task(
        "Walker2d-v5",
        reward_fn=lambda env, t: t.info["reward_forward"] + t.info["reward_survive"],
        cost_fn=lambda env, t: float(np.sqrt(1e-3 * _sq(t.action))),
    ).make,
    "SafetyMujocoHumanoidStandup-v0": Task(
        "HumanoidStandup-v5",
        reward_fn=lambda env, t: t.info["reward_linup"],
        cost_fn=lambda env, t: min(0.5e-6 * _sq(env.unwrapped.data.cfrc_ext), 10.0) + 0.1 * _sq(_ctrl(env)),
    ).make,
    "SafetyMujocoReacher-v0": Task(
        "Reacher-v5",
        reward_fn=lambda env, t: t.info["reward_dist"],
        cost_fn=lambda env, t: _sq(t.action),
    ).make,
    "SafetyMujocoHopper-v0": Task(
        "Hopper-v5",
        reward_fn=lambda env, t: t.info["x_velocity"],
        cost_fn=lambda env, t: 0.5 * _sq(t.action) + _unhealthy(env),
    ).make,
    "SafetyMujocoAnt-v0": Task(
        "Ant-v5",
        reward_fn=lambda env, t: t.info["x_velocity"],
        cost_fn=lambda env, t: 0.5 * _sq(t.action),
    ).make,
    "SafetyMujocoHumanoid-v0": Task(
        "Humanoid-v5",
        reward_fn=lambda env, t: t.info["reward_forward"],
        cost_fn=lambda env, t: 0.1 * _sq(_ctrl(env)) + _torso_z_outside(env),
    ).make,
    "SafetyMujocoHalfCheetah-v0": _half_cheetah,
}
"""Safety-MuJoCo id -> ``creator(**kwargs) -> gym.Env``."""
