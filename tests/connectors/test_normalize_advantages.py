"""Advantage normalisation over real steps, and the std the reward advantages were divided by."""

from __future__ import annotations

import numpy as np
import pytest
from ray.rllib.core.columns import Columns
from ray.rllib.evaluation.postprocessing import Postprocessing

from rllib_safe.algorithms.safe_ppo import SafePPOConfig
from rllib_safe.connectors.cost_gae import ADVANTAGE_STD, normalize_advantages
from tests.connectors.episodes import build_learner, crafted_episode, train_batch, zero_reward_values


def test_normalize_advantages_ignores_phantom_rows():
    advantages = np.array([1.0, 3.0, -50.0, 5.0, 7.0, -50.0])
    real = np.array([True, True, False, True, True, False])
    standardised, std = normalize_advantages(advantages, "standardize", real)
    assert std == pytest.approx(np.std([1.0, 3.0, 5.0, 7.0]))
    np.testing.assert_allclose(standardised[real], (advantages[real] - 4.0) / std)
    centred, one = normalize_advantages(advantages, "center", real)
    assert one == 1.0 and centred[real].tolist() == [-3.0, -1.0, 1.0, 3.0]
    assert normalize_advantages(advantages, "none", real)[0] is advantages


def test_constant_advantages_divide_by_rllibs_floor():
    advantages, std = normalize_advantages(np.full(4, 2.0), "standardize", np.ones(4, bool))
    assert std == 1e-4 and (advantages == 0).all()


def test_advantage_std_column_is_the_divisor_of_the_reward_advantages():
    learner = build_learner(SafePPOConfig().training(lambda_=1.0))
    zero_reward_values(learner)  # with lambda = 1 the advantages are the discounted returns
    batch = train_batch(learner, [crafted_episode([1.0, 2.0, 3.0], [0.0] * 3), crafted_episode([4.0], [0.0])])
    gamma = learner.config.gamma
    returns = np.array([1 + gamma * (2 + gamma * 3), 2 + gamma * 3, 3.0, 4.0])
    real = batch[Columns.LOSS_MASK].numpy()
    assert batch[ADVANTAGE_STD].unique().tolist() == pytest.approx([returns.std()])
    np.testing.assert_allclose(
        batch[Postprocessing.ADVANTAGES].numpy()[real], (returns - returns.mean()) / returns.std(), rtol=1e-5
    )
