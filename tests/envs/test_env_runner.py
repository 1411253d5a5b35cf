"""SafeEnvRunner: RLlib's EnvRunner on the list-info vector env, sampling the same episodes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gymnasium.wrappers.vector import DictInfoToList
from ray.rllib.env.single_agent_env_runner import SingleAgentEnvRunner

from rllib_safe.algorithms import default_config
from rllib_safe.envs import register_envs
from rllib_safe.envs.env_runner import SafeEnvRunner
from rllib_safe.envs.vector_env import ListInfoSyncVectorEnv

register_envs()


def config(env_id):
    return (
        default_config("ppo-lag")
        .environment(env_id, env_config={"horizon": 6})
        .env_runners(num_env_runners=0, num_envs_per_env_runner=3)
        .debugging(seed=0)
    )


def test_the_algorithms_sample_with_safe_env_runner():
    assert config("BudgetEnv").env_runner_cls is SafeEnvRunner
    runner = SafeEnvRunner(config=config("BudgetEnv"))
    assert type(runner.env) is ListInfoSyncVectorEnv


def test_other_envs_keep_rllibs_vector_env():
    runner = SafeEnvRunner(config=config("RiskySafeEnv"))  # Discrete actions
    assert type(runner.env) is DictInfoToList


def test_samples_the_episodes_rllibs_env_runner_samples():
    def sample(runner_class):
        torch.manual_seed(0)
        runner = runner_class(config=config("BudgetEnv"))
        return runner.sample(num_timesteps=40) + runner.sample(num_timesteps=40)

    ours, rllib = sample(SafeEnvRunner), sample(SingleAgentEnvRunner)
    assert [len(e) for e in ours] == [len(e) for e in rllib]
    assert sum(e.is_done for e in ours) >= 10  # episodes of 6 steps: resets inside the vector env
    for mine, theirs in zip(ours, rllib):
        for getter in ("get_observations", "get_actions", "get_rewards"):
            np.testing.assert_array_equal(getattr(mine, getter)(), getattr(theirs, getter)(), err_msg=getter)
        assert (mine.is_terminated, mine.is_truncated) == (theirs.is_terminated, theirs.is_truncated)
        np.testing.assert_equal(list(mine.get_infos()), list(theirs.get_infos()))


def test_a_multi_agent_config_names_the_env_runner_to_use():
    multi_agent = config("BudgetEnv").multi_agent(policies={"a", "b"}, policy_mapping_fn=lambda agent_id, *_, **__: "a")
    with pytest.raises(ValueError, match="env_runner_cls.*MultiAgentEnvRunner"):
        multi_agent.validate()
