"""CRPO learner: PPO-clip on A_r (constraint met) or on -A_c (constraint violated)."""

from __future__ import annotations

from typing import Any

import torch
from ray.rllib.evaluation.postprocessing import Postprocessing

from rllib_safe.algorithms.safe_ppo.safe_ppo_torch_learner import SafePPOTorchLearner
from rllib_safe.columns import COST_ADVANTAGES


class CRPOTorchLearner(SafePPOTorchLearner):
    def before_gradient_based_update(self, *, timesteps: dict[str, Any]) -> None:
        super().before_gradient_based_update(timesteps=timesteps)
        self.cost_step = self.episode_cost > self.config.cost_limit + self.config.cost_tolerance
        self.metrics.log_value("cost_step", float(self.cost_step), window=1)

    def policy_advantages(self, module_id: str, batch: dict[str, Any]) -> torch.Tensor:
        if self.cost_step:
            return -batch[COST_ADVANTAGES]
        return batch[Postprocessing.ADVANTAGES]
