"""Learner connector: SMPO's safety-modulated rewards r~ = f(x) r (algorithms.md section 3).

Runs before RLlib's ``GeneralAdvantageEstimation`` so that the reward critic and GAE train
on r~. Q^c is evaluated once per update with the weights the update starts from.
"""

from __future__ import annotations

from typing import Any

import torch
from ray.rllib.connectors.connector_v2 import ConnectorV2
from ray.rllib.core.columns import Columns

from rllib_safe.columns import COST_SO_FAR
from rllib_safe.core.modulation import modulation_weight, modulation_weight_derivative

#: The env's reward, before modulation.
RAW_REWARDS = "raw_rewards"
#: f(x_t), clamped to [min_weight, 1]; 1 where the reward is left unmodulated.
MODULATION_WEIGHT = "modulation_weight"
#: d r~_t / d Q^c(s_t, a_t) / r_t: f'(x_t), 0 where Q^c was clipped, f clamped, or r_t not modulated.
MODULATION_WEIGHT_GRAD = "modulation_weight_grad"
#: 1 where Q^c(s_t, a_t) exceeded d' and was clipped.
COST_Q_CLIPPED = "cost_q_clipped"


def modulate_rewards(
    rewards: torch.Tensor,
    cost_so_far: torch.Tensor,
    cost_q: torch.Tensor,
    *,
    threshold: float,
    base: float,
    min_weight: float | None,
    modulate_negative_rewards: bool,
) -> dict[str, torch.Tensor]:
    """x = C_t + clip(Q^c, 0, d'); r~ = f(x) r. Returns the new and the bookkeeping columns."""
    clipped = cost_q > threshold
    x = cost_so_far + cost_q.clamp(0.0, threshold)
    raw_weight = modulation_weight(x, threshold, base=base)
    weight = raw_weight if min_weight is None else raw_weight.clamp(min_weight, 1.0)
    weight_grad = modulation_weight_derivative(x, threshold, base=base)
    differentiable = ~clipped & (weight == raw_weight)
    if not modulate_negative_rewards:
        modulated = rewards >= 0
        weight = torch.where(modulated, weight, torch.ones_like(weight))
        differentiable &= modulated
    return {
        RAW_REWARDS: rewards,
        Columns.REWARDS: weight * rewards,
        MODULATION_WEIGHT: weight,
        MODULATION_WEIGHT_GRAD: torch.where(differentiable, weight_grad, torch.zeros_like(weight_grad)),
        COST_Q_CLIPPED: clipped.float(),
    }


class ModulateRewards(ConnectorV2):
    """Replaces ``rewards`` by f(x) r and keeps the env's rewards in ``raw_rewards``.

    The learner sets ``threshold`` (d' of the current iteration) before each update.
    Modules must provide ``compute_cost_q_values(obs, actions)``.
    """

    def __init__(
        self,
        input_observation_space=None,
        input_action_space=None,
        *,
        base: float,
        min_weight: float | None,
        modulate_negative_rewards: bool,
    ):
        super().__init__(input_observation_space, input_action_space)
        self.base = base
        self.min_weight = min_weight
        self.modulate_negative_rewards = modulate_negative_rewards
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
                modulate_rewards(
                    rewards.to(cost_q.dtype),
                    module_batch[COST_SO_FAR].to(cost_q.dtype),
                    cost_q,
                    threshold=self.threshold,
                    base=self.base,
                    min_weight=self.min_weight,
                    modulate_negative_rewards=self.modulate_negative_rewards,
                )
            )
        return batch
