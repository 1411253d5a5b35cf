"""rllib-safe's algorithms by name, and their registration with Ray Tune.

CLI names (``--algo``) map to the Algorithm class; Tune names are the class names, so
``tune.Tuner("PCRPO", param_space=config)`` works after ``import rllib_safe.algorithms``.
Names a class had before a rename stay registered for it (``RENAMED_TRAINABLES``, from
``rllib_safe.renamed.TRAINABLES``), so Tune scripts and experiments (``Tuner.restore`` checks the
name) that use them keep working.
"""

from __future__ import annotations

import difflib

from ray.tune.registry import register_trainable

from rllib_safe.algorithms.crpo import CRPO, CRPOConfig
from rllib_safe.algorithms.pcrpo import PCRPO, PCRPOConfig
from rllib_safe.algorithms.ppo_lag import PPOLag, PPOLagConfig
from rllib_safe.algorithms.safe_ppo import SafePPO, SafePPOConfig
from rllib_safe.algorithms.smpo import SMPO, SMPOConfig
from rllib_safe.algorithms.unconstrained_ppo import UnconstrainedPPO, UnconstrainedPPOConfig
from rllib_safe.renamed import TRAINABLES

ALGORITHMS = {
    "ppo": UnconstrainedPPO,
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


#: Earlier Tune names -> the class they now run (``rllib_safe.renamed.TRAINABLES``).
RENAMED_TRAINABLES = {
    rename.old: next(cls for cls in ALGORITHMS.values() if cls.__name__ == rename.new) for rename in TRAINABLES
}


def trainable_names(name: str) -> tuple[str, ...]:
    """The Tune names of the algorithm with CLI name ``name``: its class name, then earlier ones.

    An experiment started under an earlier name is restored only under that name.
    """
    cls = algorithm_class(name)
    return (cls.__name__, *(old for old, renamed in RENAMED_TRAINABLES.items() if renamed is cls))


def register_algorithms() -> None:
    """Makes every algorithm available to Tune by its class name and earlier names (idempotent)."""
    for cls in ALGORITHMS.values():
        register_trainable(cls.__name__, cls)
    for old, cls in RENAMED_TRAINABLES.items():
        register_trainable(old, cls)


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
    "UnconstrainedPPO",
    "UnconstrainedPPOConfig",
    "RENAMED_TRAINABLES",
    "algorithm_class",
    "default_config",
    "register_algorithms",
    "trainable_names",
]
