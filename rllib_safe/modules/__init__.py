"""RL modules with cost critics."""

from rllib_safe.modules.safe_ppo_catalog import SafePPOCatalog
from rllib_safe.modules.safe_ppo_rl_module import SafePPOTorchRLModule
from rllib_safe.modules.smpo_rl_module import SMPOTorchRLModule

__all__ = ["SMPOTorchRLModule", "SafePPOCatalog", "SafePPOTorchRLModule"]
