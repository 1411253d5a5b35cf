"""PCRPO: soft switching between reward and cost by gradient manipulation (docs/algorithms.md, section 2).

Gu et al., "Balance Reward and Safety Optimization for Safe Reinforcement Learning: A
Perspective of Gradient Manipulation" (AAAI 2024). The learner
(``pcrpo_torch_learner.py``) takes g_r and g_c on the same batch at the same actor
parameters, combines them with ``rllib_safe.core.manipulate_gradients`` and steps the actor
either with one trust-region (natural-gradient) step per iteration (default, as the authors)
or with Adam on the manipulated PPO-clip gradients (``actor_step="first_order"``).
``SwitchingConfig`` (``algorithms/switching/``) holds the actor-step settings PCRPO shares with CRPO.
"""

from __future__ import annotations

import math
from typing import Literal, get_args

from ray.rllib.algorithms.algorithm_config import NotProvided

from rllib_safe.algorithms.safe_ppo.safe_ppo import SafePPO
from rllib_safe.algorithms.switching.switching import SwitchingConfig
from rllib_safe.checks import check_choice, check_count, check_range
from rllib_safe.core import PAPER_CONFLICT_ANGLE, PAPER_REWARD_WEIGHT, SlackKind, SlackSchedule
from rllib_safe.renamed import duration_env_steps

TrustRegionMetric = Literal["fisher", "euclidean"]

#: PCRPO's own settings in ``training()`` with their defaults.
PCRPO_TRAINING_DEFAULTS = {
    "conflict_angle": PAPER_CONFLICT_ANGLE,  # 90 degrees
    # +-5 around the limit: a starting point where the paper publishes nothing (docs/algorithms.md section 2)
    # (the authors used +-9 on SafetyHopperVelocity-v1 with d=25); +-inf are allowed.
    "slack_upper": 5.0,
    "slack_lower": -5.0,
    "reward_weight": PAPER_REWARD_WEIGHT,  # 0.5
    "slack_schedule": "constant",
    # Durations in env steps (docs/algorithms.md section 1): the same at any batch size.
    "slack_anneal_env_steps": None,
    "warmup_env_steps": 0,
    # The same durations in training iterations (old settings, converted with the batch size:
    # rllib_safe.renamed.ITERATION_COUNTED); None: unset.
    "slack_anneal_iterations": None,
    "warmup_iterations": None,
    # The soft step that keeps the paper's promise (neither objective decreases to first
    # order) for the step actually taken, so the line search's test is the step's own.
    "trust_region_metric": "fisher",
}


class PCRPOConfig(SwitchingConfig):
    """PCRPO's settings on top of the shared safe-PPO and actor-step settings.

    Example:
        >>> config = (
        ...     PCRPOConfig()
        ...     .environment("SafetyHopperVelocity-v1")
        ...     .training(cost_limit=25, slack_upper=9, slack_lower=-9, actor_step="trust_region")
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
        slack_anneal_env_steps: int | None = NotProvided,
        warmup_env_steps: int = NotProvided,
        slack_anneal_iterations: int | None = NotProvided,
        warmup_iterations: int | None = NotProvided,
        trust_region_metric: TrustRegionMetric = NotProvided,
        **kwargs,
    ) -> PCRPOConfig:
        """The safe-PPO and actor-step settings plus PCRPO's.

        Args:
            conflict_angle: theta* in degrees, (0, 180]: in the soft region the gradients
                are projected onto each other's normal plane when their angle exceeds it.
            slack_upper: h+ in [0, inf]: cost-only steps while J_c > cost_limit + h+.
            slack_lower: h- in [-inf, 0]: reward-only steps while J_c < cost_limit + h-.
            reward_weight: x_r in [0, 1] of the soft region; the cost weight is 1 - x_r.
            slack_schedule: "constant", or "anneal": h_t = h (1 - t / T) after t env steps
                sampled, exactly 0 from T on (an infinite slack stays infinite).
            slack_anneal_env_steps: T of the annealing in env steps; required with "anneal".
            warmup_env_steps: reward-only steps for the updates on the first this many env
                steps (0: none). The authors' 40 iterations of 16,000 samples are 640,000.
            slack_anneal_iterations: Deprecated: T in training iterations, converted to
                iterations x ``total_train_batch_size`` env steps; set only one of the two.
            warmup_iterations: Deprecated: the warm-up in training iterations, converted the
                same way (formerly ``start_safety``).
            trust_region_metric: the soft region's manipulation with ``actor_step="trust_region"``.
                "fisher": angle and projections in the Fisher metric, on the natural
                gradients F^-1 g_r and F^-1 g_c; the step then raises both surrogates to
                first order and, with conflict_angle <= 90, the line search accepts a soft
                step only if neither decreases. "euclidean": the paper's manipulation of
                g_r and g_c, then one natural step along F^-1 d, which can lower one
                surrogate to first order; the line search accepts a soft step when
                x_r L_r + x_c L_c does not decrease. The hard modes are the same in both;
                ``actor_step="first_order"`` always manipulates the PPO-clip gradients (Euclidean).
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
        if self.slack_anneal_iterations is not None:
            check_count("slack_anneal_iterations", self.slack_anneal_iterations, 1)
        if self.slack_anneal_env_steps is not None:
            check_count("slack_anneal_env_steps", self.slack_anneal_env_steps, 1)
        if self.slack_anneal_steps(warn=True) is None and self.slack_schedule == "anneal":
            raise ValueError(
                "`slack_anneal_env_steps` = None is invalid: slack_schedule='anneal' needs the annealing's "
                "duration, an integer >= 1 (env steps)."
            )
        if self.warmup_iterations is not None:
            check_count("warmup_iterations", self.warmup_iterations, 0)
        check_count("warmup_env_steps", self.warmup_env_steps, 0)
        self.warmup_steps(warn=True)
        check_choice("trust_region_metric", self.trust_region_metric, get_args(TrustRegionMetric))
        self.slack_schedule_spec()  # the core's own checks, the learner's single source

    def warmup_steps(self, *, warn: bool = False) -> int:
        """The warm-up in env steps: ``warmup_env_steps``, or ``warmup_iterations`` x the batch."""
        return duration_env_steps(self, "warmup_env_steps", PCRPO_TRAINING_DEFAULTS["warmup_env_steps"], warn=warn)

    def slack_anneal_steps(self, *, warn: bool = False) -> int | None:
        """T of the slack annealing in env steps (None: unset)."""
        return duration_env_steps(
            self, "slack_anneal_env_steps", PCRPO_TRAINING_DEFAULTS["slack_anneal_env_steps"], warn=warn
        )

    def slack_schedule_spec(self) -> SlackSchedule:
        """The slacks (h+, h-) by env steps sampled, as the learners use them."""
        return SlackSchedule(
            upper=float(self.slack_upper),
            lower=float(self.slack_lower),
            kind=self.slack_schedule,
            anneal_env_steps=self.slack_anneal_steps(),
        )

    def get_default_learner_class(self):
        from rllib_safe.algorithms.pcrpo.pcrpo_torch_learner import PCRPOTorchLearner

        return PCRPOTorchLearner


class PCRPO(SafePPO):
    """Safe PPO whose learners step the actor along PCRPO's manipulated gradient."""

    @classmethod
    def get_default_config(cls) -> PCRPOConfig:
        return PCRPOConfig()
