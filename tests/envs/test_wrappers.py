"""CostContract's lowest reward so far and ObserveEpisodeCost's episode cost in the observation."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from rllib_safe.connectors import columns
from rllib_safe.envs import CostContract, ObserveEpisodeCost, env_creator, make_env, wrappers
from rllib_safe.envs.known_optimum import BudgetEnv
from rllib_safe.envs.wrappers import CUMULATIVE_COST_INFO, EPISODE_REWARD_MINIMUM_INFO


class ScriptedEnv(gym.Env):
    """Steps through fixed rewards and costs, whatever the action; a 1-D float32 observation."""

    observation_space = gym.spaces.Box(-1.0, 1.0, shape=(3,), dtype=np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, rewards, costs=None):
        self.rewards = list(rewards)
        self.costs = list(costs) if costs is not None else [0.0] * len(self.rewards)
        self._t = 0

    def _obs(self):
        return np.full(3, self._t / len(self.rewards), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._t = 0
        return self._obs(), {"cost": 0.0}

    def step(self, action):
        reward, cost = self.rewards[self._t], self.costs[self._t]
        self._t += 1
        return self._obs(), reward, self._t >= len(self.rewards), False, {"cost": cost}


def test_episode_reward_minimum_is_the_lowest_reward_so_far_and_never_above_zero():
    rewards = [1.0, -2.0, 0.5, -3.0, 4.0]
    env = CostContract(ScriptedEnv(rewards))
    _, info = env.reset(seed=0)
    assert info[EPISODE_REWARD_MINIMUM_INFO] == 0.0
    minima, returned = [], []
    for _ in rewards:
        _, reward, *_, info = env.step(0)
        returned.append(reward)
        minima.append(info[EPISODE_REWARD_MINIMUM_INFO])
    assert minima == [0.0, -2.0, -2.0, -3.0, -3.0]
    assert returned == rewards  # the env's rewards pass unchanged
    _, info = env.reset()
    assert info[EPISODE_REWARD_MINIMUM_INFO] == 0.0
    *_, info = env.step(0)
    assert info[EPISODE_REWARD_MINIMUM_INFO] == 0.0  # the new episode starts from 0, not from -3


def test_numpy_rewards_give_a_python_float_minimum():
    env = CostContract(ScriptedEnv([np.float64(-1.5), np.float32(2.0)]))
    env.reset(seed=0)
    *_, info = env.step(0)
    assert type(info[EPISODE_REWARD_MINIMUM_INFO]) is float and info[EPISODE_REWARD_MINIMUM_INFO] == -1.5


def test_the_pipeline_and_the_wrappers_use_one_info_key():
    assert wrappers.EPISODE_REWARD_MINIMUM_INFO == columns.EPISODE_REWARD_MINIMUM_INFO == "episode_reward_minimum"


def test_observed_episode_cost_is_the_cost_so_far_over_the_scale():
    costs = [0.5, 0.0, 2.0, 1.5]
    scale = 4.0
    env = ObserveEpisodeCost(CostContract(ScriptedEnv([1.0] * len(costs), costs)), scale)
    inner_shape = env.env.observation_space.shape
    assert env.observation_space.shape == (inner_shape[0] + 1,)
    assert env.observation_space.dtype == np.float32
    assert env.observation_space.low[-1] == 0.0 and env.observation_space.high[-1] == np.inf
    obs, info = env.reset(seed=0)
    assert obs.dtype == np.float32 and obs[-1] == 0.0 and obs in env.observation_space
    spent = 0.0
    for cost in costs:
        obs, _, _, _, info = env.step(0)
        spent += cost
        assert obs[-1] == pytest.approx(spent / scale)
        assert obs[-1] == pytest.approx(info[CUMULATIVE_COST_INFO] / scale)
        assert obs in env.observation_space
    obs, _ = env.reset()
    assert obs[-1] == 0.0


def test_observed_episode_cost_on_budget_env_keeps_the_inner_observation():
    env = ObserveEpisodeCost(CostContract(BudgetEnv({"horizon": 4})), 2.0)
    inner = CostContract(BudgetEnv({"horizon": 4}))
    obs, _ = env.reset(seed=0)
    inner_obs, _ = inner.reset(seed=0)
    np.testing.assert_array_equal(obs[:-1], inner_obs)
    for action in (1.0, -1.0, 0.0):
        obs, *_ = env.step(np.array([action], np.float32))
        inner_obs, _, _, _, info = inner.step(np.array([action], np.float32))
        np.testing.assert_array_equal(obs[:-1], inner_obs)
        assert obs[-1] == pytest.approx(info[CUMULATIVE_COST_INFO] / 2.0)


@pytest.mark.parametrize("scale", [0.0, -1.0, float("inf"), float("nan"), True, "25", None])
def test_bad_scale_is_refused(scale):
    with pytest.raises(ValueError, match="observe_episode_cost") as error:
        ObserveEpisodeCost(CostContract(BudgetEnv({})), scale)
    assert repr(scale) in str(error.value) and "> 0" in str(error.value)


def test_observation_that_is_not_a_1d_box_is_refused():
    class ImageEnv(ScriptedEnv):
        observation_space = gym.spaces.Box(0.0, 1.0, shape=(2, 2), dtype=np.float32)

    class DiscreteObsEnv(ScriptedEnv):
        observation_space = gym.spaces.Discrete(3)

    for env in (ImageEnv([1.0]), DiscreteObsEnv([1.0])):
        with pytest.raises(ValueError, match="observe_episode_cost.*1-D Box"):
            ObserveEpisodeCost(CostContract(env), 25.0)


def test_observe_episode_cost_needs_the_cumulative_cost_info():
    env = ObserveEpisodeCost(ScriptedEnv([1.0]), 1.0)
    with pytest.raises(KeyError, match="CostContract"):
        env.reset(seed=0)


def test_make_env_appends_the_episode_cost_when_asked():
    plain = make_env("SafetyPointCircle1-v0")
    observed = make_env("SafetyPointCircle1-v0", observe_episode_cost=25.0)
    assert observed.observation_space.shape == (plain.observation_space.shape[0] + 1,)
    assert isinstance(observed, ObserveEpisodeCost) and isinstance(observed.env, CostContract)
    obs, _ = observed.reset(seed=0)
    assert obs.shape == observed.observation_space.shape and obs[-1] == 0.0
    for _ in range(5):
        obs, _, _, _, info = observed.step(observed.action_space.sample())
        assert obs[-1] == pytest.approx(info[CUMULATIVE_COST_INFO] / 25.0)
    from_env_config = env_creator("SafetyPointCircle1-v0", {"observe_episode_cost": 25})
    assert from_env_config.observation_space.shape == observed.observation_space.shape


def test_make_env_refuses_a_bad_scale_before_building_the_env():
    with pytest.raises(ValueError, match="observe_episode_cost"):
        make_env("SafetyPointCircle1-v0", observe_episode_cost=0.0)
