"""Renamed settings of the algorithm configs: the old names keep working, with a FutureWarning.

Each config class lists ``RENAMED_SETTINGS`` (old name -> new name). The old name stays a
keyword of ``training()`` and an attribute of the config (both warn with a FutureWarning and
act on the new name), so scripts, ``--set``, Tune param spaces and sweep specs that use it keep
working; checkpoints that stored it restore onto the new name.
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar


def renamed_setting(old: str, new: str) -> property:
    """The config attribute ``old``, renamed ``new``: reads ``new``; setting it warns and sets ``new``."""

    def get(self):
        return getattr(self, new)

    def set(self, value) -> None:
        warnings.warn(
            f"The setting `{old}` is now called `{new}`; `{old}` still works but will be removed. "
            f"Use `{new}` (config.training({new}=...), --set {new}=..., or `{new}:` in a sweep spec).",
            FutureWarning,
            stacklevel=3,
        )
        setattr(self, new, value)

    return property(get, set, doc=f"Deprecated name of ``{new}``.")


class RenamedSettings:
    """Mixin of an ``AlgorithmConfig``: the old names of its subclasses' ``RENAMED_SETTINGS``."""

    #: Settings this class renamed: old name -> new name (module docstring); subclasses list their own.
    RENAMED_SETTINGS: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        for old, new in cls.__dict__.get("RENAMED_SETTINGS", {}).items():
            setattr(cls, old, renamed_setting(old, new))

    @classmethod
    def renamed_settings(cls) -> dict[str, str]:
        """Every renamed setting of this config class and its bases: old name -> new name."""
        renamed = {}
        for klass in reversed(cls.__mro__):
            renamed |= klass.__dict__.get("RENAMED_SETTINGS", {})
        return renamed

    @classmethod
    def from_state(cls, state: dict[str, Any]):
        """RLlib's; a state (checkpoint) written before a rename sets the new name."""
        config = super().from_state(state)
        if isinstance(config, RenamedSettings):
            for old, new in config.renamed_settings().items():
                if old in config.__dict__:  # shadowed by the property: move it onto the new name
                    config.__dict__[new] = config.__dict__.pop(old)
        return config

    def _set_renamed_settings(self, values: dict[str, Any], not_provided: Any) -> None:
        """A renamed setting's old keyword in ``values`` (``locals()`` of ``training()``) sets the
        new name, with a FutureWarning; ValueError where both are given."""
        for old, new in self.renamed_settings().items():
            if values.get(old, not_provided) is not_provided:
                continue
            if values.get(new, not_provided) is not not_provided:
                raise ValueError(f"`{old}` is the old name of `{new}`: set only `{new}`.")
            setattr(self, old, values[old])  # the property warns and sets `new`
