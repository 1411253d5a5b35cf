"""The EnvRunners' connector pipelines of every safe algorithm, assembled from RLlib's defaults.

RLlib's pipelines with their per-step costs cut (``rllib_safe.speed.sampling_connectors``): the
observation filter batched (``normalize_observations``), the default pieces fused, the pieces
not timed one by one. ``SafePPOConfig.build_env_to_module_connector`` and
``build_module_to_env_connector`` hand RLlib's pipeline here.
"""

from __future__ import annotations

from rllib_safe.speed.sampling_connectors import MeanStdFilter, fused_default_pieces, timed_as_one


def env_to_module_pipeline(pipeline, *, normalize_observations: bool, multi_agent: bool, device=None):
    """RLlib's env-to-module ``pipeline``, observations filtered first where asked, fused and timed as one."""
    if normalize_observations:
        pipeline.prepend(MeanStdFilter(multi_agent=multi_agent))
    return timed_as_one(fused_default_pieces(pipeline, multi_agent=multi_agent, device=device))


def module_to_env_pipeline(pipeline, *, multi_agent: bool):
    """RLlib's module-to-env ``pipeline``, fused and timed as one."""
    return timed_as_one(fused_default_pieces(pipeline, multi_agent=multi_agent))
