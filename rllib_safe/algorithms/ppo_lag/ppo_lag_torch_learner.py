"""PPO-Lagrangian learner: one multiplier update per iteration, then PPO on the mix."""

from __future__ import annotations

from typing import Any

import torch
from ray.rllib.evaluation.postprocessing import Postprocessing

from rllib_safe.algorithms.safe_ppo.safe_ppo_torch_learner import SafePPOTorchLearner
from rllib_safe.connectors.columns import COST_ADVANTAGES
from rllib_safe.core.lagrange import LagrangeMultiplier, lagrangian_advantages
from rllib_safe.metrics import LAGRANGIAN_MULTIPLIER


class PPOLagTorchLearner(SafePPOTorchLearner):
    def build(self) -> None:
        super().build()
        self.lagrange = LagrangeMultiplier(
            initial_value=self.config.lagrangian_multiplier_init,
            lr=self.config.lagrangian_multiplier_lr,
            upper_bound=self.config.lagrangian_upper_bound,
        )

    def before_gradient_based_update(self, *, timesteps: dict[str, Any]) -> None:
        super().before_gradient_based_update(timesteps=timesteps)
        # Before the policy step, as OmniSafe: lambda <- Adam step on -lambda (J_c - d).
        # No finished episode yet: no measurement to step on, lambda keeps its value.
        if self.episode_cost is not None:
            self.lagrange.update(self.episode_cost, self.config.cost_limit)
        self.metrics.log_value(LAGRANGIAN_MULTIPLIER, self.lagrange.value, window=1)

    def policy_advantages(self, module_id: str, batch: dict[str, Any]) -> torch.Tensor:
        # lambda as a 0-dim tensor, not a Python float: no .item() per minibatch (a graph break
        # under compile_sgd_step); the same float32 arithmetic.
        return lagrangian_advantages(
            batch[Postprocessing.ADVANTAGES], batch[COST_ADVANTAGES], self.lagrange.multiplier.detach()
        )

    def safety_state(self) -> dict[str, Any]:
        return {**super().safety_state(), "lagrange": self.lagrange.get_state()}

    def set_safety_state(self, state: dict[str, Any]) -> None:
        super().set_safety_state(state)
        self.lagrange.set_state(state["lagrange"])
