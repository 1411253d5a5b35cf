"""The EnvRunners' batched connector pieces: RLlib's results and state, one call per vector step."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from ray.rllib.connectors.connector_pipeline_v2 import ConnectorPipelineV2
from ray.rllib.connectors.connector_v2 import ConnectorV2
from ray.rllib.connectors.env_to_module import MeanStdFilter as RLlibMeanStdFilter
from ray.rllib.connectors.module_to_env import GetActions, NormalizeAndClipActions, TensorToNumpy
from ray.rllib.core.columns import Columns
from ray.rllib.env.single_agent_episode import SingleAgentEpisode
from ray.rllib.utils.filter import RunningStat
from ray.rllib.utils.spaces.space_utils import clip_action, unsquash_action

from rllib_safe.algorithms import default_config
from rllib_safe.envs.known_optimum import BudgetEnv
from rllib_safe.runs.evaluation import freeze_observation_filters
from rllib_safe.speed.sampling_connectors import (
    ActionsForVectorEnv,
    BatchedNormalizeAndClipActions,
    MeanStdFilter,
    StackedObservations,
    TimedEnvToModulePipeline,
    TimedModuleToEnvPipeline,
    _push_batch,
    fused_default_pieces,
)
from tests.local_env_runner import local_env_runner

OBS_SPACE = gym.spaces.Box(-np.inf, np.inf, shape=(3,), dtype=np.float32)
STAT_FIELDS = (
    "num_pushes",
    "num_pushes_delta",
    "mean_array",
    "mean_delta_array",
    "sum_sq_diff_array",
    "sum_sq_diff_delta_array",
)


def assert_same_stats(a: RunningStat, b: RunningStat) -> None:
    for field in STAT_FIELDS:
        np.testing.assert_allclose(getattr(a, field), getattr(b, field), rtol=1e-10, atol=1e-10, err_msg=field)


@pytest.mark.parametrize("pushed_before", [0, 1, 7])
def test_batched_push_equals_rllibs_pushes(pushed_before):
    rng = np.random.default_rng(pushed_before)
    sequential, batched = RunningStat((3,)), RunningStat((3,))
    for x in rng.normal(2.0, 3.0, (pushed_before, 3)):
        sequential.push(x)
        batched.push(x)
    for _ in range(4):
        rows = rng.normal(-1.0, 2.0, (5, 3))
        for x in rows:
            sequential.push(x)
        _push_batch(batched, rows)
    assert_same_stats(batched, sequential)


def episodes_at(observations):
    episodes = []
    for obs in observations:
        episode = SingleAgentEpisode(observation_space=OBS_SPACE)
        episode.add_env_reset(observation=obs.astype(np.float32))
        episodes.append(episode)
    return episodes


def run_filter(piece, observations):
    episodes = episodes_at(observations)
    piece(rl_module=None, batch={}, episodes=episodes)
    return np.stack([episode.get_observations(-1) for episode in episodes])


def with_space(piece):
    piece.input_observation_space = (
        OBS_SPACE  # as a pipeline sets it (RLlib's filter takes no space in its constructor)
    )
    return piece


def filters(**kwargs):
    return with_space(MeanStdFilter(**kwargs)), with_space(RLlibMeanStdFilter(**kwargs))


def test_filter_keeps_rllibs_statistics_and_normalises_with_them():
    ours, rllib = filters()
    rng = np.random.default_rng(0)
    for _ in range(6):
        observations = rng.normal(3.0, 2.0, (4, 3))
        normalised = run_filter(ours, observations)
        run_filter(rllib, observations)
        stats = ours._filters[None].running_stats
        expected = np.clip((observations - stats.mean) / (stats.std + 1e-8), -10, 10).astype(np.float32)
        np.testing.assert_allclose(normalised, expected, rtol=1e-5, atol=1e-6)
    assert_same_stats(ours._filters[None].running_stats, rllib._filters[None].running_stats)
    assert type(ours).__name__ == "MeanStdFilter"  # the state key in pipelines and checkpoints


def test_filter_state_moves_between_rllibs_and_ours_and_merges_alike():
    rng = np.random.default_rng(1)
    runners = [filters(), filters()]
    for ours, rllib in runners:
        observations = rng.normal(0.0, 1.0, (8, 3))
        run_filter(ours, observations)
        run_filter(rllib, observations)
    merged_ours = with_space(MeanStdFilter()).merge_states([o.get_state() for o, _ in runners])
    merged_rllib = with_space(RLlibMeanStdFilter()).merge_states([r.get_state() for _, r in runners])
    for a, b in zip(merged_ours[None]["running_stats"], merged_rllib[None]["running_stats"]):
        assert_same_stats(RunningStat.from_state(a), RunningStat.from_state(b))
    restored = with_space(MeanStdFilter())
    restored.set_state(runners[0][1].get_state())  # an RLlib filter's state (checkpoints before this change)
    assert_same_stats(restored._filters[None].running_stats, runners[0][1]._filters[None].running_stats)


def test_frozen_filter_does_not_update():
    ours, _ = filters()
    run_filter(ours, np.random.default_rng(2).normal(0.0, 1.0, (4, 3)))
    pipeline = ConnectorPipelineV2(connectors=[ours])
    freeze_observation_filters(pipeline)
    before = ours.get_state()
    run_filter(ours, np.full((4, 3), 100.0))
    assert ours.get_state()[None]["running_stats"] == before[None]["running_stats"]


BOXES = {
    "bounded": gym.spaces.Box(np.array([-2.0, 0.0]), np.array([-0.5, 4.0]), dtype=np.float32),
    "unbounded": gym.spaces.Box(-np.inf, np.inf, shape=(2,), dtype=np.float32),
    "integer": gym.spaces.Box(-3, 3, shape=(2,), dtype=np.int64),
}


@pytest.mark.parametrize("box", sorted(BOXES))
@pytest.mark.parametrize("normalize_actions,clip_actions", [(True, False), (False, True), (False, False)])
def test_batched_actions_match_rllibs_per_item_normalisation(box, normalize_actions, clip_actions):
    space = BOXES[box]
    actions = np.random.default_rng(3).normal(0.0, 2.0, (5, 2)).astype(np.float32)
    if box == "integer":
        actions = np.round(actions).astype(np.int64)
    piece = BatchedNormalizeAndClipActions(
        input_action_space=space, normalize_actions=normalize_actions, clip_actions=clip_actions
    )
    batch = piece(rl_module=None, batch={Columns.ACTIONS: actions.copy()}, episodes=[])
    np.testing.assert_array_equal(batch[Columns.ACTIONS], actions)  # the sampled actions stay as they were
    if not (normalize_actions or clip_actions):
        assert Columns.ACTIONS_FOR_ENV not in batch
        return
    per_item = unsquash_action if normalize_actions else clip_action
    expected = np.stack([per_item(a, space) for a in actions])
    np.testing.assert_allclose(batch[Columns.ACTIONS_FOR_ENV], expected, rtol=1e-6)
    assert batch[Columns.ACTIONS_FOR_ENV].dtype == expected.dtype


def test_env_runner_pipelines_are_timed_as_a_whole_and_batched():
    env_runner = local_env_runner("ContractBudgetEnv")
    assert type(env_runner._env_to_module) is TimedEnvToModulePipeline
    assert type(env_runner._module_to_env) is TimedModuleToEnvPipeline
    assert [type(piece) for piece in env_runner._env_to_module.connectors] == [MeanStdFilter, StackedObservations]
    assert [type(piece) for piece in env_runner._module_to_env.connectors] == [GetActions, ActionsForVectorEnv]
    episodes = env_runner.sample(num_timesteps=200)
    metrics = env_runner.get_metrics()
    for pipeline in ("env_to_module_connector", "module_to_env_connector"):
        assert "connector_pipeline_timer" in metrics[pipeline]
        assert "timers" not in metrics[pipeline]  # no per-piece timers
    # MeanStdFilter saw every observation (the 4 resets and 200 steps).
    running_stats = env_runner.get_state()["env_to_module_connector"]["MeanStdFilter"][None]["running_stats"]
    assert running_stats[0]["num_pushes"] >= 204
    for episode in episodes:  # BudgetEnv: reward = cost = unsquashed action in [0, 1]
        actions = np.clip(np.asarray(episode.get_actions()).reshape(-1), -1, 1)
        np.testing.assert_allclose(episode.get_rewards(), (actions + 1) / 2, rtol=1e-5, atol=1e-6)


def test_pipelines_restore_from_a_checkpoint(tmp_path):
    env_runner = local_env_runner("ContractBudgetEnv")
    env_runner.sample(num_timesteps=100)
    env_runner._env_to_module.save_to_path(
        tmp_path / "e2m", state=env_runner._env_to_module.get_state()
    )  # as the EnvRunner saves it
    restored = ConnectorPipelineV2.from_checkpoint(str(tmp_path / "e2m"))
    assert type(restored) is TimedEnvToModulePipeline and type(restored.connectors[0]) is MeanStdFilter
    assert restored.get_state() == env_runner._env_to_module.get_state()
    env_runner._module_to_env.save_to_path(tmp_path / "m2e", state=env_runner._module_to_env.get_state())
    restored = ConnectorPipelineV2.from_checkpoint(str(tmp_path / "m2e")).connectors[-1]
    assert type(restored) is ActionsForVectorEnv
    assert (restored.normalize_actions, restored.clip_actions) == (True, False)


@pytest.mark.parametrize("normalize_observations", [True, False])
def test_fused_pipelines_sample_what_rllibs_default_pieces_sample(monkeypatch, normalize_observations):
    """Same seed, same episodes: observations, actions, their log-probabilities and
    distribution inputs, rewards, step for step, with RLlib's default pieces or the fused ones."""
    import torch

    from rllib_safe.algorithms.safe_ppo import pipelines

    def sample(env_runner):
        torch.manual_seed(0)
        return env_runner.sample(num_timesteps=120) + env_runner.sample(num_timesteps=120)

    fused = sample(local_env_runner("ContractBudgetEnv", normalize_observations=normalize_observations))
    monkeypatch.setattr(pipelines, "fused_default_pieces", lambda pipeline, **_: pipeline)
    rllib_runner = local_env_runner("ContractBudgetEnv", normalize_observations=normalize_observations)
    assert NormalizeAndClipActions in [type(piece) for piece in rllib_runner._module_to_env.connectors]
    rllib = sample(rllib_runner)
    assert [len(e) for e in fused] == [len(e) for e in rllib]
    for ours, theirs in zip(fused, rllib):
        np.testing.assert_array_equal(ours.get_observations(), theirs.get_observations())
        np.testing.assert_array_equal(ours.get_actions(), theirs.get_actions())
        np.testing.assert_array_equal(ours.get_rewards(), theirs.get_rewards())
        for column in (Columns.ACTION_LOGP, Columns.ACTION_DIST_INPUTS):
            np.testing.assert_array_equal(
                ours.get_extra_model_outputs(column), theirs.get_extra_model_outputs(column), err_msg=column
            )
            assert ours.get_extra_model_outputs(column).dtype == theirs.get_extra_model_outputs(column).dtype


