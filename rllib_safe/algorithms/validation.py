"""Whether a config's EnvRunners and learners fit the CPUs of a Ray instance (the checks of single
settings are ``rllib_safe.checks``)."""

from __future__ import annotations

from dataclasses import dataclass


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
