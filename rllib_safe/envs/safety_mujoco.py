"""The seven Safety-MuJoCo tasks of the PCRPO paper over gymnasium's own ``*-v5`` MuJoCo envs.

Two versions of each id; a result names the definition it used by its id.

``SafetyMujoco<Task>-v1`` follows the authors' code (``SafeRL-Lab/Safety-MuJoCo``,
``safety_mujoco/*_v4.py``; the algorithm optimises their ``info["reward"]`` and is charged
``-info["cost"]``, which is >= 0 here). ``a`` is the action, ``ctrl`` the applied control
``data.ctrl``, v_x gymnasium's ``info["x_velocity"]``:

============================== ===================================== =============================================
id                             reward                                cost (``info["cost"]`` >= 0)
============================== ===================================== =============================================
SafetyMujocoWalker2d-v1        v_x + #(z in range, angle in range)   sqrt(1e-3 |a|^2)
SafetyMujocoHumanoidStandup-v1 z_torso / model.opt.timestep          min(0.5e-6 |cfrc_ext|^2, 10) + 0.1 |ctrl|^2
SafetyMujocoReacher-v1         -|fingertip - target|                 |a|^2
SafetyMujocoHopper-v1          v_x                                   0.5 |a|^2 + 1[unhealthy]
SafetyMujocoAnt-v1             v_x                                   0.5 |a|^2
SafetyMujocoHumanoid-v1        1.25 v_x (mass centre)                0.1 |ctrl|^2 + 1[torso z outside (1, 2)]
SafetyMujocoHalfCheetah-v1     -|v_x - goal_vel|                     |root z|
============================== ===================================== =============================================

Source of each term of ``-v1``:
- every reward and cost term above: the authors' ``step`` (``info["reward"]``, ``info["cost"]``),
  read off gymnasium v5's own terms where they compute the same quantity (``reward_forward``,
  ``reward_linup``, ``reward_dist``, ``x_velocity``);
- episode end: authors' (``terminated`` is always False; health feeds only the reward or the
  cost): gymnasium's ``terminate_when_unhealthy=False`` for Walker2d, Hopper, Ant and Humanoid;
  HumanoidStandup, Reacher and HalfCheetah never terminate in gymnasium either. A fallen Hopper
  or Humanoid pays 1 per step until the time limit;
- episode length: authors' registration (``robust-gymnasium``): 1000 steps, Reacher 50;
- Walker2d's healthy bonus: authors' count of satisfied health conditions (0, 1 or 2; gymnasium
  pays 1 only when both hold), computed from the env's own ``healthy_z_range`` and
  ``healthy_angle_range`` and scaled by its ``healthy_reward`` weight (1);
- Hopper's 1[unhealthy], Ant's health: gymnasium v5's ``is_healthy``, identical to v4's;
- Ant's observation: v4 semantics (the authors' ``use_contact_forces=False``): v5's
  ``include_cfrc_ext_in_observation=False``, 27 numbers;
- our choices: HalfCheetah's ``goal_vel`` defaults to 1.0 (the authors require it and do not
  publish the paper's value; pass ``goal_vel=`` to ``make_env``); costs are emitted as
  magnitudes; Pusher (100 steps in their registration) is not shipped;
- v5 models, v5 observations elsewhere (the figures will not match the paper exactly): v5's
  Walker2d gives both feet friction 1.9 (v4: right foot 0.9); v5's Humanoid and HumanoidStandup
  drop the always-zero worldbody/root entries from the observation; v5's Reacher drops the zero
  z of fingertip - target.

``SafetyMujoco<Task>-v0`` (unchanged, rllib-safe's first reading of the paper) has the same reward
and cost terms except Walker2d's reward, v_x + gymnasium's survive reward (1 when healthy, else
the episode ends), and differs in:
- termination: gymnasium's (unhealthy Walker2d/Hopper/Ant/Humanoid end the episode; the
  unhealthy step is still charged);
- every task runs 1000-step episodes (Reacher included);
- Ant observes v5's default 105 numbers (contact forces included).

``V0`` and ``V1`` below hold the definitions by task name (``V1`` lists only what changes);
extra ``make_env`` kwargs go to ``gymnasium.make`` of the base env (``max_episode_steps``
and ``terminate_when_unhealthy`` included).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import gymnasium as gym
import numpy as np

from rllib_safe.envs.wrappers import CostFn, CostWrapper, Transition

EPISODE_STEPS = 1000
NO_EARLY_END: Mapping[str, Any] = {"terminate_when_unhealthy": False}

RewardFn = Callable[..., float]


def _sq(x: Any) -> float:
    return float(np.sum(np.square(x)))


def _ctrl(env: gym.Env) -> np.ndarray:
    return env.unwrapped.data.ctrl


def _unhealthy(env: gym.Env) -> float:
    return float(not env.unwrapped.is_healthy)


def _torso_z_outside(env: gym.Env, low: float = 1.0, high: float = 2.0) -> float:
    return float(not low < env.unwrapped.data.qpos[2] < high)


def health_conditions_met(env: gym.Env) -> int:
    """Walker2d's satisfied health conditions (torso z in range, torso angle in range): 0, 1 or 2.

    Uses the env's own ``healthy_z_range`` and ``healthy_angle_range`` (open intervals, as
    gymnasium's ``is_healthy`` and the authors' count).
    """
    base = env.unwrapped
    z, angle = base.data.qpos[1:3]
    (min_z, max_z), (min_angle, max_angle) = base._healthy_z_range, base._healthy_angle_range
    return int(min_z < z < max_z) + int(min_angle < angle < max_angle)


# Rewards.
def _x_velocity(env: gym.Env, t: Transition) -> float:
    return t.info["x_velocity"]


def _forward(env: gym.Env, t: Transition) -> float:  # forward_reward_weight * v_x (Humanoid: 1.25)
    return t.info["reward_forward"]


def _forward_and_survive(env: gym.Env, t: Transition) -> float:
    return t.info["reward_forward"] + t.info["reward_survive"]


def _forward_and_health_count(env: gym.Env, t: Transition) -> float:
    return t.info["reward_forward"] + health_conditions_met(env) * env.unwrapped._healthy_reward


def _linup(env: gym.Env, t: Transition) -> float:  # z_torso / model.opt.timestep
    return t.info["reward_linup"]


def _distance(env: gym.Env, t: Transition) -> float:  # -|fingertip - target|
    return t.info["reward_dist"]


def _velocity_gap(env: gym.Env, t: Transition, goal_vel: float) -> float:
    return -abs(t.info["x_velocity"] - goal_vel)


# Costs (magnitudes: the authors' info["cost"] is their negative).
def _walker_cost(env: gym.Env, t: Transition) -> float:
    return float(np.sqrt(1e-3 * _sq(t.action)))


def _standup_cost(env: gym.Env, t: Transition) -> float:
    return min(0.5e-6 * _sq(env.unwrapped.data.cfrc_ext), 10.0) + 0.1 * _sq(_ctrl(env))


def _action_sq(env: gym.Env, t: Transition) -> float:
    return _sq(t.action)


def _half_action_sq(env: gym.Env, t: Transition) -> float:
    return 0.5 * _sq(t.action)


def _hopper_cost(env: gym.Env, t: Transition) -> float:
    return 0.5 * _sq(t.action) + _unhealthy(env)


def _humanoid_cost(env: gym.Env, t: Transition) -> float:
    return 0.1 * _sq(_ctrl(env)) + _torso_z_outside(env)


def _root_z(env: gym.Env, t: Transition) -> float:
    return abs(float(env.unwrapped.data.qpos[1]))


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
    """A Safety-MuJoCo task: a gymnasium base env with a reward and a cost.

    ``base_kwargs`` go to ``gymnasium.make`` of the base env; ``params`` are the task's own
    parameters with their defaults (passed to ``reward_fn`` by keyword). ``make(**kwargs)``
    overrides either, and the episode length (``max_episode_steps``).
    """

    base_id: str
    reward_fn: RewardFn
    cost_fn: CostFn
    episode_steps: int = EPISODE_STEPS
    base_kwargs: Mapping[str, Any] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)

    def make(self, **kwargs: Any) -> gym.Env:
        params = {name: kwargs.pop(name, default) for name, default in self.params.items()}
        env = gym.make(self.base_id, **{"max_episode_steps": self.episode_steps, **self.base_kwargs, **kwargs})
        return CostWrapper(RewardReplacer(env, functools.partial(self.reward_fn, **params)), self.cost_fn)


V0: dict[str, Task] = {
    "Walker2d": Task("Walker2d-v5", _forward_and_survive, _walker_cost),
    "HumanoidStandup": Task("HumanoidStandup-v5", _linup, _standup_cost),
    "Reacher": Task("Reacher-v5", _distance, _action_sq),
    "Hopper": Task("Hopper-v5", _x_velocity, _hopper_cost),
    "Ant": Task("Ant-v5", _x_velocity, _half_action_sq),
    "Humanoid": Task("Humanoid-v5", _forward, _humanoid_cost),
    "HalfCheetah": Task("HalfCheetah-v5", _velocity_gap, _root_z, params={"goal_vel": 1.0}),
}
"""The ``-v0`` definitions (rllib-safe's first reading of the paper), by task name."""

V1: dict[str, Task] = {
    **V0,
    "Walker2d": replace(V0["Walker2d"], reward_fn=_forward_and_health_count, base_kwargs=NO_EARLY_END),
    "Reacher": replace(V0["Reacher"], episode_steps=50),
    "Hopper": replace(V0["Hopper"], base_kwargs=NO_EARLY_END),
    "Ant": replace(V0["Ant"], base_kwargs={**NO_EARLY_END, "include_cfrc_ext_in_observation": False}),
    "Humanoid": replace(V0["Humanoid"], base_kwargs=NO_EARLY_END),
}
"""The ``-v1`` definitions (the authors' code), by task name: what differs from ``V0`` is listed here."""

TASKS: dict[str, Callable[..., gym.Env]] = {
    f"SafetyMujoco{name}-{version}": task.make
    for version, tasks in (("v0", V0), ("v1", V1))
    for name, task in tasks.items()
}
"""Safety-MuJoCo id -> ``creator(**kwargs) -> gym.Env``."""
