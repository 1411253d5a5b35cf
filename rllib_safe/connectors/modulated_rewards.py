"""Learner connectors: SMPO's safety modulation f(x) of the rewards or the advantages (docs/algorithms.md section 3).

``ModulateRewards`` runs before the reward GAE: it shifts the rewards SMPO learns from, evaluates
Q^c once per update with the weights the update starts from, and writes f(x) and its
bookkeeping; with ``target="reward"`` it replaces the rewards by r~ so that the reward critic
and GAE train on them. ``ModulateAdvantages`` runs after the reward GAE: with
``target="advantage"`` (the authors' code) it multiplies the standardised advantages by f, and
it computes the weights of the authors' term through Q^c at resampled actions.

How negative rewards are modulated, the weight's units, its range, the reward shift and the
two targets are documented in ``rllib_safe.core.modulation``.
"""

from __future__ import annotations

from typing import Any

import torch
from ray.rllib.connectors.connector_v2 import ConnectorV2
from ray.rllib.core.columns import Columns
from ray.rllib.evaluation.postprocessing import Postprocessing

from rllib_safe.connectors.columns import COST_SO_FAR, EPISODE_REWARD_MINIMUM
from rllib_safe.core.modulation import (
    ModulationTarget,
    ModulationUnits,
    NegativeRewardModulation,
    RewardShift,
    modulate_rewards,
    modulation_weight,
    modulation_weight_derivative,
    resampled_action_weights,
    reward_weight_sensitivity,
    shift_rewards,
)

#: The env's reward, before any shift or modulation.
RAW_REWARDS = "raw_rewards"
#: f(x_t), clamped to [max(min_weight, WEIGHT_FLOOR), 1], whatever the reward's sign.
MODULATION_WEIGHT = "modulation_weight"
#: d r~_t / d Q^c(s_t, a_t) = s(r_t) f'(x_t): 0 where Q^c was clipped, f clamped, or r_t not modulated.
MODULATED_REWARD_GRAD = "modulated_reward_grad"
#: f'(x_t) = d f / d Q^c(s_t, a_t): 0 where Q^c was clipped or f clamped.
MODULATION_WEIGHT_GRAD = "modulation_weight_grad"
#: 1 where Q^c(s_t, a_t) exceeded d' and was clipped.
COST_Q_CLIPPED = "cost_q_clipped"
#: a' ~ pi(.|s_t), drawn once per update, and Q^c(s_t, a'): the authors' term through Q^c.
RESAMPLED_ACTIONS = "resampled_actions"
RESAMPLED_COST_Q = "resampled_cost_q"
#: W_t = G_t Q^c(s_t, a') f'(x_t) (``rllib_safe.core.modulation.resampled_action_weights``).
RESAMPLED_ACTION_WEIGHTS = "resampled_action_weights"


def modulation_columns(
    rewards: torch.Tensor,
    cost_so_far: torch.Tensor,
    cost_q: torch.Tensor,
    *,
    threshold: float,
    base: float,
    units: ModulationUnits,
    min_weight: float | None,
    negative_rewards: NegativeRewardModulation,
    target: ModulationTarget = "reward",
    active: bool = True,
) -> dict[str, torch.Tensor]:
    """x = C_t + clip(Q^c, 0, d'); f(x), f'(x) and, for ``target="reward"``, r~ = r + (f(x) - 1) s(r).

    ``rewards`` are the (shifted) rewards the learner learns from. ``active=False`` (SMPO's
    warm-up) gives f = 1 and f' = 0: plain PPO on ``rewards``. Returns the new columns.
    """
    clipped = cost_q > threshold
    if active:
        x = cost_so_far + cost_q.clamp(0.0, threshold)
        weight_args = {"threshold": threshold, "base": base, "units": units, "min_weight": min_weight}
        weight = modulation_weight(x, **weight_args)
        weight_grad = torch.where(clipped, 0.0, modulation_weight_derivative(x, **weight_args))
    else:
        weight, weight_grad = torch.ones_like(rewards), torch.zeros_like(rewards)
    learned = modulate_rewards(rewards, weight, negative_rewards) if target == "reward" else rewards
    return {
        Columns.REWARDS: learned,
        MODULATION_WEIGHT: weight,
        MODULATION_WEIGHT_GRAD: weight_grad,
        MODULATED_REWARD_GRAD: reward_weight_sensitivity(rewards, negative_rewards) * weight_grad,
        COST_Q_CLIPPED: clipped.float(),
    }


