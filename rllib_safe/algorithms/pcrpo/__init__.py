from rllib_safe.algorithms.pcrpo.pcrpo import PCRPO, PCRPOConfig

__all__ = ["PCRPO", "PCRPOConfig"]