def test_fused_actions_convert_like_rllibs_tensor_to_numpy():
    import torch

    batch = {
        Columns.ACTIONS: torch.tensor([[0.5], [-3.0]], dtype=torch.float64),
        "counts": torch.tensor([1, 2], dtype=torch.int64),
        "scalar": torch.tensor(1.5),
    }
    space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
    ours = ActionsForVectorEnv(input_action_space=space, normalize_actions=False, clip_actions=True)(
        rl_module=None, batch=dict(batch), episodes=[]
    )
    theirs = TensorToNumpy()(rl_module=None, batch=dict(batch), episodes=[])
    for column, value in theirs.items():
        assert type(ours[column]) is type(value)
        if isinstance(value, np.ndarray):
            assert ours[column].dtype == value.dtype, column
        np.testing.assert_array_equal(ours[column], value)
    np.testing.assert_array_equal(ours[Columns.ACTIONS_FOR_ENV], [[0.5], [-1.0]])


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16, np.int32])
def test_stacked_observations_convert_like_rllibs_numpy_to_tensor(dtype):
    """float64 observations become float32 (NumpyToTensor's ``.float()``), other dtypes stay."""
    import torch

    rows = np.random.default_rng(0).normal(0.0, 3.0, (3, 4)).astype(dtype)
    episodes = []
    for row in rows:
        episode = SingleAgentEpisode()
        episode.add_env_reset(observation=row)
        episodes.append(episode)
    stacked = StackedObservations()(rl_module=None, batch={}, episodes=episodes)[Columns.OBS]
    expected = torch.from_numpy(rows.copy())
    if expected.is_floating_point() and expected.dtype != torch.float16:
        expected = expected.float()
    assert stacked.dtype == expected.dtype
    assert torch.equal(stacked, expected)


def test_fused_pieces_refuse_a_stateful_module():
    class Stateful:
        def is_stateful(self):
            return True

    episodes = episodes_at(np.zeros((2, 3)))
    for piece in (StackedObservations(), ActionsForVectorEnv(normalize_actions=False, clip_actions=False)):
        with pytest.raises(ValueError, match="stateful"):
            piece(rl_module=Stateful(), batch={Columns.ACTIONS: np.zeros((2, 1))}, episodes=episodes)


def test_pipelines_with_a_custom_piece_keep_rllibs_pieces():
    class Custom(ConnectorV2):
        def __call__(self, *, batch, **kwargs):
            return batch

    config = (
        default_config("ppo-lag")
        .environment("ContractBudgetEnv")
        .env_runners(module_to_env_connector=lambda *a: Custom())
    )
    pipeline = config.build_module_to_env_connector(env=BudgetEnv({}))
    assert Custom in [type(piece) for piece in pipeline.connectors]
    assert ActionsForVectorEnv not in [type(piece) for piece in pipeline.connectors]
    assert fused_default_pieces(pipeline, multi_agent=True) is pipeline