class ModulateRewards(ConnectorV2):
    """Shifts the rewards, writes f(x) and its bookkeeping, and (``target="reward"``) replaces
    ``rewards`` by r~; the env's rewards stay in ``raw_rewards``.

    The learner sets ``threshold`` (d' of the current iteration) and ``active`` (False during the
    warm-up) before each update. Modules must provide ``compute_cost_q_values(obs, actions)``;
    with ``resample_actions`` also ``compute_actor_outputs(obs)``. ``reward_shift="episode_minimum"``
    needs ``AddEpisodeRewardMinimumToTrainBatch`` earlier in the pipeline.
    """

    def __init__(
        self,
        input_observation_space=None,
        input_action_space=None,
        *,
        base: float,
        units: ModulationUnits,
        min_weight: float | None,
        negative_rewards: NegativeRewardModulation,
        target: ModulationTarget = "reward",
        reward_shift: RewardShift = "none",
        reward_offset: float = 0.0,
        resample_actions: bool = False,
    ):
        super().__init__(input_observation_space, input_action_space)
        self.base = base
        self.units = units
        self.min_weight = min_weight
        self.negative_rewards = negative_rewards
        self.target = target
        self.reward_shift = reward_shift
        self.reward_offset = reward_offset
        self.resample_actions = resample_actions
        self.threshold: float | None = None
        self.active = True

    def __call__(self, *, rl_module, batch: dict[str, Any], episodes, **kwargs) -> Any:
        if self.threshold is None:
            raise RuntimeError("ModulateRewards.threshold (d') must be set before the connector runs.")
        for module_id, module_batch in batch.items():
            module = rl_module[module_id].unwrapped()  # DDP wraps modules with several learners
            if not hasattr(module, "compute_cost_q_values"):
                continue
            obs = module_batch[Columns.OBS]
            with torch.no_grad():
                cost_q = module.compute_cost_q_values(obs, module_batch[Columns.ACTIONS])
                if self.resample_actions and self.active:  # the term through Q^c is off in the warm-up
                    module_batch.update(resampled_action_columns(module, obs))
            raw_rewards = module_batch[Columns.REWARDS].to(cost_q.dtype)
            minimum = None
            if self.reward_shift == "episode_minimum":
                minimum = module_batch[EPISODE_REWARD_MINIMUM].to(cost_q.dtype)
            rewards = shift_rewards(raw_rewards, offset=self.reward_offset, episode_reward_minimum=minimum)
            module_batch[RAW_REWARDS] = raw_rewards
            module_batch.update(
                modulation_columns(
                    rewards,
                    module_batch[COST_SO_FAR].to(cost_q.dtype),
                    cost_q,
                    threshold=self.threshold,
                    base=self.base,
                    units=self.units,
                    min_weight=self.min_weight,
                    negative_rewards=self.negative_rewards,
                    target=self.target,
                    active=self.active,
                )
            )
        return batch


def resampled_action_columns(module, obs: torch.Tensor) -> dict[str, torch.Tensor]:
    """a' ~ pi(.|s) for every row, drawn once per update, and Q^c(s, a')."""
    action_dist_inputs = module.compute_actor_outputs(obs)
    actions = module.get_train_action_dist_cls().from_logits(action_dist_inputs).sample()
    return {RESAMPLED_ACTIONS: actions, RESAMPLED_COST_Q: module.compute_cost_q_values(obs, actions)}


class ModulateAdvantages(ConnectorV2):
    """After the reward GAE: A~ = f A (``target="advantage"``) and, where ``ModulateRewards``
    resampled actions, the authors' weights W_t = G_t Q^c(s_t, a') f'(x_t), G_t the reward
    critic's lambda-return targets."""

    def __init__(self, input_observation_space=None, input_action_space=None, *, target: ModulationTarget):
        super().__init__(input_observation_space, input_action_space)
        self.target = target

    def __call__(self, *, rl_module, batch: dict[str, Any], episodes, **kwargs) -> Any:
        for module_batch in batch.values():
            if MODULATION_WEIGHT not in module_batch:
                continue
            if self.target == "advantage":
                module_batch[Postprocessing.ADVANTAGES] = (
                    module_batch[Postprocessing.ADVANTAGES] * module_batch[MODULATION_WEIGHT]
                )
            if RESAMPLED_COST_Q in module_batch:  # resampled: not in the warm-up
                module_batch[RESAMPLED_ACTION_WEIGHTS] = resampled_action_weights(
                    module_batch[Postprocessing.VALUE_TARGETS],
                    module_batch[RESAMPLED_COST_Q],
                    module_batch[MODULATION_WEIGHT_GRAD],
                )
        return batch
