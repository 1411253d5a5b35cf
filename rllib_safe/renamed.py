"""Every old name rllib-safe still accepts, in one table, each with the version that removes it.

* ``SETTINGS``: config settings, by the config class that renamed them (its subclasses inherit
  them). The old name stays a keyword of ``training()`` and an attribute of the config (both warn
  with a FutureWarning and act on the new name), so scripts, ``--set``, Tune param spaces and
  sweep specs that use it keep working; checkpoints that stored it restore onto the new name
  (``RenamedSettings``, the configs' mixin).
* ``TRAINABLES``: Tune names of renamed algorithm classes (``rllib_safe.algorithms`` registers
  the old name for the new class; ``Tuner.restore`` checks the name an experiment started with).
* ``CLI_FLAGS``: old spellings of ``rllib-safe train`` flags (``rllib_safe.cli.train``).
* ``RETIRED_SETTINGS``: settings that no longer exist: using one is an error that says what to
  use instead.
* ``ITERATION_COUNTED``: durations once counted in training iterations, now in env steps (a
  duration then means the same at any batch size). The old setting still works: k iterations
  are k x ``total_train_batch_size`` env steps (FutureWarning at ``validate()``); setting both
  is an error (``duration_env_steps``).

Old module paths that checkpoints pickle are ``rllib_safe._moved``'s. Once ``rllib_safe.__version__``
reaches an entry's ``removed_in``, the entry goes (``tests/algorithms/test_renamed.py`` fails until it has).
"""

from __future__ import annotations

import functools
import warnings
from typing import Any, NamedTuple


class Rename(NamedTuple):
    old: str
    new: str
    removed_in: str  #: the version without the old name


class Retired(NamedTuple):
    instead: str  #: what to use instead, in words
    removed_in: str  #: the version in which the setting is no longer recognised at all


#: Renamed config settings, by the name of the config class that renamed them.
SETTINGS: dict[str, tuple[Rename, ...]] = {
    "SwitchingConfig": (Rename("update", "actor_step", removed_in="0.3.0"),),
    "PCRPOConfig": (Rename("start_safety", "warmup_iterations", removed_in="0.3.0"),),
    "SMPOConfig": (Rename("threshold_epochs", "threshold_anneal_iterations", removed_in="0.3.0"),),
}

#: Renamed Tune names of algorithm classes (``--algo ppo`` ran ``SafePPO``, now the shared base).
TRAINABLES: tuple[Rename, ...] = (Rename("SafePPO", "UnconstrainedPPO", removed_in="0.3.0"),)

#: Renamed flags of ``rllib-safe train``.
CLI_FLAGS: tuple[Rename, ...] = (Rename("--update", "--actor-step", removed_in="0.3.0"),)

#: Settings that no longer exist, by the name of the config class that had them.
RETIRED_SETTINGS: dict[str, dict[str, Retired]] = {
    "SMPOConfig": {
        "modulate_negative_rewards": Retired(
            "use `negative_reward_modulation` = 'paper' (every reward times f, what True did) or "
            "'unmodulated' (what False did). The default 'penalise' scales r >= 0 by f and r < 0 by "
            "(2 - f), so that past the budget (f < 0) a negative reward stays a penalty instead of "
            "becoming a bonus.",
            removed_in="0.3.0",
        ),
    },
}


class Counted(NamedTuple):
    old: str  #: the duration in training iterations
    new: str  #: the same duration in env steps
    removed_in: str


#: Durations once counted in training iterations, by the name of the config class that has them.
ITERATION_COUNTED: dict[str, tuple[Counted, ...]] = {
    "PCRPOConfig": (
        Counted("warmup_iterations", "warmup_env_steps", removed_in="0.3.0"),
        Counted("slack_anneal_iterations", "slack_anneal_env_steps", removed_in="0.3.0"),
    ),
    "SMPOConfig": (Counted("threshold_anneal_iterations", "threshold_anneal_env_steps", removed_in="0.3.0"),),
}


