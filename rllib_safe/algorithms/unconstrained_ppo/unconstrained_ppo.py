"""The unconstrained baseline (``--algo ppo``): PPO that ignores the cost limit and logs costs.

It is the shared base ``SafePPO`` used as is: PPO-clip on the reward advantages, with the cost
pipeline running (cost critic, J_c, cost metrics) so that its costs compare with the safe
algorithms'. Its own class gives it a name that says so. ``--algo ppo`` used to run ``SafePPO``
itself: the Tune name ``"SafePPO"`` stays registered, for this class.
"""

from __future__ import annotations

from rllib_safe.algorithms.safe_ppo.safe_ppo import SafePPO, SafePPOConfig


class UnconstrainedPPOConfig(SafePPOConfig):
    """``SafePPOConfig`` for the unconstrained baseline; ``cost_limit`` only feeds the metrics.

    Example:
        >>> UnconstrainedPPOConfig().environment("SafetyPointGoal1-v0").training(cost_limit=25)
    """

    def __init__(self, algo_class=None):
        super().__init__(algo_class=algo_class or UnconstrainedPPO)


class UnconstrainedPPO(SafePPO):
    """PPO with costs measured and logged, none constrained (module docstring)."""

    @classmethod
    def get_default_config(cls) -> UnconstrainedPPOConfig:
        return UnconstrainedPPOConfig()
