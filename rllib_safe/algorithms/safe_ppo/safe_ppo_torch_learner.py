"""Torch learner shared by every safe algorithm: cost columns, cost critic, J_c."""

from __future__ import annotations

from typing import Any

import torch
from ray.rllib.algorithms.ppo.torch.ppo_torch_learner import PPOTorchLearner
from ray.rllib.connectors.learner import AddOneTsToEpisodesAndTruncate
from ray.rllib.core.columns import Columns
from ray.rllib.evaluation.postprocessing import Postprocessing

from rllib_safe.columns import (
    COST_ADVANTAGES,
    COST_MEASURED,
    COST_VALUE_TARGETS,
    TIMESTEP_EPISODE_COST,
    TIMESTEP_ITERATION,
)
from rllib_safe.connectors import (
    AddCostColumnsToTrainBatch,
    CostGeneralAdvantageEstimation,
    RewardGeneralAdvantageEstimation,
)

SAFE_STATE = "safe_learner_state"


def masked_mean(values: torch.Tensor, batch: dict[str, Any]) -> torch.Tensor:
    """Mean over the real steps (RLlib's phantom bootstrap steps are masked out)."""
    mask = batch.get(Columns.LOSS_MASK)
    if mask is None:
        return values.mean()
    return (values * mask).sum() / mask.sum()


class SafePPOTorchLearner(PPOTorchLearner):
    """PPO learner with a cost critic; subclasses choose the policy's advantages.

    ``policy_advantages`` is the one hook the baselines override: PPO uses A_r,
    PPO-Lagrangian (A_r - lambda A_c) / (1 + lambda), CRPO A_r or -A_c.
    """

    def build(self) -> None:
        super().build()
        #: J_c as the driver measured it; None until the first episode has finished.
        self.episode_cost: float | None = None
        self.training_iteration = 0
        if self._learner_connector is not None and self.config.add_default_connectors_to_learner_pipeline:
            self._learner_connector.insert_after(
                AddOneTsToEpisodesAndTruncate, AddCostColumnsToTrainBatch()
            )
            # RLlib's GAE standardises over the phantom rows too (cost_gae.py): ours does not.
            self._learner_connector.insert_before(
                "GeneralAdvantageEstimation",
                RewardGeneralAdvantageEstimation(gamma=self.config.gamma, lambda_=self.config.lambda_),
            )
            self._learner_connector.remove("GeneralAdvantageEstimation")
            self._learner_connector.append(
                CostGeneralAdvantageEstimation(
                    gamma=self.config.cost_gamma,
                    lambda_=self.config.cost_lambda,
                    normalization=self.config.cost_advantage_normalization,
                )
            )

    def before_gradient_based_update(self, *, timesteps: dict[str, Any]) -> None:
        super().before_gradient_based_update(timesteps=timesteps)
        if TIMESTEP_EPISODE_COST in timesteps:
            self.episode_cost = float(timesteps[TIMESTEP_EPISODE_COST])
        self.training_iteration = int(timesteps.get(TIMESTEP_ITERATION, self.training_iteration))
        self.metrics.log_value(COST_MEASURED, float(self.episode_cost is not None), window=1)
        if self.episode_cost is not None:
            self.metrics.log_value("episode_cost_estimate", self.episode_cost, window=1)

    def policy_advantages(self, module_id: str, batch: dict[str, Any]) -> torch.Tensor:
        """Advantages the PPO-clip surrogate maximises (plain PPO: reward advantages)."""
        return batch[Postprocessing.ADVANTAGES]

    def compute_loss_for_module(self, *, module_id, config, batch, fwd_out):
        policy_batch = {**batch, Postprocessing.ADVANTAGES: self.policy_advantages(module_id, batch)}
        ppo_loss = super().compute_loss_for_module(
            module_id=module_id, config=config, batch=policy_batch, fwd_out=fwd_out
        )
        return ppo_loss + config.cost_vf_loss_coeff * self.cost_critic_loss(module_id, batch)

    def cost_critic_loss(self, module_id: str, batch: dict[str, Any]) -> torch.Tensor:
        """Mean squared error of V^c against the cost lambda-returns (no clipping)."""
        module = self.module[module_id].unwrapped()
        cost_values = module.compute_cost_values(batch)
        loss = masked_mean((cost_values - batch[COST_VALUE_TARGETS]) ** 2, batch)
        cost_advantages = batch[COST_ADVANTAGES]
        self.metrics.log_dict(
            {
                "cost_vf_loss": loss,
                "cost_advantages_mean": masked_mean(cost_advantages, batch),
                "cost_advantages_std": cost_advantages.std(),
                "cost_value_mean": masked_mean(cost_values, batch),
            },
            key=module_id,
            window=1,
        )
        return loss

    def extra_state(self) -> dict[str, Any]:
        """Learner state beyond weights and optimisers (checkpointed); extend in subclasses."""
        return {"episode_cost": self.episode_cost, "training_iteration": self.training_iteration}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        self.episode_cost = state["episode_cost"]
        self.training_iteration = state["training_iteration"]

    def get_state(self, components=None, *, not_components=None, **kwargs):
        state = super().get_state(components, not_components=not_components, **kwargs)
        state[SAFE_STATE] = self.extra_state()
        return state

    def set_state(self, state) -> None:
        super().set_state(state)
        if SAFE_STATE in state:
            self.set_extra_state(state[SAFE_STATE])
