"""TradeOffEnv: rewards that are not costs, with a known constrained optimum in each regime."""

from __future__ import annotations

import numpy as np
import pytest

from rllib_safe.envs.known_optimum import TradeOffEnv, constrained_optimum_return


def run_episode(env: TradeOffEnv, costly: float, free: float) -> tuple[float, float]:
    """Return and cost of an episode at constant efforts (u in [0, 1] -> a = 2u - 1)."""
    env.reset(seed=0)
    total_reward = total_cost = 0.0
    truncated = False
    while not truncated:
        _, reward, terminated, truncated, info = env.step(np.array([2 * costly - 1, 2 * free - 1], np.float32))
        assert not terminated
        total_reward += reward
        total_cost += info["cost"]
    return total_reward, total_cost


def test_the_optimum_spends_the_budget_on_the_costly_effort_and_always_takes_the_free_one():
    env = TradeOffEnv()  # horizon 10, reward u1 + 0.5 u2, cost u1
    assert constrained_optimum_return(env, 4.0) == 9.0
    assert run_episode(env, costly=0.4, free=1.0) == pytest.approx((9.0, 4.0))  # the optimum
    assert run_episode(env, costly=1.0, free=1.0) == pytest.approx((15.0, 10.0))  # unconstrained
    assert run_episode(env, costly=0.4, free=0.0) == pytest.approx((4.0, 4.0))  # the budget, no free reward


@pytest.mark.parametrize(
    ("config", "limit", "optimum", "at_optimum"),
    [
        ({"costly_reward": 0.0}, 4.0, 5.0, (0.0, 1.0)),  # the costly effort earns nothing: spend none
        ({"reward_offset": -1.0}, 4.0, -1.0, (0.4, 1.0)),  # signed rewards, the same policy
        ({"cost_scale": 100.0}, 400.0, 9.0, (0.4, 1.0)),  # costs in other units, the same problem
    ],
)
def test_each_regime_has_its_known_optimum(config, limit, optimum, at_optimum):
    env = TradeOffEnv(config)
    assert constrained_optimum_return(env, limit) == pytest.approx(optimum)
    episode_return, episode_cost = run_episode(env, *at_optimum)
    assert episode_return == pytest.approx(optimum)
    assert episode_cost <= limit + 1e-9


@pytest.mark.parametrize("config", [{"costly_reward": -1.0}, {"reward_offset": float("nan")}, {"cost_scale": 0.0}])
def test_bad_settings_are_refused_by_name(config):
    (name,) = config
    with pytest.raises(ValueError, match=f"`{name}`"):
        TradeOffEnv(config)
