"""PCRPO: soft switching between reward and cost by gradient manipulation (algorithms.md, section 2).

Gu et al., "Balance Reward and Safety Optimization for Safe Reinforcement Learning: A
Perspective of Gradient Manipulation" (AAAI 2024). The learner
(``pcrpo_torch_learner.py``) takes g_r and g_c on the same batch at the same actor
parameters, combines them with ``rllib_safe.core.manipulate_gradients`` and steps the actor
either with one trust-region (natural-gradient) step per iteration (default, as the authors)
or with Adam on the manipulated PPO-clip gradients (``update="first_order"``).
"""

from __future__ import annotations

import math
from typing import Literal, get_args

from ray.rllib.algorithms.algorithm_config import NotProvided

from rllib_safe.algorithms.safe_ppo.safe_ppo import SafePPO, SafePPOConfig
from rllib_safe.algorithms.validation import check_choice, check_count, check_range
from rllib_safe.core import SlackKind, SlackSchedule

UpdateKind = Literal["trust_region", "first_order"]

#: PCRPO's settings in ``training()`` with their defaults.
PCRPO_TRAINING_DEFAULTS = {
    "conflict_angle": 90.0,
    # +-5 around the limit: the spec's starting point where the paper publishes nothing
    # (the authors used +-9 on SafetyHopperVelocity-v1 with d=25); +-inf are allowed.
    "slack_upper": 5.0,
    "slack_lower": -5.0,
    "reward_weight": 0.5,
    "slack_schedule": "constant",
    "slack_anneal_iterations": None,
    "start_safety": 0,
    "update": "trust_region",
    "max_kl": 0.02,
    "cg_iterations": 10,
    "cg_damping": 0.1,
    "line_search_decay": 0.8,
    "line_search_max_backtracks": 15,
}


class PCRPOConfig(SafePPOConfig):
    """PCRPO's settings on top of the shared safe-PPO settings.

    Example:
        >>> config = (
        ...     PCRPOConfig()
        ...     .environment("SafetyHopperVelocity-v1")
        ...     .training(cost_limit=25, slack_upper=9, slack_lower=-9, update="trust_region")
        ... )
        >>> algo = config.build_algo()
    """

    def __init__(self, algo_class=None):
        super().__init__(algo_class=algo_class or PCRPO)
        self._update_settings(PCRPO_TRAINING_DEFAULTS)

    def training(
        self,
        *,
        conflict_angle: float = NotProvided,
        slack_upper: float = NotProvided,
        slack_lower: float = NotProvided,
        reward_weight: float = NotProvided,
        slack_schedule: SlackKind = NotProvided,
        slack_anneal_iterations: int | None = NotProvided,
        start_safety: int = NotProvided,
        update: UpdateKind = NotProvided,
        max_kl: float = NotProvided,
        cg_iterations: int = NotProvided,
        cg_damping: float = NotProvided,
        line_search_decay: float = NotProvided,
        line_search_max_backtracks: int = NotProvided,
        **kwargs,
    ) -> PCRPOConfig:
        """The safe-PPO settings plus PCRPO's.

        Args:
            conflict_angle: theta* in degrees, (0, 180]: in the soft region the gradients
                are projected onto each other's normal plane when their angle exceeds it.
            slack_upper: h+ in [0, inf]: cost-only steps while J_c > cost_limit + h+.
            slack_lower: h- in [-inf, 0]: reward-only steps while J_c < cost_limit + h-.
            reward_weight: x_r in [0, 1] of the soft region; the cost weight is 1 - x_r.
            slack_schedule: "constant", or "anneal" (h <- h - h / T once per iteration).
            slack_anneal_iterations: T of the annealing; required with "anneal".
            start_safety: reward-only warm-up for this many first iterations.
            update: "trust_region" (one natural-gradient step of the actor per iteration
                on the whole batch) or "first_order" (Adam on the manipulated PPO-clip
                gradients, every minibatch). Critics always take Adam minibatch steps.
            max_kl: KL radius delta of the trust-region step.
            cg_iterations: conjugate-gradient iterations of the trust-region step.
            cg_damping: damping added to the Fisher-vector products.
            line_search_decay: step shrink factor of the backtracking line search.
            line_search_max_backtracks: tries of the backtracking line search.
        """
        super().training(**kwargs)
        self._update_settings(locals(), PCRPO_TRAINING_DEFAULTS)
        return self

    def validate(self) -> None:
        super().validate()
        check_range("conflict_angle", self.conflict_angle, 0.0, 180.0, low_open=True)
        check_range("slack_upper", self.slack_upper, 0.0, math.inf)
        check_range("slack_lower", self.slack_lower, -math.inf, 0.0)
        check_range("reward_weight", self.reward_weight, 0.0, 1.0)
        check_choice("slack_schedule", self.slack_schedule, get_args(SlackKind))
        if self.slack_schedule == "anneal" or self.slack_anneal_iterations is not None:
            check_count("slack_anneal_iterations", self.slack_anneal_iterations, 1)
        check_count("start_safety", self.start_safety, 0)
        check_choice("update", self.update, get_args(UpdateKind))
        check_range("max_kl", self.max_kl, 0.0, math.inf, low_open=True, high_open=True)
        check_count("cg_iterations", self.cg_iterations, 1)
        check_range("cg_damping", self.cg_damping, 0.0, math.inf, high_open=True)
        check_range("line_search_decay", self.line_search_decay, 0.0, 1.0, low_open=True, high_open=True)
        check_count("line_search_max_backtracks", self.line_search_max_backtracks, 1)
        self.slack_schedule_spec()  # the core's own checks, the learner's single source

    def slack_schedule_spec(self) -> SlackSchedule:
        """The slacks (h+, h-) per iteration as the learners use them."""
        return SlackSchedule(
            upper=float(self.slack_upper),
            lower=float(self.slack_lower),
            kind=self.slack_schedule,
            total_iterations=self.slack_anneal_iterations,
        )

    def get_default_learner_class(self):
        from rllib_safe.algorithms.pcrpo.pcrpo_torch_learner import PCRPOTorchLearner

        return PCRPOTorchLearner


class PCRPO(SafePPO):
    """Safe PPO whose learners step the actor along PCRPO's manipulated gradient."""

    @classmethod
    def get_default_config(cls) -> PCRPOConfig:
        return PCRPOConfig()
