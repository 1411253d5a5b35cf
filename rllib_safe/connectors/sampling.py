"""The EnvRunners' connector pipelines, with the per-step work done once per vector step.

RLlib's pieces work per episode (per observation, per action) and its pipelines time every
piece on every call; on an EnvRunner stepping k envs that is Python work per env step. These
replacements keep RLlib's results and state, batched over the k envs:

- :class:`TimedEnvToModulePipeline` / :class:`TimedModuleToEnvPipeline`: RLlib's pipelines,
  timing the whole pipeline (RLlib's pipeline-level metrics) but not each piece.
- :class:`MeanStdFilter`: RLlib's ``MeanStdFilter`` (same class name, hence the same state key
  in checkpoints and in the EnvRunners' state merging) with one Welford update and one
  normalisation over the stacked observations of a single-agent Box observation space.
- :class:`BatchedNormalizeAndClipActions`: RLlib's ``NormalizeAndClipActions`` for a Box action
  space, on the (k, act_dim) action array before it is split per env.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from ray.rllib.connectors.connector_pipeline_v2 import ConnectorPipelineV2
from ray.rllib.connectors.connector_v2 import ConnectorV2
from ray.rllib.connectors.env_to_module import EnvToModulePipeline
from ray.rllib.connectors.env_to_module import MeanStdFilter as RLlibMeanStdFilter
from ray.rllib.connectors.module_to_env import ModuleToEnvPipeline
from ray.rllib.core.columns import Columns
from ray.rllib.utils.filter import RunningStat
from ray.rllib.utils.metrics import CONNECTOR_PIPELINE_TIMER

#: RLlib's filter adds it to the std before dividing (``ray.rllib.utils.filter``).
_SMALL_NUMBER = 1e-8


class _PipelineTimedAsOne(ConnectorPipelineV2):
    """``ConnectorPipelineV2.__call__`` with one timer around the pipeline, none per piece."""

    def __call__(self, *, rl_module, batch, episodes, explore=None, shared_data=None, metrics=None, **kwargs):
        shared_data = shared_data if shared_data is not None else {}
        timer = None
        if metrics:
            timer = metrics.log_time(kwargs.get("metrics_prefix_key", ()) + (CONNECTOR_PIPELINE_TIMER,))
            timer.__enter__()
        for connector in self.connectors:
            batch = connector(
                rl_module=rl_module,
                batch=batch,
                episodes=episodes,
                explore=explore,
                shared_data=shared_data,
                metrics=metrics,
                data=batch,  # RLlib's deprecated name, still passed by its pipeline
                **kwargs,
            )
            if not isinstance(batch, dict):
                raise ValueError(f"ConnectorV2 {connector} returned {batch!r}; it must return the batch dict.")
        if timer is not None:
            timer.__exit__(None, None, None)
        return batch


class TimedEnvToModulePipeline(EnvToModulePipeline, _PipelineTimedAsOne):
    """RLlib's env-to-module pipeline, timed as a whole only."""


class TimedModuleToEnvPipeline(ModuleToEnvPipeline, _PipelineTimedAsOne):
    """RLlib's module-to-env pipeline, timed as a whole only."""


def timed_as_one(pipeline: ConnectorPipelineV2) -> ConnectorPipelineV2:
    """The same pieces in the matching pipeline class timed as a whole (others returned as they are)."""
    for rllib_class, timed_class in (
        (EnvToModulePipeline, TimedEnvToModulePipeline),
        (ModuleToEnvPipeline, TimedModuleToEnvPipeline),
    ):
        if type(pipeline) is rllib_class:
            return timed_class(
                input_observation_space=pipeline.input_observation_space,
                input_action_space=pipeline.input_action_space,
                connectors=list(pipeline.connectors),
            )
    return pipeline


def _push_batch(stat: RunningStat, x: np.ndarray) -> None:
    """``stat.push(row)`` for every row of ``x``, as one update (Chan et al.'s parallel Welford).

    The result equals the sequential pushes up to rounding, delta fields included: RLlib's
    ``push`` moves ``mean_delta_array``/``sum_sq_diff_delta_array`` by the same increments as
    the running mean and sum of squares (and sets the delta mean to the first value).
    """
    k = x.shape[0]
    n0 = stat.num_pushes
    batch_mean = x.sum(axis=0) / k
    centered = x - batch_mean
    batch_m2 = (centered * centered).sum(axis=0)
    n = n0 + k
    if n0 == 0:
        new_mean = batch_mean
        new_m2 = batch_m2
    else:
        delta = batch_mean - stat.mean_array
        new_mean = stat.mean_array + delta * (k / n)
        new_m2 = stat.sum_sq_diff_array + batch_m2 + delta * delta * (n0 * k / n)
    if n0 == 0:
        stat.mean_delta_array[...] = new_mean
    else:
        stat.mean_delta_array[...] += new_mean - stat.mean_array
    stat.sum_sq_diff_delta_array[...] += new_m2 - stat.sum_sq_diff_array
    stat.mean_array[...] = new_mean
    stat.sum_sq_diff_array[...] = new_m2
    stat.num_pushes = n
    stat.num_pushes_delta += k


