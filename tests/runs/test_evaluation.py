"""rllib_safe.runs.evaluation: deterministic episodes from a checkpoint of the shared short run."""

from __future__ import annotations

import pytest

from rllib_safe.runs import find_checkpoint
from rllib_safe.runs.evaluation import build_env, evaluate, load_policy, run_episode


@pytest.mark.slow
def test_evaluation_is_deterministic_and_keeps_the_filter_frozen(short_run):
    checkpoint = find_checkpoint(short_run)
    assert evaluate(checkpoint, 2, seed=0) == evaluate(checkpoint, 2, seed=0)
    policy = load_policy(checkpoint)
    (obs_filter,) = [p for p in policy.env_to_module.connectors if type(p).__name__ == "MeanStdFilter"]
    before = obs_filter.get_state()
    run_episode(policy, build_env(policy.env_id, policy.env_config), seed=0)
    assert repr(obs_filter.get_state()) == repr(before)
