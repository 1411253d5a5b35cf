"""CRPO (OmniSafe semantics): a reward step when J_c <= d + tolerance, else a cost step."""

from __future__ import annotations

from ray.rllib.algorithms.algorithm_config import NotProvided

from rllib_safe.algorithms.safe_ppo.safe_ppo import SafePPO, SafePPOConfig
from rllib_safe.algorithms.validation import check_range

#: CRPO's settings in ``training()`` with their defaults (OmniSafe's tolerance).
CRPO_TRAINING_DEFAULTS = {"cost_tolerance": 2.0}


class CRPOConfig(SafePPOConfig):
    """Hard switching between the reward and the cost objective, once per iteration.

    Equal to PCRPO with h+ = h- = ``cost_tolerance`` and no soft region.
    """

    def __init__(self, algo_class=None):
        super().__init__(algo_class=algo_class or CRPO)
        self._update_settings(CRPO_TRAINING_DEFAULTS)

    def training(self, *, cost_tolerance: float = NotProvided, **kwargs) -> CRPOConfig:
        """Args: cost_tolerance: a reward step is taken while J_c <= cost_limit + tolerance."""
        super().training(**kwargs)
        self._update_settings(locals(), CRPO_TRAINING_DEFAULTS)
        return self

    def validate(self) -> None:
        super().validate()
        check_range("cost_tolerance", self.cost_tolerance, 0.0, float("inf"))

    def get_default_learner_class(self):
        from rllib_safe.algorithms.crpo.crpo_torch_learner import CRPOTorchLearner

        return CRPOTorchLearner


class CRPO(SafePPO):
    @classmethod
    def get_default_config(cls) -> CRPOConfig:
        return CRPOConfig()
