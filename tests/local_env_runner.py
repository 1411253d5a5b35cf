"""A local EnvRunner of PPO-Lag's default config on a registered env, for tests that sample directly."""

from __future__ import annotations

from ray.tune.registry import register_env

from rllib_safe.algorithms import default_config
from rllib_safe.envs import CostContract
from rllib_safe.envs.known_optimum import BudgetEnv

register_env("ContractBudgetEnv", lambda config: CostContract(BudgetEnv(config)))


def local_env_runner(env_id: str, num_envs: int = 4, **training):
    """The config's own EnvRunner class, no remote workers, seed 0; ``training`` goes to ``.training()``."""
    config = (
        default_config("ppo-lag")
        .environment(env_id)
        .env_runners(num_env_runners=0, num_envs_per_env_runner=num_envs)
        .training(**training)
        .debugging(seed=0)
    )
    return config.env_runner_cls(config=config)