class MeanStdFilter(RLlibMeanStdFilter):
    """RLlib's ``MeanStdFilter`` updating and normalising all k observations of a step at once.

    Single-agent Box observations only; anything else (Dict/Tuple spaces, multi-agent) runs
    RLlib's per-observation code. State, merging across EnvRunners and freezing
    (``update_stats``) are RLlib's. The k observations of a step are all pushed before any is
    normalised (RLlib normalises each right after pushing it), the one difference.
    """

    def __call__(self, *, rl_module, batch, episodes, explore=None, persistent_data=None, **kwargs) -> Any:
        if self._filters is None:
            self._init_new_filters()
        obs_filter = None if self._multi_agent else self._filters.get(None)
        if obs_filter is None or obs_filter.no_preprocessor or not isinstance(obs_filter.running_stats, RunningStat):
            return super().__call__(
                rl_module=rl_module,
                batch=batch,
                episodes=episodes,
                explore=explore,
                persistent_data=persistent_data,
                **kwargs,
            )
        sa_episodes = list(self.single_agent_episode_iterator(episodes))
        if not sa_episodes:
            return batch
        obs = np.stack([episode.get_observations(-1) for episode in sa_episodes])
        stats = obs_filter.running_stats
        if self._update_stats:
            # RLlib also pushes to ``obs_filter.buffer``, which nothing reads on the new API stack
            # (state, merging and checkpoints use ``running_stats``): left out.
            _push_batch(stats, obs.astype(np.float64, copy=False))
        normalized = obs
        if obs_filter.demean:
            normalized = normalized - stats.mean
        if obs_filter.destd:
            normalized = normalized / (stats.std + _SMALL_NUMBER)
        if obs_filter.clip:
            normalized = np.clip(normalized, -obs_filter.clip, obs_filter.clip)
        normalized = normalized.astype(obs.dtype, copy=False)
        space = self.observation_space
        for episode, row in zip(sa_episodes, normalized):
            episode.set_observations(at_indices=-1, new_data=row)
            if episode.observation_space is not space:
                episode.observation_space = space
        return batch


class BatchedNormalizeAndClipActions(ConnectorV2):
    """``NormalizeAndClipActions`` for a Box action space on the batched actions.

    Sits right after ``TensorToNumpy`` (before the batch is split per env) and writes
    ``ACTIONS_FOR_ENV`` as RLlib's piece does: unsquashed from [-1, 1] to the space's bounds and
    clipped (``normalize_actions``; bounded float Boxes; integer Boxes are shifted by ``low``),
    or clipped to the bounds (``clip_actions``).
    """

    def __init__(
        self,
        input_observation_space: gym.Space | None = None,
        input_action_space: gym.Space | None = None,
        *,
        normalize_actions: bool,
        clip_actions: bool,
        **kwargs,
    ):
        super().__init__(input_observation_space, input_action_space, **kwargs)
        self.normalize_actions = normalize_actions
        self.clip_actions = clip_actions

    def __call__(self, *, rl_module, batch, episodes, explore=None, shared_data=None, **kwargs) -> Any:
        if not (self.normalize_actions or self.clip_actions) or Columns.ACTIONS not in batch:
            return batch
        space = self.action_space
        actions = np.asarray(batch[Columns.ACTIONS])
        if self.normalize_actions:
            if np.all(space.bounded_below) and np.all(space.bounded_above):
                if space.dtype in (np.float32, np.float64):
                    actions = np.clip(
                        space.low + (actions + 1.0) * (space.high - space.low) / 2.0, space.low, space.high
                    )
                elif np.issubdtype(space.dtype, np.integer):
                    actions = space.low + actions
                else:
                    actions = actions.copy()
            else:
                actions = actions.copy()
        else:
            actions = np.clip(actions, space.low, space.high)
        batch[Columns.ACTIONS_FOR_ENV] = actions
        return batch


def batched_action_normalization(pipeline: ConnectorPipelineV2) -> ConnectorPipelineV2:
    """RLlib's default module-to-env pipeline with ``NormalizeAndClipActions`` replaced by
    :class:`BatchedNormalizeAndClipActions` right after ``TensorToNumpy``.

    Only for a Box action space and the default single-agent pieces with no custom piece before
    the normalisation (``RemoveSingleTsTimeRankFromBatch`` right before it); otherwise the
    pipeline is returned unchanged.
    """
    from ray.rllib.connectors.module_to_env import (
        NormalizeAndClipActions,
        RemoveSingleTsTimeRankFromBatch,
        TensorToNumpy,
        UnBatchToIndividualItems,
    )

    pieces = [type(piece) for piece in pipeline.connectors]
    if NormalizeAndClipActions not in pieces or TensorToNumpy not in pieces:
        return pipeline
    index = pieces.index(NormalizeAndClipActions)
    rllib_piece = pipeline.connectors[index]
    tensor_to_numpy = pieces.index(TensorToNumpy)
    if (
        index == 0
        or pieces[index - 1] is not RemoveSingleTsTimeRankFromBatch
        or pieces[tensor_to_numpy + 1 : index - 1] != [UnBatchToIndividualItems]
        or not isinstance(rllib_piece.action_space, gym.spaces.Box)
    ):
        return pipeline
    pipeline.remove(NormalizeAndClipActions)
    pipeline.insert_after(
        TensorToNumpy,
        BatchedNormalizeAndClipActions(
            normalize_actions=rllib_piece.normalize_actions, clip_actions=rllib_piece.clip_actions
        ),
    )
    return pipeline
