"""Registered env ids work on a remote RLlib EnvRunner (a separate worker process)."""

from __future__ import annotations

import os

from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.env.single_agent_env_runner import SingleAgentEnvRunner

from rllib_safe.envs import register_envs


def test_env_id_on_remote_env_runner(ray_session) -> None:
    register_envs()
    config = PPOConfig().environment("SafetyPointGoal1-v0").env_runners(num_env_runners=1)
    runner = ray_session.remote(num_cpus=1)(SingleAgentEnvRunner).remote(config=config)
    episodes = ray_session.get(runner.sample.remote(num_timesteps=20, random_actions=True))
    runner_pid = ray_session.get(runner.__ray_call__.remote(lambda self: os.getpid()))
    assert runner_pid != os.getpid()
    assert sum(len(ep) for ep in episodes) >= 20
    costs = [info["cost"] for ep in episodes for info in ep.get_infos()]
    assert costs and all(isinstance(c, float) and c >= 0.0 for c in costs)
