"""The short training run on BudgetEnv that the train/evaluate/resume tests share (``short_run`` in conftest.py)."""

from __future__ import annotations

SHORT_RUN = [
    "--algo", "ppo-lag", "--env", "BudgetEnv", "--cost-limit", "5", "--seed", "0",
    "--num-env-runners", "0", "--num-envs-per-env-runner", "2", "--checkpoint-every", "1",
    "--set", "train_batch_size_per_learner=200", "--set", "minibatch_size=100",
    "--set", "num_epochs=2",
]
BATCH = 200
