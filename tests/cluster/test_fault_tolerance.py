"""An EnvRunner killed mid-training is restarted and the run finishes all its iterations."""

from __future__ import annotations

import os
import time

import pytest
import ray

from rllib_safe.algorithms import PPOLagConfig
from tests.algorithms.learning import small_problem_config

ITERATIONS = 4
KILL_AFTER = 2
RESTORE_TIMEOUT_S = 120

pytestmark = pytest.mark.slow


def env_runner_pids(algo) -> list[int]:
    return algo.env_runner_group.foreach_env_runner(lambda runner: os.getpid(), local_env_runner=False)


def sampled_steps(algo) -> float:
    return algo.metrics.peek(("env_runners", "num_env_steps_sampled_lifetime"))


def env_runner_handles(algo) -> list:
    return algo.env_runner_group.foreach_env_runner(
        lambda runner: ray.get_runtime_context().current_actor, local_env_runner=False
    )


def wait_until_restored(algo, timeout_s: float = RESTORE_TIMEOUT_S) -> None:
    """Probes the EnvRunner as Algorithm.train does, until it is back (restart is async)."""
    deadline = time.monotonic() + timeout_s
    while algo.env_runner_group.num_healthy_remote_env_runners() < 1:
        assert time.monotonic() < deadline, "the killed EnvRunner did not come back"
        algo.restore_env_runners(algo.env_runner_group)
        time.sleep(1.0)


def test_killed_env_runner_is_restarted_and_training_goes_on(ray_session):
    config = (
        small_problem_config(PPOLagConfig())
        .env_runners(num_env_runners=1, num_envs_per_env_runner=2)
        .training(train_batch_size_per_learner=200, minibatch_size=100, num_epochs=1)
        .fault_tolerance(restart_failed_env_runners=True, delay_between_env_runner_restarts_s=0.0)
    )
    algo = config.build_algo()
    try:
        for _ in range(KILL_AFTER):
            algo.train()
        (pid_before,) = env_runner_pids(algo)
        (actor,) = env_runner_handles(algo)
        ray.kill(actor, no_restart=False)  # a crash, as on a lost node: Ray may restart it

        # Training goes on while the EnvRunner is down (those iterations sample nothing) ...
        iterations = [algo.train()["training_iteration"] for _ in range(ITERATIONS - KILL_AFTER - 1)]
        wait_until_restored(algo)
        (pid_after,) = env_runner_pids(algo)
        restarts = algo.env_runner_group.num_remote_worker_restarts()
        # ... and samples again from the restarted one.
        steps_before = sampled_steps(algo)
        iterations.append(algo.train()["training_iteration"])
        steps_in_last_iteration = sampled_steps(algo) - steps_before
    finally:
        algo.stop()

    assert iterations == list(range(KILL_AFTER + 1, ITERATIONS + 1))
    assert pid_after != pid_before, "the EnvRunner was not replaced"
    assert restarts >= 1
    assert steps_in_last_iteration >= 200
