"""GAE of rewards and costs: mean and std over the real steps, never RLlib's phantom rows."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ray.rllib.connectors.learner import GeneralAdvantageEstimation
from ray.rllib.core.columns import Columns
from ray.rllib.evaluation.postprocessing import Postprocessing

from rllib_safe.algorithms.safe_ppo import SafePPOConfig
from rllib_safe.connectors.columns import COST_ADVANTAGES
from tests.connectors.episodes import MODULE_ID, build_learner, crafted_episode, train_batch


def short_chunks(count=10, length=2):
    """Many short chunks: a third of the rows are phantom steps, whose advantage is -V(s_T)."""
    return [crafted_episode([10.0] * length, [3.0] * length, seed=seed) for seed in range(count)]


def real_rows(batch, column) -> np.ndarray:
    return batch[column][batch[Columns.LOSS_MASK]].numpy()


def test_reward_advantages_are_standardised_and_cost_advantages_centred_over_real_steps():
    learner = build_learner(SafePPOConfig().training(cost_advantage_normalization="center"))
    batch = train_batch(learner, short_chunks())
    advantages = real_rows(batch, Postprocessing.ADVANTAGES)
    cost_advantages = real_rows(batch, COST_ADVANTAGES)
    measured = (advantages.mean(), advantages.std(), cost_advantages.mean())
    assert measured == pytest.approx((0.0, 1.0, 0.0), abs=1e-4), measured


def test_standardised_cost_advantages_over_real_steps():
    learner = build_learner(SafePPOConfig().training(cost_advantage_normalization="standardize"))
    cost_advantages = real_rows(train_batch(learner, short_chunks()), COST_ADVANTAGES)
    assert (cost_advantages.mean(), cost_advantages.std()) == pytest.approx((0.0, 1.0), abs=1e-4)


def test_value_targets_match_rllibs_gae_and_advantages_differ_only_by_the_normalisation():
    learner = build_learner(SafePPOConfig())
    episodes = short_chunks(count=3, length=5)
    ours = train_batch(learner, episodes)
    rllib = GeneralAdvantageEstimation(gamma=learner.config.gamma, lambda_=learner.config.lambda_)(
        rl_module=learner.module, batch={MODULE_ID: dict(ours)}, episodes=episodes
    )[MODULE_ID]
    torch.testing.assert_close(ours[Postprocessing.VALUE_TARGETS], rllib[Postprocessing.VALUE_TARGETS])
    real = ours[Columns.LOSS_MASK]
    theirs = rllib[Postprocessing.ADVANTAGES][real]
    restandardised = (theirs - theirs.mean()) / theirs.std(correction=0)
    torch.testing.assert_close(ours[Postprocessing.ADVANTAGES][real], restandardised)