def duration_env_steps(config, new: str, default: Any, *, warn: bool = False) -> Any:
    """The duration ``new`` of ``config`` in env steps: ``new`` itself, or, where only its
    iteration-counted setting is set (not None), that many iterations x ``total_train_batch_size``.

    ValueError where both are set (``new`` differs from its ``default``); a FutureWarning with
    ``warn`` where the old setting is used.
    """
    (counted,) = (c for klass in type(config).__mro__ for c in ITERATION_COUNTED.get(klass.__name__, ())
                  if c.new == new)
    iterations = getattr(config, counted.old)
    value = getattr(config, new)
    if iterations is None:
        return value
    if value != default:
        raise ValueError(
            f"`{counted.old}` = {iterations!r} and `{new}` = {value!r} are the same duration: set only "
            f"`{new}` (env steps; `{counted.old}` counts training iterations and will be removed)."
        )
    steps = iterations * config.total_train_batch_size
    if warn:
        warnings.warn(
            f"`{counted.old}` counts training iterations and will be removed: use `{new}` = {steps!r} "
            f"({iterations!r} iterations x {config.total_train_batch_size} env steps, the run's batch), "
            f"which means the same duration at any batch size.",
            FutureWarning,
            stacklevel=3,
        )
    return steps


def old_flags(new: str) -> tuple[str, ...]:
    """The old spellings of the CLI flag ``new``."""
    return tuple(rename.old for rename in CLI_FLAGS if rename.new == new)


def renamed_setting(old: str, new: str) -> property:
    """The config attribute ``old``, renamed ``new``: reads ``new``; setting it warns and sets ``new``."""

    def get(self):
        return getattr(self, new)

    def set(self, value) -> None:
        warn_renamed(old, new, stacklevel=4)
        setattr(self, new, value)

    return property(get, set, doc=f"Deprecated name of ``{new}``.")


def warn_renamed(old: str, new: str, *, stacklevel: int) -> None:
    warnings.warn(
        f"The setting `{old}` is now called `{new}`; `{old}` still works but will be removed. "
        f"Use `{new}` (config.training({new}=...), --set {new}=..., or `{new}:` in a sweep spec).",
        FutureWarning,
        stacklevel=stacklevel,
    )


def accepting_old_keywords(training):
    """``training`` with the old names of renamed settings accepted (FutureWarning) as the new ones."""

    @functools.wraps(training)
    def wrapper(self, **kwargs):
        for old, new in type(self).renamed_settings().items():
            if old in kwargs:
                if new in kwargs:
                    raise ValueError(f"`{old}` is the old name of `{new}`: set only `{new}`.")
                warn_renamed(old, new, stacklevel=3)
                kwargs[new] = kwargs.pop(old)
        for name, value in kwargs.items():
            check_not_retired(type(self), name, value)
        return training(self, **kwargs)

    return wrapper


def check_not_retired(cls: type, name: str, value: Any) -> None:
    """ValueError where ``name`` is a retired setting of config class ``cls`` (or of one of its bases)."""
    for klass in cls.__mro__:
        retired = RETIRED_SETTINGS.get(klass.__name__, {}).get(name)
        if retired is not None:
            raise ValueError(f"`{name}` = {value!r} is no longer a setting: {retired.instead}")


class RenamedSettings:
    """Mixin of an ``AlgorithmConfig``: the old names of ``SETTINGS`` and the ``RETIRED_SETTINGS`` checks."""

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        for rename in SETTINGS.get(cls.__name__, ()):
            setattr(cls, rename.old, renamed_setting(rename.old, rename.new))
        if "training" in cls.__dict__:
            cls.training = accepting_old_keywords(cls.__dict__["training"])

    @classmethod
    def renamed_settings(cls) -> dict[str, str]:
        """Every renamed setting of this config class and its bases: old name -> new name."""
        return {rename.old: rename.new for klass in cls.__mro__ for rename in SETTINGS.get(klass.__name__, ())}

    @classmethod
    def from_state(cls, state: dict[str, Any]):
        """RLlib's; a state (checkpoint) written before a rename sets the new name."""
        config = super().from_state(state)
        if isinstance(config, RenamedSettings):
            for old, new in config.renamed_settings().items():
                if old in config.__dict__:  # shadowed by the property: move it onto the new name
                    config.__dict__[new] = config.__dict__.pop(old)
        return config

    def check_not_retired(self) -> None:
        """ValueError where a retired setting was set as an attribute (``update_from_dict``: Tune, old configs)."""
        for klass in type(self).__mro__:
            for name in RETIRED_SETTINGS.get(klass.__name__, {}):
                if name in vars(self):
                    check_not_retired(type(self), name, vars(self)[name])


