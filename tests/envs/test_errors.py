"""Bad ids and cost-less envs fail with errors that say what to do; the wrappers fix them."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from rllib_safe.envs import (
    CostContract,
    CostWrapper,
    MissingCostError,
    SixTupleToFiveTuple,
    UnknownEnvError,
    UnsupportedEnvError,
    known_env_ids,
    make_env,
)


def test_unknown_id_names_closest_ids() -> None:
    with pytest.raises(UnknownEnvError, match="SafetyPointGoal7-v0") as err:
        make_env("SafetyPointGoal7-v0")
    assert "SafetyPointGoal1-v0" in err.value.suggestions
    assert isinstance(err.value, ValueError)


@pytest.mark.parametrize("env_id", ["Safety2x4AntVelocity-v0", "Safety9|8HumanoidVelocity-v0"])
def test_multi_agent_ids_unsupported(env_id: str) -> None:
    with pytest.raises(UnsupportedEnvError, match="multi-agent"):
        make_env(env_id)


def test_known_ids_cover_all_families() -> None:
    ids = set(known_env_ids())
    for env_id in (
        "SafetyCarButton2-v0",
        "SafetyHumanoidVelocity-v1",
        "SafetyRacecarCircle0Gymnasium-v0",
        "SafetyMujocoHalfCheetah-v0",
    ):
        assert env_id in ids


def test_env_without_cost_says_how_to_wrap_it() -> None:
    env = make_env("CartPole-v1")
    env.reset(seed=0)
    with pytest.raises(MissingCostError, match="CostWrapper"):
        env.step(0)


def test_cost_wrapper() -> None:
    env = CostWrapper(gym.make("CartPole-v1"), lambda env, t: abs(t.obs[0]) + t.action)
    env.reset(seed=0)
    obs, *_, info = env.step(1)
    assert info["cost"] == pytest.approx(abs(obs[0]) + 1)


class _SixTupleEnv(gym.Env):
    observation_space = gym.spaces.Box(-1, 1, (1,))
    action_space = gym.spaces.Discrete(2)

    def __init__(self, render_mode=None):
        self.render_mode = render_mode

    def reset(self, *, seed=None, options=None):
        return np.zeros(1, np.float32), {}

    def step(self, action):
        return np.zeros(1, np.float32), 1.0, float(action), False, False, {}


def test_six_tuple_adapted() -> None:
    env = SixTupleToFiveTuple(_SixTupleEnv())
    env.reset()
    assert env.step(1)[4]["cost"] == 1.0


def test_make_env_detects_six_tuple() -> None:
    gym.register("RllibSafeSixTupleTest-v0", entry_point=_SixTupleEnv, disable_env_checker=True, order_enforce=False)
    try:
        env = make_env("RllibSafeSixTupleTest-v0")
        env.reset()
        obs, reward, terminated, truncated, info = env.step(1)
        assert (reward, info["cost"]) == (1.0, 1.0)
    finally:
        del gym.registry["RllibSafeSixTupleTest-v0"]


class _NumpyInfoEnv(_SixTupleEnv):
    """Reports its infos as numpy scalars and arrays, as MuJoCo tasks do."""

    def reset(self, *, seed=None, options=None):
        return np.zeros(1, np.float32), {"x_position": np.float64(0.25)}

    def step(self, action):
        info = {"x_velocity": np.float64(-1.5), "steps": np.int64(3), "hit": np.bool_(True), "pos": np.ones(2)}
        return np.zeros(1, np.float32), 1.0, np.float32(0.5), False, False, info


def test_cost_contract_gives_numpy_scalars_in_infos_as_python_numbers() -> None:
    env = CostContract(SixTupleToFiveTuple(_NumpyInfoEnv()))
    _, reset_info = env.reset()
    assert type(reset_info["x_position"]) is float and reset_info["x_position"] == 0.25
    info = env.step(1)[4]
    assert {key: type(info[key]) for key in ("x_velocity", "steps", "hit", "cost", "cumulative_cost")} == {
        "x_velocity": float,
        "steps": int,
        "hit": bool,
        "cost": float,
        "cumulative_cost": float,
    }
    assert (info["x_velocity"], info["steps"], info["hit"], info["cost"]) == (-1.5, 3, True, 0.5)
    np.testing.assert_array_equal(info["pos"], np.ones(2))  # arrays are left as they are
