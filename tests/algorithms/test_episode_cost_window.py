"""J_c as the docs promise: a window over the last `episode_cost_window` finished episodes.

``CountingCostEnv``'s k-th finished episode costs exactly k, so every estimator gives a
different number: the window of episodes 1..100 is 50.5, the last iteration's 20 episodes
81..100 give 90.5.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from ray.tune.registry import register_env

from rllib_safe.algorithms import default_config

EPISODE_LENGTH = 5
EPISODES_PER_ITERATION = 20


class CountingCostEnv(gym.Env):
    """Episodes of ``horizon`` steps; the k-th episode to finish charges cost k on its last step."""

    def __init__(self, config: dict | None = None):
        self.horizon = int((config or {}).get("horizon", EPISODE_LENGTH))
        self.observation_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self.finished = 0
        self.t = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(1, np.float32), {"cost": 0.0}

    def step(self, action):
        self.t += 1
        done = self.t >= self.horizon
        cost = 0.0
        if done:
            self.finished += 1
            cost = float(self.finished)
        return np.zeros(1, np.float32), 0.0, False, done, {"cost": cost}


def counting_config(algo: str, horizon: int = EPISODE_LENGTH):
    register_env("CountingCostEnv", lambda config: CountingCostEnv(config))
    return (
        default_config(algo)
        .environment("CountingCostEnv", env_config={"horizon": horizon})
        .env_runners(num_env_runners=0, num_envs_per_env_runner=1)
        .training(
            train_batch_size_per_learner=EPISODE_LENGTH * EPISODES_PER_ITERATION,
            minibatch_size=50,
            num_epochs=1,
            cost_limit=60.0,
            normalize_observations=False,
        )
        .debugging(seed=0)
    )


def learner_values(algo, func) -> list:
    return [result.get() for result in algo.learner_group.foreach_learner(func)]


def test_episode_cost_is_the_window_of_the_last_100_episodes(ray_session, tmp_path):
    algo = counting_config("ppo").build_algo()
    try:
        for _ in range(5):
            result = algo.train()
        runners = result["env_runners"]
        assert runners["num_episodes_in_cost_window"] == 100
        assert runners["episode_cost_mean"] == pytest.approx(50.5)  # episodes 1..100
        assert runners["episode_cost_iteration_mean"] == pytest.approx(90.5)  # episodes 81..100
        assert runners["episodes_over_limit_fraction"] == pytest.approx(0.4)  # 61..100 over 60
        assert learner_values(algo, lambda learner: learner.episode_cost) == [pytest.approx(50.5)]

        result = algo.train()  # episodes 101..120 push 1..20 out
        assert result["env_runners"]["episode_cost_mean"] == pytest.approx(70.5)
        algo.save_to_path(str(tmp_path))
    finally:
        algo.stop()

    # The window is part of the algorithm's state: restored with the checkpoint.
    restored = counting_config("ppo").algo_class.from_checkpoint(str(tmp_path))
    try:
        assert restored.measured_episode_cost() == pytest.approx(70.5)
    finally:
        restored.stop()


def test_no_finished_episode_means_no_measurement(ray_session):
    # Episodes of 1000 steps, 100 steps per iteration: nothing has finished after one iteration.
    config = counting_config("ppo-lag", horizon=1000).training(lagrangian_multiplier_init=0.5)
    algo = config.build_algo()
    try:
        result = algo.train()
    finally:
        algo.stop()
    assert "episode_cost_mean" not in result["env_runners"]
    learners = result["learners"]
    assert learners["cost_measured"] == 0.0, sorted(learners)
    # PPO-Lag keeps lambda where it was instead of stepping on a made-up J_c of 0.
    assert learners["lagrangian_multiplier"] == pytest.approx(0.5)
