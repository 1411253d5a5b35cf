from rllib_safe.algorithms.safe_ppo.safe_ppo import SafePPO, SafePPOConfig

__all__ = ["SafePPO", "SafePPOConfig"]
