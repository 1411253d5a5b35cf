"""Checks of settings, free of Ray (``rllib_safe.core`` uses them too): each error names the field,
the value and what is allowed."""

from __future__ import annotations

import math


def check_range(name: str, value, low: float, high: float, *, low_open: bool = False, high_open: bool = False):
    """Raises ValueError naming ``name`` when ``value`` is not a number in [low, high] (or open ends)."""
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value)
    below = is_number and (value <= low if low_open else value < low)
    above = is_number and (value >= high if high_open else value > high)
    if not is_number or below or above:
        interval = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        raise ValueError(f"`{name}` = {value!r} is invalid: it must be a number in {interval}.")


def check_count(name: str, value, low: int, *, allowed: str | None = None) -> None:
    """Raises ValueError naming ``name`` unless ``value`` is an integer >= ``low`` (``allowed``: how
    the message states what is allowed, when more is, e.g. "an integer >= 1 (or None)")."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"`{name}` = {value!r} is invalid: it must be {allowed or f'an integer >= {low}'}.")


def check_choice(name: str, value, allowed: tuple) -> None:
    """Raises ValueError naming ``name`` unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        raise ValueError(f"`{name}` = {value!r} is invalid: it must be one of {allowed}.")
