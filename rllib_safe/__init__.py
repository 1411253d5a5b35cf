"""rllib-safe: safe reinforcement learning (PCRPO, SMPO and baselines) on Ray RLlib."""

from rllib_safe import _moved

__version__ = "0.1.0"

# Old module paths that checkpoints pickle keep loading (rllib_safe/_moved.py).
_moved.install()
