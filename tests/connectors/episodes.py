"""Crafted episodes and a learner's connector pipeline and loss on them (no Ray, no sampling)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch
from ray.rllib.core.columns import Columns
from ray.rllib.env.single_agent_episode import SingleAgentEpisode

from rllib_safe.connectors.columns import CUMULATIVE_COST_INFO, EPISODE_REWARD_MINIMUM_INFO
from rllib_safe.envs.known_optimum import BudgetEnv

MODULE_ID = "default_policy"
OBSERVATION_SPACE = gym.spaces.Box(0.0, 1.0, shape=(2,), dtype=np.float32)
ACTION_SPACE = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)


def crafted_episode(
    rewards, costs, *, terminated=False, truncated=False, cost_before=0.0, seed=0
) -> SingleAgentEpisode:
    """A BudgetEnv-shaped episode chunk with the given per-step rewards and costs.

    ``cost_before``: the episode's cost before the chunk (C_0 of a chunk that continues an episode).
    """
    rng = np.random.default_rng(seed)
    n = len(rewards)
    cumulative = cost_before + np.concatenate([[0.0], np.cumsum(costs)])
    minima = np.minimum.accumulate(np.minimum(0.0, [0.0, *rewards]))  # the chunk's own rewards only
    return SingleAgentEpisode(
        observations=[rng.uniform(0, 1, 2).astype(np.float32) for _ in range(n + 1)],
        actions=[rng.uniform(-1, 1, 1).astype(np.float32) for _ in range(n)],
        rewards=[float(r) for r in rewards],
        infos=[{"cost": float(c), CUMULATIVE_COST_INFO: float(s), EPISODE_REWARD_MINIMUM_INFO: float(m)}
               for c, s, m in zip([0.0, *costs], cumulative, minima)],
        extra_model_outputs={
            Columns.ACTION_LOGP: [np.float32(rng.uniform(-2, 0)) for _ in range(n)],
            Columns.ACTION_DIST_INPUTS: [np.zeros(2, np.float32) for _ in range(n)],
        },
        terminated=terminated,
        truncated=truncated,
        observation_space=OBSERVATION_SPACE,
        action_space=ACTION_SPACE,
        len_lookback_buffer=0,
    ).to_numpy()


def build_learner(config):
    """The config's learner on BudgetEnv's spaces, ready for an update (d' set for iteration 0)."""
    learner = config.environment(BudgetEnv).training(normalize_observations=False).build_learner(env=BudgetEnv())
    learner.before_gradient_based_update(timesteps={})
    return learner


def train_batch(learner, episodes) -> dict[str, torch.Tensor]:
    """The learner connector's batch of the module (the episodes are consumed: pass fresh ones)."""
    batch = learner._learner_connector(
        rl_module=learner.module, batch={}, episodes=episodes, shared_data={}, metrics=learner.metrics
    )
    return batch[MODULE_ID]


def module_loss(learner, batch) -> torch.Tensor:
    """The learner's total loss of the module on ``batch`` (one forward pass)."""
    module = learner.module[MODULE_ID]
    return learner.compute_loss_for_module(
        module_id=MODULE_ID,
        config=learner.config.get_config_for_module(MODULE_ID),
        batch=batch,
        fwd_out=module.forward_train(batch),
    )


def zero_reward_values(learner) -> None:
    """V(s) = 0 for every s: the reward advantages are then linear in the rewards."""
    with torch.no_grad():
        for parameter in learner.module[MODULE_ID].vf.parameters():
            parameter.zero_()
