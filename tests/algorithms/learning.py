"""Helpers for the learning tests: train on a known-optimum problem, read J_c and return."""

from __future__ import annotations

from rllib_safe.envs import register_envs
from rllib_safe.envs.known_optimum import SMALL_PROBLEM_TRAINING

HORIZON = 20
COST_LIMIT = 5.0


def small_problem_config(
    config, env: str = "BudgetEnv", *, seed: int = 0, env_config: dict | None = None, cost_limit: float = COST_LIMIT
):
    """Fast settings: local sampling, short episodes, small batches (``env``: a known-optimum problem;
    ``env_config`` adds to its horizon of ``HORIZON`` steps or replaces it)."""
    register_envs()
    return (
        config.environment(env, env_config={"horizon": HORIZON, **(env_config or {})})
        .env_runners(num_env_runners=0, num_envs_per_env_runner=4)
        .training(cost_limit=cost_limit, **SMALL_PROBLEM_TRAINING)
        .debugging(seed=seed)
    )


def train(config, iterations: int) -> dict:
    """Trains and returns the final J_c and raw episode return."""
    algo = config.build_algo()
    try:
        for _ in range(iterations):
            result = algo.train()
    finally:
        algo.stop()
    runners = result["env_runners"]
    return {"cost": runners["episode_cost_mean"], "return": runners["episode_return_mean"]}
