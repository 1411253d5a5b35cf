"""rllib-safe: safe reinforcement learning (PCRPO, SMPO and baselines) on Ray RLlib."""

__version__ = "0.1.0"
