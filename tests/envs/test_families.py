"""Every task family builds, resets and steps, with a float cost >= 0 charged on the right step."""

from __future__ import annotations

import numpy as np
import pytest

from rllib_safe.envs import make_env

FAMILIES = [
    "SafetyPointGoal1-v0",
    "SafetyCarGoal1-v0",  # Car agent: numpy>=2.4 scalar fixes
    "SafetyPointButton1-v0",
    "SafetyPointPush1-v0",
    "SafetyPointCircle1-v0",
    "SafetyPointGoal1Gymnasium-v0",
    "SafetyHopperVelocity-v1",
    "SafetyMujocoWalker2d-v0",
    "SafetyMujocoHumanoidStandup-v0",
    "SafetyMujocoReacher-v0",
    "SafetyMujocoHopper-v0",
    "SafetyMujocoAnt-v0",
    "SafetyMujocoHumanoid-v0",
    "SafetyMujocoHalfCheetah-v0",
]


@pytest.mark.parametrize("env_id", FAMILIES)
def test_builds_resets_steps(env_id: str) -> None:
    env = make_env(env_id)
    env.action_space.seed(0)
    obs, info = env.reset(seed=0)
    assert info["cost"] == 0.0
    assert env.observation_space.contains(obs)
    for _ in range(10):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        assert type(info["cost"]) is float and info["cost"] >= 0.0
        assert np.isfinite(reward)
        if terminated or truncated:
            break
    env.close()


def _step_cost(env, action) -> float:
    return env.step(action)[4]["cost"]


def test_hazard_entered_is_charged_on_that_step() -> None:
    env = make_env("SafetyPointGoal1-v0")
    env.reset(seed=0)
    task = env.unwrapped.task
    hazard = task.model.body("hazard0").id
    away = task.model.body_pos[hazard].copy()
    still = np.zeros(env.action_space.shape)

    assert _step_cost(env, still) == 0.0
    task.model.body_pos[hazard][:2] = task.agent.pos[:2]  # the hazard now covers the agent
    cost = _step_cost(env, still)
    assert cost > 0.0
    assert cost == env.unwrapped._cost()["cost_sum"]  # the env's own (indicator) cost, same state
    task.model.body_pos[hazard] = away
    assert _step_cost(env, still) == 0.0  # no lag: the next step is free again


def test_velocity_cost_matches_its_threshold() -> None:
    env = make_env("SafetyHopperVelocity-v1")
    env.reset(seed=0)
    env.action_space.seed(0)
    threshold = env.unwrapped._velocity_threshold
    for _ in range(50):
        _, _, terminated, truncated, info = env.step(env.action_space.sample())
        assert info["cost"] == float(info["x_velocity"] > threshold)
        if terminated or truncated:
            break


def test_safety_mujoco_cost_is_the_action_just_taken() -> None:
    env = make_env("SafetyMujocoHopper-v0")
    env.reset(seed=0)
    assert _step_cost(env, np.zeros(3)) == 0.0
    assert _step_cost(env, np.array([0.5, -0.5, 1.0])) == pytest.approx(0.5 * 1.5)
    assert _step_cost(env, np.zeros(3)) == 0.0


def test_half_cheetah_reward_tracks_goal_velocity() -> None:
    env = make_env("SafetyMujocoHalfCheetah-v0", goal_vel=2.0)
    env.reset(seed=0)
    _, reward, _, _, info = env.step(np.zeros(6))
    assert reward == pytest.approx(-abs(info["x_velocity"] - 2.0))
