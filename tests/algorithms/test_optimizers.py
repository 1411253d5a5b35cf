"""Every algorithm's learner steps with fused Adam (one kernel for all parameters) on CPU."""

from __future__ import annotations

import gymnasium as gym
import pytest

from rllib_safe.algorithms import ALGORITHMS
from rllib_safe.runs.config import build_config

SPACES = {"observation_space": gym.spaces.Box(-1.0, 1.0, (4,)), "action_space": gym.spaces.Box(-1.0, 1.0, (2,))}


@pytest.mark.parametrize("algo", sorted(ALGORITHMS))
def test_every_optimizer_is_fused_adam(algo):
    learner = build_config(algo, None, SPACES, seed=0).build_learner()
    optimizers = dict(learner.get_optimizers_for_module("default_policy"))
    assert optimizers
    for name, optimizer in optimizers.items():
        assert type(optimizer).__name__ == "Adam" and optimizer.defaults["fused"], name
