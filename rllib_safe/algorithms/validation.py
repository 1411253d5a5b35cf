"""Checks for ``AlgorithmConfig.validate()``: each error names the field, the value and what is allowed."""

from __future__ import annotations

import math
from dataclasses import dataclass


def check_range(name: str, value, low: float, high: float, *, low_open: bool = False, high_open: bool = False):
    """Raises ValueError naming ``name`` when ``value`` is not a number in [low, high] (or open ends)."""
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value)
    below = is_number and (value <= low if low_open else value < low)
    above = is_number and (value >= high if high_open else value > high)
    if not is_number or below or above:
        interval = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        raise ValueError(f"`{name}` = {value!r} is invalid: it must be a number in {interval}.")


def check_count(name: str, value, low: int) -> None:
    """Raises ValueError naming ``name`` unless ``value`` is an integer >= ``low``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"`{name}` = {value!r} is invalid: it must be an integer >= {low}.")


def check_choice(name: str, value, allowed: tuple) -> None:
    """Raises ValueError naming ``name`` unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        raise ValueError(f"`{name}` = {value!r} is invalid: it must be one of {allowed}.")


@dataclass(frozen=True)
class CpuShortfall:
    """EnvRunners and learners that reserve more CPUs than a Ray instance has."""

    requested: str  # the fields and their values, as the messages name them
    needed: float
    available: float
    fitting_env_runners: int  # the largest ``num_env_runners`` that fits beside the learners

    def describe(self, where: str) -> str:
        return f"{self.requested} need {self.needed:g} CPUs, but {where} has {self.available:g}"


def cpu_shortfall(config, cpus: float) -> CpuShortfall | None:
    """What ``config``'s EnvRunners and learners reserve beyond ``cpus`` CPUs; None where they fit."""
    learner_cpus = config.num_cpus_per_learner
    if learner_cpus == "auto":  # RLlib: a CPU for a CPU learner, none beside a GPU
        learner_cpus = 0 if config.num_gpus_per_learner else 1
    learners = config.num_learners * learner_cpus
    needed = config.num_env_runners * config.num_cpus_per_env_runner + learners
    if needed <= cpus:
        return None
    requested = (
        f"`num_env_runners` = {config.num_env_runners} ({config.num_cpus_per_env_runner:g} CPU each) and "
        f"`num_learners` = {config.num_learners} ({learner_cpus:g} CPU each)"
    )
    fitting = max(0, int((cpus - learners) // config.num_cpus_per_env_runner))
    return CpuShortfall(requested, needed, cpus, fitting)
