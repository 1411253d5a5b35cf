"""Navigation worlds compile without the skybox texture unless the env renders."""

from __future__ import annotations

import mujoco

from rllib_safe.envs import make_env


def _skyboxes(env) -> int:
    types = env.unwrapped.task.model.tex_type
    return int((types == mujoco.mjtTexture.mjTEXTURE_SKYBOX).sum())


def test_no_skybox_without_rendering() -> None:
    env = make_env("SafetyPointGoal1-v0")
    env.reset(seed=0)
    assert _skyboxes(env) == 0


def test_skybox_when_rendering() -> None:
    env = make_env("SafetyPointGoal1-v0", render_mode="rgb_array")
    env.reset(seed=0)
    assert _skyboxes(env) == 1
