"""SMPO's learner on crafted episodes: finite far over budget, reward-scale free, truncation bootstrapped."""

from __future__ import annotations

import itertools

import pytest
import torch
from ray.rllib.core.columns import Columns

from rllib_safe.algorithms.smpo import SMPOConfig
from rllib_safe.algorithms.smpo.smpo_torch_learner import sarsa_targets
from rllib_safe.connectors.columns import COSTS
from rllib_safe.connectors.modulated_rewards import RAW_REWARDS
from rllib_safe.connectors.transition_columns import COST_BOOTSTRAP_MASK
from tests.connectors.episodes import (
    MODULE_ID,
    build_learner,
    crafted_episode,
    module_loss,
    train_batch,
    zero_reward_values,
)

REWARDS = [1.0, -0.5, 0.0, 2.0, -1.0, 0.3, 0.0, -2.0, 1.5, 0.7]

#: Settings old configs also had first, then the new choices with the unclamped weight (the
#: core tests cover every min_weight); cost limits 5 and 1e-6 (the least SMPO accepts).
SETTINGS = [
    {"min_weight": None},
    {"min_weight": None, "modulation_base": 10.0},
    {"min_weight": -1.0},
    {"min_weight": None, "cost_limit": 1e-3},
    {"min_weight": None, "cost_limit": 1e-6, "modulation_base": 1.0001},
    {"min_weight": None, "cost_limit": 1e-6, "modulation_base": 1e3, "negative_reward_modulation": "paper"},
    {"min_weight": None, "modulation_units": "normalized", "cost_limit": 1e-6},
] + [
    {"min_weight": -5.0, "modulation_target": "advantage", "reward_shift": "episode_minimum",
     "critic_gradient_estimator": "same_state", "critic_gradient_coeff": 0.1, "qc_regularizer": "prediction_l2",
     "modulation_base": b, "cost_limit": limit}
    for b, limit in [(4.0, 5.0), (1e3, 1e-6)]
] + [
    {"min_weight": None, "modulation_units": u, "negative_reward_modulation": n, "modulation_base": b}
    for u, n, b in itertools.product(["absolute", "normalized"], ["penalise", "unmodulated", "paper"], [1.0001, 1e3])
]


def policy_gradient(learner, batch) -> torch.Tensor:
    """Gradient of the learner's total loss in the policy's parameters (actor encoder, pi)."""
    module = learner.module[MODULE_ID]
    params = [p for name, p in module.named_parameters() if name.startswith(("pi.", "encoder.actor_encoder."))]
    torch.manual_seed(0)  # the expected-SARSA and baseline samples of a' ~ pi(.|s')
    return torch.cat([g.reshape(-1) for g in torch.autograd.grad(module_loss(learner, batch), params)])


@pytest.mark.parametrize("setting", SETTINGS, ids=str)
def test_every_accepted_setting_stays_finite_at_fifty_times_the_budget(setting):
    config = SMPOConfig().training(**({"cost_limit": 5.0} | setting))
    config.validate()
    learner = build_learner(config)
    episode_cost = 50 * config.cost_limit
    episodes = [
        crafted_episode(REWARDS, [episode_cost / len(REWARDS)] * len(REWARDS), truncated=True, seed=1),
        crafted_episode(REWARDS[:4], [episode_cost] * 4, cost_before=episode_cost, seed=2),  # cut mid-episode
    ]
    batch = train_batch(learner, episodes)
    for name, column in batch.items():
        if torch.is_floating_point(column):
            assert torch.isfinite(column).all(), name
    assert torch.isfinite(policy_gradient(learner, batch)).all()


def test_scaling_every_reward_leaves_the_policy_gradient_unchanged():
    """PPO's term uses standardised advantages; the term through Q^c must be in the same units.

    V = 0 makes the reward advantages linear in the rewards; C_t near d' and kappa = 50 make
    the term through Q^c a visible part of the gradient.
    """
    config = SMPOConfig().training(cost_limit=5.0, use_dynamic_threshold=False, critic_gradient_coeff=50.0)
    learner = build_learner(config)
    zero_reward_values(learner)

    def gradient(scale: float) -> torch.Tensor:
        episodes = [
            crafted_episode([scale * r for r in REWARDS], [0.4] * len(REWARDS), truncated=True, seed=1),
            crafted_episode([scale * r for r in REWARDS[:6]], [0.3] * 6, cost_before=2.0, seed=2),
        ]
        return policy_gradient(learner, train_batch(learner, episodes))

    unscaled, scaled = gradient(1.0), gradient(10.0)
    relative_change = float((scaled - unscaled).norm() / unscaled.norm())
    assert relative_change < 1e-4, relative_change


@pytest.mark.parametrize("bootstrap_time_limit", [True, False])
@pytest.mark.parametrize(("terminated", "truncated"), [(False, True), (True, False), (False, False)],
                         ids=["time limit", "termination", "cut mid-episode"])
def test_the_sarsa_bootstrap_stops_at_a_termination_and_at_a_time_limit_only_when_asked(
    bootstrap_time_limit, terminated, truncated
):
    """With ``qc_bootstrap_time_limit=True`` a time limit (truncated) keeps cost_gamma * E Q^c(s', a')
    in the last step's target; by default (False) it stops at every episode end. A chunk cut
    mid-episode always bootstraps."""
    learner = build_learner(SMPOConfig().training(qc_bootstrap_time_limit=bootstrap_time_limit))
    episode = crafted_episode([1.0] * 3, [1.0, 0.0, 2.0], terminated=terminated, truncated=truncated)
    batch = train_batch(learner, [episode])
    next_cost_q = torch.full_like(batch[COSTS], 4.0)
    targets = sarsa_targets(batch[COSTS], batch[COST_BOOTSTRAP_MASK], next_cost_q, learner.config.cost_gamma)
    last_step = targets[batch[Columns.LOSS_MASK]][-1]
    stops = terminated or (truncated and not bootstrap_time_limit)
    expected = 2.0 if stops else 2.0 + learner.config.cost_gamma * 4.0
    assert float(last_step) == pytest.approx(expected)


def test_default_modulation_never_turns_a_penalty_into_a_bonus():
    """Past d' (f = -1 with the default clamp) the paper's product pays -0.2 * -1 = +0.2; the default
    rule does not, even without the default reward shift (which leaves no reward negative)."""
    learner = build_learner(SMPOConfig().training(cost_limit=5.0, reward_shift="none"))
    batch = train_batch(learner, [crafted_episode([-0.2, 0.5, -0.2], [30.0] * 3, cost_before=30.0)])
    real = batch[Columns.LOSS_MASK]
    modulated, raw = batch[Columns.REWARDS][real], batch[RAW_REWARDS][real]
    assert modulated.tolist() == pytest.approx([-0.6, -0.5, -0.6]), modulated.tolist()
    assert (modulated <= raw).all()
