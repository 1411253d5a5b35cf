"""Every function of rllib_safe.rllib_private against the pinned RLlib: an upgrade that moves a
private name fails here first, with the function's name in the test."""

from __future__ import annotations

import numpy as np
import pytest
from ray.rllib.connectors.env_to_module import MeanStdFilter
from ray.rllib.core.columns import Columns
from ray.rllib.core.learner.training_data import TrainingData

from rllib_safe import rllib_private
from rllib_safe.algorithms import default_config
from rllib_safe.envs import register_envs
from rllib_safe.runs.run_dir import find_checkpoint
from tests.algorithms.learning import small_problem_config


def test_registered_env_lookup():
    register_envs()
    assert rllib_private.is_registered_env("BudgetEnv")
    assert not rllib_private.is_registered_env("NoSuchEnv-v0")
    env = rllib_private.registered_env_creator("BudgetEnv")({"horizon": 3})
    assert env.reset(seed=0)[0].shape == env.observation_space.shape


def test_freeze_mean_std_filter_sets_rllibs_own_flag():
    """The flag RLlib reads is still called ``_update_stats`` (the freezing itself: evaluation tests)."""
    piece = MeanStdFilter(multi_agent=False)  # as SafePPOConfig builds it
    assert piece._update_stats is True
    rllib_private.freeze_mean_std_filter(piece)
    assert piece._update_stats is False


def test_trainable_default_logdir_is_tunes_module_value(tmp_path):
    from ray.tune.trainable import trainable

    before = trainable.DEFAULT_STORAGE_PATH
    with rllib_private.trainable_default_logdir(tmp_path / "logs"):
        assert trainable.DEFAULT_STORAGE_PATH == str((tmp_path / "logs").resolve())
    assert trainable.DEFAULT_STORAGE_PATH == before


@pytest.fixture(scope="module")
def algo(ray_session):
    config = small_problem_config(default_config("ppo-lag")).training(
        train_batch_size_per_learner=200, minibatch_size=100, num_epochs=1
    )
    algorithm = config.build_algo()
    yield algorithm
    algorithm.stop()


@pytest.mark.slow
def test_sampling_state_components_and_learner_internals(algo):
    episodes, metrics = rllib_private.sample_episodes(algo)
    assert sum(len(episode) for episode in episodes) >= algo.config.total_train_batch_size and metrics

    assert rllib_private.wants_component(algo, "episode_cost_window", None, None)
    assert not rllib_private.wants_component(algo, "episode_cost_window", ["learner_group"], None)

    learner = algo.config.build_learner(env=algo.env_runner.env)
    assert rllib_private.learner_connector(learner) is not None
    batch = rllib_private.learner_train_batch(learner, TrainingData(episodes=episodes))
    module_batch = batch.policy_batches["default_policy"]
    output = rllib_private.forward_train(learner.module["default_policy"], dict(module_batch))
    assert output[Columns.ACTION_DIST_INPUTS].shape[0] == len(module_batch)


@pytest.mark.slow
def test_checkpoint_config_dict_reads_the_saved_config(algo, tmp_path):
    algo.save_to_path(str(tmp_path))
    config = rllib_private.checkpoint_config_dict(find_checkpoint(tmp_path))
    assert config["env"] == "BudgetEnv" and np.isclose(config["cost_limit"], algo.config.cost_limit)


def test_split_arrays_per_env_directly_keeps_rllibs_rows():
    from ray.rllib.env import single_agent_env_runner
    from ray.rllib.utils.spaces.space_utils import unbatch as rllib_unbatch

    rllib_private.split_arrays_per_env_directly()
    rllib_private.split_arrays_per_env_directly()  # idempotent: one wrapper, not two
    ours = single_agent_env_runner.unbatch
    assert ours.splits_arrays_directly and ours is not rllib_unbatch
    for batch in (np.arange(24.0).reshape(8, 3), np.arange(5), np.zeros((4, 2, 2), np.float32)):
        rows = ours(batch)
        expected = rllib_unbatch(batch)
        assert len(rows) == len(expected) == len(batch)
        for row, want in zip(rows, expected):
            assert type(row) is type(want)
            np.testing.assert_array_equal(row, want)
    nested = {"a": np.arange(4).reshape(2, 2), "b": (np.ones(2), np.zeros(2))}
    assert [str(row) for row in ours(nested)] == [str(row) for row in rllib_unbatch(nested)]
