"""The EnvRunners' connector pipelines, with the per-step work done once per vector step.

RLlib's pieces work per episode (per observation, per action) and its pipelines time every
piece on every call; on an EnvRunner stepping k envs that is Python work per env step. These
replacements keep RLlib's results and state, batched over the k envs:

- :class:`TimedEnvToModulePipeline` / :class:`TimedModuleToEnvPipeline`: RLlib's pipelines,
  timing the whole pipeline (RLlib's pipeline-level metrics) but not each piece.
- :class:`MeanStdFilter`: RLlib's ``MeanStdFilter`` (same class name, hence the same state key
  in checkpoints and in the EnvRunners' state merging) with one Welford update and one
  normalisation over the stacked observations of a single-agent Box observation space.
- :class:`StackedObservations`: RLlib's default env-to-module pieces for a stateless
  single-agent module (add observations, time rank, states, batch, to tensor) as one stack of
  the k last observations into one tensor.
- :class:`ActionsForVectorEnv`: RLlib's default module-to-env pieces after ``GetActions``
  (to numpy, unbatch, time rank, normalise and clip, listify) for the same module: every column
  stays one array with a row per env, which is what the EnvRunner indexes per env and what the
  vector env steps on.
- :class:`BatchedNormalizeAndClipActions`: RLlib's ``NormalizeAndClipActions`` for a Box action
  space, on the (k, act_dim) action array before it is split per env (pipelines saved before
  :class:`ActionsForVectorEnv` existed hold it).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch
from ray.rllib.connectors.connector_pipeline_v2 import ConnectorPipelineV2
from ray.rllib.connectors.connector_v2 import ConnectorV2
from ray.rllib.connectors.env_to_module import EnvToModulePipeline
from ray.rllib.connectors.env_to_module import MeanStdFilter as RLlibMeanStdFilter
from ray.rllib.connectors.module_to_env import ModuleToEnvPipeline
from ray.rllib.core.columns import Columns
from ray.rllib.utils.annotations import override
from ray.rllib.utils.filter import RunningStat
from ray.rllib.utils.metrics import CONNECTOR_PIPELINE_TIMER
from ray.rllib.utils.numpy import convert_to_numpy

from rllib_safe.rllib_private import (
    filter_updates_stats,
    running_stat_moments,
    set_running_stat_moments,
    single_agent_observation_filter,
)

#: RLlib's filter adds it to the std before dividing (``ray.rllib.utils.filter``).
_SMALL_NUMBER = 1e-8


class _PipelineTimedAsOne(ConnectorPipelineV2):
    """``ConnectorPipelineV2.__call__`` with one timer around the pipeline, none per piece (a copy of
    RLlib's, listed in ``rllib_private`` to compare on upgrades)."""

    @override(ConnectorPipelineV2)
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
    """RLlib's env-to-module pipeline, timed as a whole only.

    RLlib's ``EnvToModulePipeline`` also logs the summed length of the episodes going in and
    coming out on every call (``env_to_module_sum_episodes_length_in``/``_out``: two metric
    updates per vector step that nothing reads); this one does not.
    """

    @override(EnvToModulePipeline)
    def __call__(self, *, rl_module, batch=None, episodes, explore=None, shared_data=None, metrics=None, **kwargs):
        return _PipelineTimedAsOne.__call__(
            self,
            rl_module=rl_module,
            batch=batch if batch is not None else {},
            episodes=episodes,
            explore=explore,
            shared_data=shared_data,
            metrics=metrics,
            **kwargs,
        )


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


def _clip(x: np.ndarray, low, high) -> np.ndarray:
    """``np.clip(x, low, high)`` value for value (NaN included), in two ufunc calls without
    ``np.clip``'s Python wrapper (on the EnvRunner's per-step path)."""
    return np.minimum(np.maximum(x, low), high)


def _push_batch(stat: RunningStat, x: np.ndarray) -> None:
    """``stat.push(row)`` for every row of ``x``, as one update (Chan et al.'s parallel Welford).

    The result equals the sequential pushes up to rounding, delta fields included
    (``rllib_private.set_running_stat_moments`` moves them as RLlib's ``push`` does).
    """
    k = x.shape[0]
    n0, mean, m2 = running_stat_moments(stat)
    batch_mean = x.sum(axis=0) / k
    centered = x - batch_mean
    batch_m2 = (centered * centered).sum(axis=0)
    n = n0 + k
    if n0 == 0:
        new_mean = batch_mean
        new_m2 = batch_m2
    else:
        delta = batch_mean - mean
        new_mean = mean + delta * (k / n)
        new_m2 = m2 + batch_m2 + delta * delta * (n0 * k / n)
    set_running_stat_moments(stat, n, new_mean, new_m2)


class MeanStdFilter(RLlibMeanStdFilter):
    """RLlib's ``MeanStdFilter`` updating and normalising all k observations of a step at once.

    Single-agent Box observations only; anything else (Dict/Tuple spaces, multi-agent) runs
    RLlib's per-observation code. State, merging across EnvRunners and freezing
    (``update_stats``) are RLlib's. The k observations of a step are all pushed before any is
    normalised (RLlib normalises each right after pushing it), the one difference.
    """

    @override(RLlibMeanStdFilter)
    def __call__(self, *, rl_module, batch, episodes, explore=None, persistent_data=None, **kwargs) -> Any:
        obs_filter = single_agent_observation_filter(self)
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
        if filter_updates_stats(self):
            # RLlib also pushes to ``obs_filter.buffer``, which nothing reads on the new API stack
            # (state, merging and checkpoints use ``running_stats``): left out.
            _push_batch(stats, obs.astype(np.float64, copy=False))
        normalized = obs
        if obs_filter.demean:
            normalized = normalized - stats.mean
        if obs_filter.destd:
            normalized = normalized / (stats.std + _SMALL_NUMBER)
        if obs_filter.clip:
            normalized = _clip(normalized, -obs_filter.clip, obs_filter.clip)
        normalized = normalized.astype(obs.dtype, copy=False)
        space = self.observation_space
        for episode, row in zip(sa_episodes, normalized):
            episode.set_observations(at_indices=-1, new_data=row)
            if episode.observation_space is not space:
                episode.observation_space = space
        return batch


class StackedObservations(ConnectorV2):
    """RLlib's default env-to-module pieces for a stateless single-agent module, in one call.

    ``AddObservationsFromEpisodesToBatch``, ``AddTimeDimToBatchAndZeroPad``,
    ``AddStatesFromEpisodesToBatch``, ``BatchIndividualItems`` and ``NumpyToTensor`` give such a
    module one tensor of the episodes' last observations, row i from episode i, float64 made
    float32; this stacks them directly. A batch that already has observations is left alone
    (as RLlib's piece does).
    """

    def __init__(self, input_observation_space=None, input_action_space=None, *, device=None, **kwargs):
        super().__init__(input_observation_space, input_action_space, **kwargs)
        self.device = torch.device(device) if device is not None else torch.device("cpu")

    @override(ConnectorV2)
    def __call__(self, *, rl_module, batch, episodes, **kwargs) -> Any:
        if Columns.OBS in batch:
            return batch
        _check_stateless(rl_module, self)
        rows = [episode.get_observations(-1) for episode in episodes]
        # float64 made float32 while stacking (torch's .float(), the same values), one op fewer.
        observations = torch.from_numpy(np.stack(rows, dtype=np.float32 if rows[0].dtype == np.float64 else None))
        if self.device.type != "cpu":
            observations = observations.to(self.device)
        batch[Columns.OBS] = observations
        return batch


class BatchedNormalizeAndClipActions(ConnectorV2):
    """``NormalizeAndClipActions`` for a Box action space on the batched actions.

    Writes ``ACTIONS_FOR_ENV`` as RLlib's piece does: unsquashed from [-1, 1] to the space's
    bounds and clipped (``normalize_actions``; bounded float Boxes; integer Boxes are shifted by
    ``low``), or clipped to the bounds (``clip_actions``).
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
        self._bounds_of: gym.Space | None = None  # the action space _cached_bounds were worked out for
        self._cached_bounds = None

    @override(ConnectorV2)
    def __call__(self, *, rl_module, batch, episodes, explore=None, shared_data=None, **kwargs) -> Any:
        if not (self.normalize_actions or self.clip_actions) or Columns.ACTIONS not in batch:
            return batch
        bounds = self._bounds()
        if bounds is None:
            return batch
        low, high, width, mode = bounds
        actions = np.asarray(batch[Columns.ACTIONS])
        if mode == "unsquash":
            actions = _clip(low + (actions + 1.0) * width / 2.0, low, high)
        elif mode == "shift":
            actions = low + actions
        elif mode == "clip":
            actions = _clip(actions, low, high)
        else:
            actions = actions.copy()
        batch[Columns.ACTIONS_FOR_ENV] = actions
        return batch

    def _bounds(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, str] | None:
        """The action space's ``low``, ``high``, ``high - low`` and what to do with an action
        (``unsquash``, ``shift``, ``clip`` or ``copy``), worked out once per space; None for a
        space other than a Box."""
        space = self.action_space
        if self._bounds_of is not space:
            self._bounds_of, self._cached_bounds = space, None
            if isinstance(space, gym.spaces.Box):
                mode = "clip"
                if self.normalize_actions:
                    mode = "copy"
                    if np.all(space.bounded_below) and np.all(space.bounded_above):
                        if space.dtype in (np.float32, np.float64):
                            mode = "unsquash"
                        elif np.issubdtype(space.dtype, np.integer):
                            mode = "shift"
                self._cached_bounds = (space.low, space.high, space.high - space.low, mode)
        return self._cached_bounds


class ActionsForVectorEnv(BatchedNormalizeAndClipActions):
    """RLlib's default module-to-env pieces after ``GetActions`` for a stateless single-agent
    module, in one call.

    ``TensorToNumpy`` (float64 made float32, int64 int32, 0-d tensors Python numbers),
    ``UnBatchToIndividualItems``, ``RemoveSingleTsTimeRankFromBatch``,
    ``NormalizeAndClipActions`` and ``ListifyDataForVectorEnv`` end with the actions, batched,
    for the vector env and every other column split into per-env items, which the EnvRunner
    then reads as ``column[i]`` for env i. Here every column stays one array with a row per env
    (``column[i]`` is the same item) and the actions for the env are normalised and clipped as
    one array (a Box action space; other spaces step on the actions themselves).
    """

    def __init__(
        self, input_observation_space=None, input_action_space=None, *, normalize_actions, clip_actions, **kwargs
    ):
        # Defined here, not only inherited: ConnectorV2 records the constructor arguments a
        # checkpoint restores the piece with from the __init__ of the piece's own class.
        super().__init__(
            input_observation_space,
            input_action_space,
            normalize_actions=normalize_actions,
            clip_actions=clip_actions,
            **kwargs,
        )

    @override(ConnectorV2)
    def __call__(self, *, rl_module, batch, episodes, **kwargs) -> Any:
        _check_stateless(rl_module, self)
        batch = {column: _to_numpy(value) for column, value in batch.items()}
        return super().__call__(rl_module=rl_module, batch=batch, episodes=episodes, **kwargs)


def _to_numpy(value: Any) -> Any:
    """RLlib's ``convert_to_numpy`` for one column (a tensor, else any structure)."""
    if not isinstance(value, torch.Tensor):
        return convert_to_numpy(value)
    if value.dim() == 0:
        return value.item()
    array = value.detach().cpu().numpy()
    if array.dtype.kind == "f":  # np.issubdtype(dtype, np.floating), without its Python overhead
        return array.astype(np.float32, copy=False)
    if np.issubdtype(array.dtype, int):
        return array.astype(np.int32, copy=False)
    return array


def _check_stateless(rl_module, piece: ConnectorV2) -> None:
    if rl_module is not None and rl_module.is_stateful():
        raise ValueError(
            f"{type(piece).__name__} batches one step of a stateless module; {type(rl_module).__name__} is "
            "stateful: build the pipelines without rllib_safe.speed.sampling_connectors.fused_default_pieces."
        )


def fused_default_pieces(pipeline: ConnectorPipelineV2, *, multi_agent: bool, device=None) -> ConnectorPipelineV2:
    """RLlib's default single-agent EnvRunner pipeline with its default pieces fused.

    Env-to-module: the default pieces after any prepended ones (the observation filter) become
    :class:`StackedObservations`. Module-to-env: the pieces after ``GetActions`` become
    :class:`ActionsForVectorEnv`. Only where the pipeline holds exactly RLlib's default
    sequence (no custom piece in between), for one agent with Box observations; any other
    pipeline is returned unchanged. The fused pieces refuse a stateful module.
    """
    from ray.rllib.connectors.common import (
        AddObservationsFromEpisodesToBatch,
        AddStatesFromEpisodesToBatch,
        AddTimeDimToBatchAndZeroPad,
        BatchIndividualItems,
        NumpyToTensor,
    )
    from ray.rllib.connectors.module_to_env import (
        GetActions,
        ListifyDataForVectorEnv,
        NormalizeAndClipActions,
        RemoveSingleTsTimeRankFromBatch,
        TensorToNumpy,
        UnBatchToIndividualItems,
    )

    if multi_agent:
        return pipeline
    pieces = [type(piece) for piece in pipeline.connectors]
    if isinstance(pipeline, EnvToModulePipeline):
        default = [
            AddObservationsFromEpisodesToBatch,
            AddTimeDimToBatchAndZeroPad,
            AddStatesFromEpisodesToBatch,
            BatchIndividualItems,
            NumpyToTensor,
        ]
        if pieces[-len(default) :] != default or not isinstance(pipeline.observation_space, gym.spaces.Box):
            return pipeline
        kept = pipeline.connectors[: -len(default)]
        fused = StackedObservations(device=device)
    elif isinstance(pipeline, ModuleToEnvPipeline):
        default = [
            GetActions,
            TensorToNumpy,
            UnBatchToIndividualItems,
            RemoveSingleTsTimeRankFromBatch,
            NormalizeAndClipActions,
            ListifyDataForVectorEnv,
        ]
        if pieces != default:
            return pipeline
        rllib_normalisation = pipeline.connectors[pieces.index(NormalizeAndClipActions)]
        kept = pipeline.connectors[:1]
        fused = ActionsForVectorEnv(
            normalize_actions=rllib_normalisation.normalize_actions, clip_actions=rllib_normalisation.clip_actions
        )
    else:
        return pipeline
    return type(pipeline)(
        input_observation_space=pipeline.input_observation_space,
        input_action_space=pipeline.input_action_space,
        connectors=[*kept, fused],
    )
