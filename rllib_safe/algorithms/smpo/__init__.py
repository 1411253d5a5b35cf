from rllib_safe.algorithms.smpo.smpo import SMPO, SMPOConfig

__all__ = ["SMPO", "SMPOConfig"]
