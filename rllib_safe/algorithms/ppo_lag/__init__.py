from rllib_safe.algorithms.ppo_lag.ppo_lag import PPOLag, PPOLagConfig

__all__ = ["PPOLag", "PPOLagConfig"]
