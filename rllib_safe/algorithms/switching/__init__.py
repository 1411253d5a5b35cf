"""CRPO's and PCRPO's shared base: the actor-step config and the learner machinery."""

from rllib_safe.algorithms.switching.switching import ACTOR_STEP_DEFAULTS, SwitchingConfig

__all__ = ["ACTOR_STEP_DEFAULTS", "SwitchingConfig"]
