"""The cost in the infos of sampled episodes: the EnvRunner's cost callback keeps the episode's
cumulative cost with or without ``CostContract``, and an env without a cost fails clearly."""

from __future__ import annotations

import numpy as np
import pytest
from ray.tune.registry import register_env

from rllib_safe.connectors.columns import CUMULATIVE_COST_INFO
from rllib_safe.envs import CostContract, MissingCostError
from rllib_safe.envs.known_optimum import BudgetEnv
from tests.local_env_runner import local_env_runner


class NoCostEnv(BudgetEnv):
    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        info.pop("cost")
        return obs, reward, terminated, truncated, info


register_env("RawBudgetEnv", lambda config: BudgetEnv(config))
register_env("NoCostEnv", lambda config: NoCostEnv(config))


@pytest.mark.parametrize("env_id", ["ContractBudgetEnv", "RawBudgetEnv"])
def test_cumulative_cost_in_the_infos_with_or_without_cost_contract(env_id):
    env_runner = local_env_runner(env_id, num_envs=2)
    for episode in env_runner.sample(num_timesteps=150) + env_runner.sample(num_timesteps=150):
        infos = episode.get_infos()
        start = infos[0][CUMULATIVE_COST_INFO]
        costs = np.array([info["cost"] for info in infos[1:]])
        np.testing.assert_allclose([info[CUMULATIVE_COST_INFO] for info in infos[1:]], start + np.cumsum(costs))
        if episode.t_started == 0:
            assert start == 0.0


def test_env_without_cost_fails_clearly():
    with pytest.raises(MissingCostError):
        local_env_runner("NoCostEnv", num_envs=1).sample(num_timesteps=5)


def test_cost_contract_keeps_the_episode_cost():
    env = CostContract(BudgetEnv({}))
    _, info = env.reset(seed=0)
    assert info[CUMULATIVE_COST_INFO] == 0.0
    total = 0.0
    for action in (-1.0, 1.0, 0.0):
        *_, info = env.step(np.array([action], np.float32))
        total += info["cost"]
        assert info[CUMULATIVE_COST_INFO] == pytest.approx(total)
    _, info = env.reset()
    assert info[CUMULATIVE_COST_INFO] == 0.0


def test_cost_contract_uses_the_pipelines_info_key():
    from rllib_safe.envs import wrappers

    assert wrappers.CUMULATIVE_COST_INFO == CUMULATIVE_COST_INFO
