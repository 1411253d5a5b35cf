"""J_c as the docs promise: a window over the last `episode_cost_window` finished episodes.

``CountingCostEnv``'s k-th finished episode costs exactly k, so every estimator gives a
different number: the window of episodes 1..100 is 50.5, the last iteration's 20 episodes
81..100 give 90.5.
"""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest
from ray.tune.registry import register_env

from rllib_safe.algorithms import default_config

EPISODE_LENGTH = 5
EPISODES_PER_ITERATION = 20


class CountingCostEnv(gym.Env):
    """Episodes of ``horizon`` steps; the k-th episode to finish charges cost k on its last step
    and pays reward k spread over its steps (k / horizon each), so its return is k too."""

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
        reward = (self.finished + 1) / self.horizon
        cost = 0.0
        if done:
            self.finished += 1
            cost = float(self.finished)
        return np.zeros(1, np.float32), reward, False, done, {"cost": cost}


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


def test_return_and_length_are_over_the_same_episodes_as_j_c(ray_session, tmp_path):
    # Episodes of 7 steps, 100 steps per iteration: most episodes span two iterations' chunks.
    algo = counting_config("ppo", horizon=7).training(episode_cost_window=10).build_algo()
    try:
        for _ in range(3):  # 300 steps: 42 episodes finished, the window holds episodes 33..42
            result = algo.train()
        algo.save_to_path(str(tmp_path))
    finally:
        algo.stop()
    runners = result["env_runners"]
    assert runners["episode_cost_mean"] == pytest.approx(37.5)
    assert runners["episode_return_window_mean"] == pytest.approx(37.5)  # whole episodes, not chunks
    assert runners["episode_len_window_mean"] == pytest.approx(7.0)

    restored = counting_config("ppo", horizon=7).algo_class.from_checkpoint(str(tmp_path))
    try:
        assert restored.episode_return_window.mean() == pytest.approx(37.5)
        assert restored.episode_length_window.mean() == pytest.approx(7.0)
    finally:
        restored.stop()


def test_the_return_is_measured_in_iterations_where_no_episode_finished(ray_session):
    # Episodes of 150 steps, 100 steps per iteration: iteration 4 finishes none (episode 1 ends
    # in iteration 2 at step 150, episode 2 in iteration 3 at step 300): RLlib's per-iteration mean is NaN there.
    algo = counting_config("ppo", horizon=150).build_algo()
    try:
        results = [algo.train()["env_runners"] for _ in range(4)]
    finally:
        algo.stop()
    assert math.isnan(results[3].get("episode_return_mean", math.nan))  # RLlib's: none finished in iteration 4
    assert "episode_return_window_mean" not in results[0]  # nothing finished yet: no measurement
    assert [r["episode_return_window_mean"] for r in results[1:]] == [pytest.approx(1.0), pytest.approx(1.5),
                                                                    pytest.approx(1.5)]


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


def test_learners_steer_by_the_episodes_of_the_last_env_steps_when_asked(ray_session, tmp_path):
    # 100 env steps per iteration; a horizon of 200 env steps: the last two iterations' episodes.
    config = counting_config("ppo-lag").training(steering_cost_env_steps=200)
    algo = config.build_algo()
    try:
        for _ in range(5):
            result = algo.train()
        assert result["env_runners"]["episode_cost_mean"] == pytest.approx(50.5)  # reported: episodes 1..100
        assert learner_values(algo, lambda learner: learner.episode_cost) == [pytest.approx(80.5)]  # 61..100
        assert result["learners"]["episode_cost_estimate"] == pytest.approx(80.5)
        algo.save_to_path(str(tmp_path))
    finally:
        algo.stop()
    restored = config.algo_class.from_checkpoint(str(tmp_path))
    try:
        assert restored.steering_episode_cost() == pytest.approx(80.5)
        assert restored.measured_episode_cost() == pytest.approx(50.5)
    finally:
        restored.stop()
