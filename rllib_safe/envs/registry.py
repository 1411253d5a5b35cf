"""Env ids -> cost-carrying gymnasium 1.x envs, locally and on RLlib's remote EnvRunners."""

from __future__ import annotations

import functools
import re
from typing import Any

import gymnasium as gym

from rllib_safe.envs import compat, skybox
from rllib_safe.envs.errors import UnknownEnvError, UnsupportedEnvError
from rllib_safe.envs.safety_mujoco import TASKS
from rllib_safe.envs.wrappers import CostContract, ObserveEpisodeCost, SixTupleToFiveTuple, check_observe_episode_cost

# Safety-gymnasium multi-agent ids: "Safety2x4AntVelocity-v0", "Safety9|8HumanoidVelocity-v0",
# "SafetyPointMultiGoal1-v0", ...
_MULTI_AGENT = re.compile(r"^Safety(\d+x\d+|\d+\|\d+)\w*Velocity|MultiGoal")
# Keyboard-controlled debug variants need a window; they are not offered.
_DEBUG = re.compile(r"Debug(Gymnasium)?-v\d+$")


def _prepare() -> None:
    compat.apply()
    skybox.install()


def _safety_gymnasium_ids() -> list[str]:
    """Native (6-tuple) safety-gymnasium ids."""
    from safety_gymnasium.utils.registration import safe_registry

    return sorted(i for i in safe_registry if not _DEBUG.search(i))


def _gymnasium_variant(env_id: str) -> str:
    name, _, version = env_id.partition("-")
    return f"{name}Gymnasium-{version}"


@functools.cache
def known_env_ids() -> list[str]:
    """Every id :func:`make_env` and :func:`register_envs` offer (plus any gymnasium id with a cost)."""
    _prepare()
    native = _safety_gymnasium_ids()
    return sorted([*native, *map(_gymnasium_variant, native), *TASKS])


def make_env(
    env_id: str, *, render_mode: str | None = None, observe_episode_cost: float | None = None, **kwargs: Any
) -> gym.Env:
    """Build ``env_id`` as a gymnasium 5-tuple env whose ``info["cost"]`` is a float >= 0.

    Ids: safety-gymnasium's (native ``SafetyPointGoal1-v0`` or ``SafetyPointGoal1Gymnasium-v0``),
    Safety-MuJoCo's (``SafetyMujocoHopper-v0``, see :mod:`.safety_mujoco`) or any gymnasium id whose
    env puts the cost in ``info["cost"]`` (otherwise the first step raises ``MissingCostError``).
    ``kwargs`` go to the env's constructor. Navigation tasks without rendering skip the skybox.

    ``observe_episode_cost`` (off by default): the budget d to divide the episode's cost so far by;
    when given, that share of the budget spent becomes one more entry at the end of the (1-D Box)
    observation (:class:`~rllib_safe.envs.wrappers.ObserveEpisodeCost`, outermost). SMPO's
    modulation depends on C_t, which is otherwise not in the observation. From RLlib:
    ``config.environment(env_config={"observe_episode_cost": 25.0})``.
    """
    if observe_episode_cost is not None:
        check_observe_episode_cost(observe_episode_cost)  # before the env is built
    _prepare()
    if _MULTI_AGENT.search(env_id):
        raise UnsupportedEnvError(
            f"{env_id!r} is a safety-gymnasium multi-agent env; rllib_safe supports single-agent envs only"
        )
    if env_id in TASKS:
        env = TASKS[env_id](render_mode=render_mode, **kwargs)
    elif env_id in _safety_gymnasium_ids():
        import safety_gymnasium

        env = SixTupleToFiveTuple(safety_gymnasium.make(env_id, render_mode=render_mode, **kwargs))
    elif env_id in gym.registry:
        env = gym.make(env_id, render_mode=render_mode, **kwargs)
    else:
        raise UnknownEnvError(env_id, [*known_env_ids(), *gym.registry])
    env = CostContract(env)
    if observe_episode_cost is not None:
        env = ObserveEpisodeCost(env, observe_episode_cost)
    return env


def env_creator(env_id: str, config: dict | None = None) -> gym.Env:
    """RLlib env creator: ``config`` is the EnvContext (dict of ``make_env`` kwargs)."""
    return make_env(env_id, **dict(config or {}))


@functools.cache
def register_envs() -> None:
    """Register every :func:`known_env_ids` id with Ray Tune so ``config.environment(id)`` works.

    Registered creators are pickled by reference to :func:`env_creator`, so remote EnvRunners
    import ``rllib_safe.envs`` and apply the compat layer themselves. The known-optimum
    problems (``BudgetEnv``, ``RiskySafeEnv``: ``rllib_safe.envs.known_optimum``) are registered
    under their class names, for learning checks from the CLI as from Python. Idempotent.
    """
    from ray.tune.registry import register_env

    from rllib_safe.envs.known_optimum import KNOWN_OPTIMUM_ENVS

    for env_id in known_env_ids():
        register_env(env_id, functools.partial(env_creator, env_id))
    for name, env_class in KNOWN_OPTIMUM_ENVS.items():
        register_env(name, env_class)
