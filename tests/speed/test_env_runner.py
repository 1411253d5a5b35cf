"""SafeEnvRunner: RLlib's EnvRunner on the list-info vector env, sampling the same episodes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gymnasium.wrappers.vector import DictInfoToList
from ray.rllib.callbacks.callbacks import RLlibCallback
from ray.rllib.env.single_agent_env_runner import SingleAgentEnvRunner
from ray.tune.registry import register_env

from rllib_safe.algorithms import default_config
from rllib_safe.connectors import SafetyMetricsCallback
from rllib_safe.connectors.columns import CUMULATIVE_COST_INFO
from rllib_safe.envs import CostContract, register_envs
from rllib_safe.envs.known_optimum import BudgetEnv
from rllib_safe.rllib_private import callback_objects
from rllib_safe.speed.env_runner import SafeEnvRunner
from rllib_safe.speed.vector_env import ListInfoSyncVectorEnv

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


register_env("ContractBudgetEnv", lambda env_config: CostContract(BudgetEnv(env_config)))


class StepCounter(RLlibCallback):
    def __init__(self):
        super().__init__()
        self.steps = 0

    def on_episode_step(self, **kwargs):
        self.steps += 1


class CountingMetricsCallback(SafetyMetricsCallback):
    """A subclass with its own ``on_episode_step``: it wants every step, whatever the env."""

    def __init__(self):
        super().__init__()
        self.steps = 0

    def on_episode_step(self, **kwargs):
        super().on_episode_step(**kwargs)
        self.steps += 1


def sampled_steps(runner, num_timesteps=60):
    return sum(len(episode) for episode in runner.sample(num_timesteps=num_timesteps))


@pytest.mark.parametrize("callback_class", [StepCounter, CountingMetricsCallback])
def test_callbacks_defining_on_episode_step_see_every_env_step(callback_class):
    runner = SafeEnvRunner(config=config("ContractBudgetEnv").callbacks([SafetyMetricsCallback, callback_class]))
    steps = sampled_steps(runner)
    assert steps >= 60 and callback_objects(runner)[1].steps == steps


def test_a_configured_on_episode_step_function_sees_every_env_step():
    calls = []
    runner = SafeEnvRunner(
        config=config("ContractBudgetEnv").callbacks(on_episode_step=lambda **kwargs: calls.append(1))
    )
    steps = sampled_steps(runner)
    assert steps >= 60 and len(calls) == steps


@pytest.mark.parametrize(("env_id", "tracked"), [("ContractBudgetEnv", False), ("BudgetEnv", True)])
def test_the_cost_callback_runs_per_step_only_where_the_env_keeps_no_cost(env_id, tracked, monkeypatch):
    calls = []
    on_episode_step = SafetyMetricsCallback.on_episode_step

    def spy(self, **kwargs):
        calls.append(1)
        on_episode_step(self, **kwargs)

    monkeypatch.setattr(SafetyMetricsCallback, "on_episode_step", spy)
    runner = SafeEnvRunner(config=config(env_id))
    episodes = runner.sample(num_timesteps=60)
    assert len(calls) == (sum(len(episode) for episode in episodes) if tracked else 0)
    costs = [float(episode.get_infos(-1)[CUMULATIVE_COST_INFO]) for episode in episodes if episode.is_done]
    assert costs and all(cost >= 0 for cost in costs)  # the episode cost is kept either way
