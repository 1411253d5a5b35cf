"""RL modules with cost critics."""

from rllib_safe.modules.safe_ppo_rl_module import SafePPOTorchRLModule

__all__ = ["SafePPOTorchRLModule"]
