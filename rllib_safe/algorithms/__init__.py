"""rllib-safe's algorithms by name, and their registration with Ray Tune.

CLI names (``--algo``) map to the Algorithm class; Tune names are the class names, so
``tune.Tuner("PCRPO", param_space=config)`` works after ``import rllib_safe.algorithms``.
"""

from __future__ import annotations

import difflib

from ray.tune.registry import register_trainable

from rllib_safe.algorithms.crpo import CRPO, CRPOConfig
from rllib_safe.algorithms.pcrpo import PCRPO, PCRPOConfig
from rllib_safe.algorithms.ppo_lag import PPOLag, PPOLagConfig
from rllib_safe.algorithms.safe_ppo import SafePPO, SafePPOConfig
from rllib_safe.algorithms.smpo import SMPO, SMPOConfig

ALGORITHMS = {
    "ppo": SafePPO,
    "ppo-lag": PPOLag,
    "crpo": CRPO,
    "pcrpo": PCRPO,
    "smpo": SMPO,
}


def algorithm_class(name: str):
    """The Algorithm class for a CLI name, or a ValueError naming the allowed names."""
    try:
        return ALGORITHMS[name]
    except KeyError:
        close = difflib.get_close_matches(name, ALGORITHMS, n=2)
        hint = f" Did you mean {' or '.join(close)}?" if close else ""
        raise ValueError(
            f"`algo` = {name!r} is not an rllib-safe algorithm; choose one of {sorted(ALGORITHMS)}.{hint}"
        ) from None


def default_config(name: str) -> SafePPOConfig:
    """A fresh config of the named algorithm, with its safe-RL defaults."""
    return algorithm_class(name).get_default_config()


def register_algorithms() -> None:
    """Makes every algorithm available to Tune by its class name (idempotent)."""
    for cls in ALGORITHMS.values():
        register_trainable(cls.__name__, cls)


register_algorithms()

__all__ = [
    "ALGORITHMS",
    "CRPO",
    "CRPOConfig",
    "PCRPO",
    "PCRPOConfig",
    "PPOLag",
    "PPOLagConfig",
    "SafePPO",
    "SMPO",
    "SMPOConfig",
    "SafePPOConfig",
    "algorithm_class",
    "default_config",
    "register_algorithms",
]
