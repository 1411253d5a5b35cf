"""CRPO (OmniSafe semantics): a reward step when J_c <= d + tolerance, else a cost step.

Xu et al., "CRPO: A New Approach for Safe Reinforcement Learning with Convergence Guarantee"
(ICML 2021), as OmniSafe's ``OnCRPO`` runs it. CRPO is PCRPO without the soft region: the
same learner machinery and the same actor step (``SwitchingConfig``: by default one
trust-region step per iteration, as PCRPO's; ``actor_step="first_order"`` gives PPO-clip on A_r
or on -A_c with Adam), with the region chosen by ``rllib_safe.core.hard_switch_region``.
PCRPO's slacks cannot express it (h- <= 0 <= h+ always leaves a soft band around d), so a
comparison of the two differs only in soft versus hard switching.
"""

from __future__ import annotations

from ray.rllib.algorithms.algorithm_config import NotProvided

from rllib_safe.algorithms.safe_ppo.safe_ppo import SafePPO
from rllib_safe.algorithms.switching.switching import SwitchingConfig
from rllib_safe.checks import check_range

#: CRPO's own settings in ``training()`` with their defaults (OmniSafe's tolerance).
CRPO_TRAINING_DEFAULTS = {"cost_tolerance": 2.0}


class CRPOConfig(SwitchingConfig):
    """Hard switching between the reward and the cost objective, once per iteration.

    Example:
        >>> config = CRPOConfig().environment("SafetyPointGoal1-v0").training(cost_limit=25, cost_tolerance=2)
        >>> algo = config.build_algo()
    """

    def __init__(self, algo_class=None):
        super().__init__(algo_class=algo_class or CRPO)
        self._update_settings(CRPO_TRAINING_DEFAULTS)

    def training(self, *, cost_tolerance: float = NotProvided, **kwargs) -> CRPOConfig:
        """The safe-PPO and actor-step settings plus CRPO's.

        Args:
            cost_tolerance: a reward step is taken while J_c <= cost_limit + tolerance.
        """
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
