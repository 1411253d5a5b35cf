"""A finished short training run on BudgetEnv, shared by the train/evaluate/resume tests."""

from __future__ import annotations

import pytest

from rllib_safe.cli import main

SHORT_RUN = [
    "--algo", "ppo-lag", "--env", "BudgetEnv", "--cost-limit", "5", "--seed", "0",
    "--num-env-runners", "0", "--num-envs-per-env-runner", "2", "--checkpoint-every", "1",
    "--set", "train_batch_size_per_learner=200", "--set", "minibatch_size=100",
    "--set", "num_epochs=2",
]
BATCH = 200


@pytest.fixture(scope="session")
def short_run(ray_session, tmp_path_factory):
    """Run directory of `rllib-safe train` for 2 iterations (read-only: copy it to change it)."""
    run_dir = tmp_path_factory.mktemp("runs") / "ppo-lag"
    assert main(["train", *SHORT_RUN, "--timesteps", str(2 * BATCH), "--run-dir", str(run_dir)]) == 0
    return run_dir
