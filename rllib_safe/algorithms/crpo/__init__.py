from rllib_safe.algorithms.crpo.crpo import CRPO, CRPOConfig

__all__ = ["CRPO", "CRPOConfig"]
