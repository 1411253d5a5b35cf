"""What the Ray cluster (or this machine) offers the algorithms' learners and EnvRunners.

``check_learner_gpus`` is ``SafePPOConfig.validate()``'s check: GPU learners where no GPU is
available fail obscurely (docs/rllib-notes.md trap 4), so it refuses them, unless
``allow_gpu_fallback`` is set. The fallback itself, learners on CPU with a warning, is
``learner_gpu_fallback``: applied where a config is finalised, not inside a check, i.e. by
``rllib_safe.runs.config.build_config`` (CLI, sweeps) and by ``SafePPO`` on the config it is
built from and on the one Tune reserves resources for (Python users, Tune param spaces).
``warn_if_ray_lacks_cpus`` warns before EnvRunners wait for CPUs the cluster lacks.
"""

from __future__ import annotations

import logging
from typing import Any

from rllib_safe.algorithms.validation import cpu_shortfall

logger = logging.getLogger(__name__)


def available_gpus() -> float:
    """GPUs of the connected Ray cluster, or of this machine when Ray is not running."""
    import ray
    import torch

    if ray.is_initialized():
        return float(ray.cluster_resources().get("GPU", 0.0))
    return float(torch.cuda.device_count())


def learner_gpu_shortfall(num_gpus_per_learner: float, num_learners: int) -> str | None:
    """What is missing where the learners ask for more GPUs than are available; None if they fit."""
    if not num_gpus_per_learner:
        return None
    available = available_gpus()
    if available >= num_gpus_per_learner * max(1, num_learners):
        return None
    return (
        f"`num_gpus_per_learner` = {num_gpus_per_learner} with num_learners = "
        f"{num_learners}, but only {available} GPU(s) are available"
    )


def check_learner_gpus(config) -> None:
    """ValueError where the learners need GPUs that are not available and no fallback is allowed."""
    if config.allow_gpu_fallback:
        return
    shortfall = learner_gpu_shortfall(config.num_gpus_per_learner, config.num_learners)
    if shortfall is not None:
        raise ValueError(
            shortfall + ". Use num_gpus_per_learner=0, or allow_gpu_fallback=True "
            "(CLI: --allow-gpu-fallback) to train the learners on CPU instead."
        )


def learner_gpu_fallback(config: Any) -> Any:
    """``config`` (a config object, or a config dict as Tune passes it) with CPU learners where it
    allows the fallback and the GPUs it asks for are not available (a warning says so): a copy, and
    ``config`` itself unchanged; otherwise ``config`` itself."""
    if isinstance(config, dict):
        settings = config
    elif hasattr(config, "allow_gpu_fallback"):
        settings = vars(config)
    else:
        return config
    if not settings.get("allow_gpu_fallback"):
        return config
    shortfall = learner_gpu_shortfall(settings.get("num_gpus_per_learner", 0), settings.get("num_learners", 0))
    if shortfall is None:
        return config
    logger.warning("%s: falling back to CPU learners (allow_gpu_fallback=True).", shortfall)
    if isinstance(config, dict):
        return {**config, "num_gpus_per_learner": 0}
    config = config.copy(copy_frozen=False)
    config.num_gpus_per_learner = 0
    return config


def warn_if_ray_lacks_cpus(config) -> None:
    """Logs a warning, before the EnvRunners are created, where they and the learners reserve more
    CPUs than the running Ray instance has: RLlib waits for them without a word (``rllib-safe
    train`` refuses such a config on its embedded instance; an autoscaling cluster may add nodes,
    so here it is a warning)."""
    import ray

    if not ray.is_initialized():
        return
    shortfall = cpu_shortfall(config, float(ray.cluster_resources().get("CPU", 0.0)))
    if shortfall is not None:
        logger.warning(
            "%s: the EnvRunners wait for CPUs, forever on a fixed-size cluster such as a local "
            "`ray.init(num_cpus=...)`. Set num_env_runners <= %d (`config.env_runners(num_env_runners=...)`) or "
            "give Ray more CPUs; an autoscaling cluster adds nodes for them.",
            shortfall.describe("the Ray cluster"),
            shortfall.fitting_env_runners,
        )
