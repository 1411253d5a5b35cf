"""Errors raised while building or stepping cost-carrying envs."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class UnknownEnvError(ValueError):
    """An env id that neither rllib_safe, safety-gymnasium nor gymnasium knows."""

    def __init__(self, env_id: str, known_ids: Iterable[str]) -> None:
        self.env_id = env_id
        self.suggestions = difflib.get_close_matches(env_id, list(dict.fromkeys(known_ids)), n=5, cutoff=0.5)
        hint = f" Closest known ids: {', '.join(self.suggestions)}." if self.suggestions else ""
        super().__init__(
            f"Unknown env id {env_id!r}.{hint} See rllib_safe.envs.known_env_ids() for all ids."
        )


class UnsupportedEnvError(ValueError):
    """A known env that rllib_safe cannot run (safety-gymnasium multi-agent envs)."""


class MissingCostError(RuntimeError):
    """An env step that carries no cost."""

    def __init__(self, env: object) -> None:
        super().__init__(
            f"{env} returned no cost: its step gives neither a 6-tuple "
            "(obs, reward, cost, terminated, truncated, info) nor info['cost']. "
            "Wrap it with rllib_safe.envs.CostWrapper(env, cost_fn), where "
            "cost_fn(env, transition) -> float >= 0, or use SixTupleToFiveTuple for 6-tuple envs."
        )
