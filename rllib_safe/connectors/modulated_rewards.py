"""Learner connector: SMPO's safety-modulated rewards r~ = f(x) r (docs/algorithms.md section 3).

How negative rewards are modulated, the weight's units and its range are documented in
``rllib_safe.core.modulation``.

Runs before RLlib's ``GeneralAdvantageEstimation`` so that the reward critic and GAE train
on r~. Q^c is evaluated once per update with the weights the update starts from.
"""

from __future__ import annotations

from typing import Any

import torch
from ray.rllib.connectors.connector_v2 import ConnectorV2
from ray.rllib.core.columns import Columns

from rllib_safe.connectors.columns import COST_SO_FAR
from rllib_safe.core.modulation import (
    ModulationUnits,
    NegativeRewardModulation,
    modulate_rewards,
    modulation_weight,
    modulation_weight_derivative,
    reward_weight_sensitivity,
)

#: The env's reward, before modulation.
RAW_REWARDS = "raw_rewards"
#: f(x_t), clamped to [max(min_weight, WEIGHT_FLOOR), 1], whatever the reward's sign.
MODULATION_WEIGHT = "modulation_weight"
#: d r~_t / d Q^c(s_t, a_t) = s(r_t) f'(x_t): 0 where Q^c was clipped, f clamped, or r_t not modulated.
MODULATED_REWARD_GRAD = "modulated_reward_grad"
#: 1 where Q^c(s_t, a_t) exceeded d' and was clipped.
COST_Q_CLIPPED = "cost_q_clipped"


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
) -> dict[str, torch.Tensor]:
    """x = C_t + clip(Q^c, 0, d'); r~ = r + (f(x) - 1) s(r). Returns the new and the bookkeeping columns."""
    clipped = cost_q > threshold
    x = cost_so_far + cost_q.clamp(0.0, threshold)
    weight_args = {"threshold": threshold, "base": base, "units": units, "min_weight": min_weight}
    weight = modulation_weight(x, **weight_args)
    weight_grad = modulation_weight_derivative(x, **weight_args)
    reward_grad = reward_weight_sensitivity(rewards, negative_rewards) * weight_grad
    return {
        RAW_REWARDS: rewards,
        Columns.REWARDS: modulate_rewards(rewards, weight, negative_rewards),
        MODULATION_WEIGHT: weight,
        MODULATED_REWARD_GRAD: torch.where(clipped, torch.zeros_like(reward_grad), reward_grad),
        COST_Q_CLIPPED: clipped.float(),
    }


class ModulateRewards(ConnectorV2):
    """Replaces ``rewards`` by the modulated r~ and keeps the env's rewards in ``raw_rewards``.

    The learner sets ``threshold`` (d' of the current iteration) before each update.
    Modules must provide ``compute_cost_q_values(obs, actions)``.
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
    ):
        super().__init__(input_observation_space, input_action_space)
        self.base = base
        self.units = units
        self.min_weight = min_weight
        self.negative_rewards = negative_rewards
        self.threshold: float | None = None

    def __call__(self, *, rl_module, batch: dict[str, Any], episodes, **kwargs) -> Any:
        if self.threshold is None:
            raise RuntimeError("ModulateRewards.threshold (d') must be set before the connector runs.")
        for module_id, module_batch in batch.items():
            module = rl_module[module_id].unwrapped()  # DDP wraps modules with several learners
            if not hasattr(module, "compute_cost_q_values"):
                continue
            with torch.no_grad():
                cost_q = module.compute_cost_q_values(
                    module_batch[Columns.OBS], module_batch[Columns.ACTIONS]
                )
            rewards = module_batch[Columns.REWARDS]
            module_batch.update(
                modulation_columns(
                    rewards.to(cost_q.dtype),
                    module_batch[COST_SO_FAR].to(cost_q.dtype),
                    cost_q,
                    threshold=self.threshold,
                    base=self.base,
                    units=self.units,
                    min_weight=self.min_weight,
                    negative_rewards=self.negative_rewards,
                )
            )
        return batch
