"""Baselines on a problem with a known constrained optimum (BudgetEnv, limit 5)."""

from __future__ import annotations

import pytest

from rllib_safe.algorithms import default_config
from tests.algorithms.learning import COST_LIMIT, HORIZON, small_problem_config, train

pytestmark = pytest.mark.slow


def test_ppo_ignores_the_limit(ray_session):
    result = train(small_problem_config(default_config("ppo")), iterations=15)
    assert result["cost"] > 2.5 * COST_LIMIT  # unconstrained optimum: cost = horizon (20)


def test_ppo_lagrangian_ends_near_the_limit(ray_session):
    config = small_problem_config(default_config("ppo-lag")).training(
        lagrangian_multiplier_init=0.1, lagrangian_multiplier_lr=0.1
    )
    result = train(config, iterations=30)
    assert abs(result["cost"] - COST_LIMIT) < 3.0, result
    assert result["cost"] < HORIZON / 2


def test_crpo_stays_within_limit_plus_tolerance(ray_session):
    config = small_problem_config(default_config("crpo"))
    result = train(config, iterations=25)
    assert result["cost"] <= COST_LIMIT + config.cost_tolerance + 1.5, result
    assert result["return"] > 2.0, result
