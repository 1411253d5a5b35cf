"""PPO-Lagrangian (OmniSafe semantics, docs/algorithms.md section 4)."""

from __future__ import annotations

from ray.rllib.algorithms.algorithm_config import NotProvided

from rllib_safe.algorithms.safe_ppo.safe_ppo import SafePPO, SafePPOConfig
from rllib_safe.checks import check_range

#: PPO-Lagrangian's settings in ``training()`` with their defaults (OmniSafe's).
PPO_LAG_TRAINING_DEFAULTS = {
    "lagrangian_multiplier_init": 0.001,
    "lagrangian_multiplier_lr": 0.035,
    "lagrangian_upper_bound": None,
}


class PPOLagConfig(SafePPOConfig):
    """PPO-clip on (A_r - lambda A_c) / (1 + lambda), lambda >= 0 learnt once per iteration.

    Example:
        >>> PPOLagConfig().environment("SafetyHopperVelocity-v1").training(cost_limit=25)
    """

    def __init__(self, algo_class=None):
        super().__init__(algo_class=algo_class or PPOLag)
        self._update_settings(PPO_LAG_TRAINING_DEFAULTS)

    def training(
        self,
        *,
        lagrangian_multiplier_init: float = NotProvided,
        lagrangian_multiplier_lr: float = NotProvided,
        lagrangian_upper_bound: float | None = NotProvided,
        **kwargs,
    ) -> PPOLagConfig:
        """Args: initial lambda, Adam learning rate of lambda, optional upper bound of lambda."""
        super().training(**kwargs)
        self._update_settings(locals(), PPO_LAG_TRAINING_DEFAULTS)
        return self

    def validate(self) -> None:
        super().validate()
        check_range("lagrangian_multiplier_init", self.lagrangian_multiplier_init, 0.0, float("inf"))
        check_range("lagrangian_multiplier_lr", self.lagrangian_multiplier_lr, 0.0, float("inf"), low_open=True)
        if self.lagrangian_upper_bound is not None:
            check_range("lagrangian_upper_bound", self.lagrangian_upper_bound, 0.0, float("inf"), low_open=True)

    def get_default_learner_class(self):
        from rllib_safe.algorithms.ppo_lag.ppo_lag_torch_learner import PPOLagTorchLearner

        return PPOLagTorchLearner


class PPOLag(SafePPO):
    @classmethod
    def get_default_config(cls) -> PPOLagConfig:
        return PPOLagConfig()
