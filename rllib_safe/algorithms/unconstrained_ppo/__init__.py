from rllib_safe.algorithms.unconstrained_ppo.unconstrained_ppo import UnconstrainedPPO, UnconstrainedPPOConfig

__all__ = ["UnconstrainedPPO", "UnconstrainedPPOConfig"]
