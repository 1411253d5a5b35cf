"""PCRPO learner: the soft-switching regions on the switching learners' machinery.

``SwitchingTorchLearner`` (``algorithms/switching/switching_torch_learner.py``, with the design
and the per-iteration metrics) steps the actor along the manipulated gradient; this learner
sets the region of each iteration from J_c and the slacks (constant or annealed), the
reward-only warm-up, and the soft-region settings (conflict angle, reward weight, Fisher or
Euclidean manipulation and its line-search acceptance) from ``PCRPOConfig``.
"""

from __future__ import annotations

from typing import Any

import torch
from ray.rllib.utils.metrics import NUM_ENV_STEPS_SAMPLED_LIFETIME

from rllib_safe.algorithms.switching.switching_torch_learner import SwitchingTorchLearner
from rllib_safe.core import GradientManipulation, Region, reward_only_warmup, select_region
from rllib_safe.metrics import SLACK_LOWER, SLACK_UPPER


class PCRPOTorchLearner(SwitchingTorchLearner):
    """PCRPO's regions: slacks (constant or annealed), reward-only warm-up, soft when J_c is unknown."""

    def build(self) -> None:
        super().build()
        config = self.config
        self.conflict_angle = config.conflict_angle
        self.reward_weight = config.reward_weight
        self.fisher_manipulation = config.trust_region_metric == "fisher"
        # Require both surrogates not to decrease only where the step promises both to first order.
        both = self.fisher_manipulation and config.conflict_angle <= 90.0
        self.soft_acceptance = "both" if both else "weighted"
        self.slack_schedule = config.slack_schedule_spec()
        self.slacks = self.slack_schedule.slacks(0)
        self.warmup_env_steps = config.warmup_steps()
        self.reward_only = reward_only_warmup(0, self.warmup_env_steps)

    def before_gradient_based_update(self, *, timesteps: dict[str, Any]) -> None:
        super().before_gradient_based_update(timesteps=timesteps)
        env_steps = int(timesteps.get(NUM_ENV_STEPS_SAMPLED_LIFETIME, 0))  # the schedules' clock
        self.slacks = self.slack_schedule.slacks(env_steps)
        self.reward_only = reward_only_warmup(env_steps, self.warmup_env_steps)

    def _log_manipulation(self, module_id: str, result: GradientManipulation, finite: torch.Tensor) -> None:
        super()._log_manipulation(module_id, result, finite)
        slack_upper, slack_lower = self.slacks
        self.metrics.log_dict({SLACK_UPPER: slack_upper, SLACK_LOWER: slack_lower}, key=module_id, window=1)

    def region(self) -> Region:
        """REWARD during the warm-up; SOFT while J_c is unknown; else from J_c and the slacks."""
        if self.reward_only:
            return Region.REWARD
        if self.episode_cost is None:
            return Region.SOFT
        slack_upper, slack_lower = self.slacks
        return select_region(self.episode_cost, self.config.cost_limit, slack_upper, slack_lower)
