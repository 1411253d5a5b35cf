"""Cost-carrying environments: safety-gymnasium and Safety-MuJoCo tasks on gymnasium 1.x.

Every env built here is a gymnasium 5-tuple env whose ``info["cost"]`` is the float cost (>= 0)
of the action just taken (0.0 on reset). :func:`register_envs` (explicit: it imports Ray Tune)
makes the same ids usable as ``config.environment(id)`` in RLlib.
"""

from rllib_safe.envs.errors import MissingCostError, UnknownEnvError, UnsupportedEnvError
from rllib_safe.envs.registry import env_creator, known_env_ids, make_env, register_envs
from rllib_safe.envs.wrappers import CostContract, CostWrapper, ObserveEpisodeCost, SixTupleToFiveTuple, Transition

__all__ = [
    "CostContract",
    "CostWrapper",
    "MissingCostError",
    "ObserveEpisodeCost",
    "SixTupleToFiveTuple",
    "Transition",
    "UnknownEnvError",
    "UnsupportedEnvError",
    "env_creator",
    "known_env_ids",
    "make_env",
    "register_envs",
]
