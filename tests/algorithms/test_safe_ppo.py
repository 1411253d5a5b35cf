"""The shared cost pipeline: cost columns, J_c plumbing, validation, checkpoints."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from ray.rllib.core.columns import Columns

from rllib_safe.algorithms import default_config
from rllib_safe.algorithms.safe_ppo.resources import learner_gpu_fallback
from rllib_safe.connectors.columns import COST_ADVANTAGES, COST_SO_FAR, COST_VALUE_TARGETS, COSTS
from tests.algorithms.learning import HORIZON, small_problem_config


def on_learners(algo, func) -> list:
    """``func(learner)`` on every learner, as plain values."""
    return [result.get() for result in algo.learner_group.foreach_learner(func)]


def learner_batch(algo, num_timesteps: int) -> dict:
    """Samples episodes on the local EnvRunner and runs the learner connector pipeline."""
    episodes = algo.env_runner.sample(num_timesteps=num_timesteps, random_actions=True)
    learner = algo.learner_group._learner
    batch = learner._learner_connector(
        rl_module=learner.module, batch={}, episodes=episodes, shared_data={}, metrics=learner.metrics
    )
    return {k: np.asarray(v.detach().cpu()) for k, v in batch["default_policy"].items() if hasattr(v, "detach")}


@pytest.fixture(scope="module")
def chunked_algo(ray_session):
    # rollout_fragment_length 7 < horizon 20: episodes arrive in chunks that continue earlier ones.
    config = small_problem_config(default_config("ppo")).env_runners(
        rollout_fragment_length=7, num_envs_per_env_runner=1
    )
    algo = config.build_algo()
    yield algo
    algo.stop()


def test_costs_are_aligned_with_actions_across_chunks(chunked_algo):
    # BudgetEnv charges exactly the reward as cost, so the two columns must coincide row by row,
    # phantom bootstrap rows (reward 0, cost 0) included.
    batch = learner_batch(chunked_algo, num_timesteps=70)
    np.testing.assert_allclose(batch[COSTS], batch[Columns.REWARDS], atol=1e-6)
    assert batch[COSTS][batch[Columns.LOSS_MASK]].max() > 0


def test_cost_so_far_continues_across_chunks(chunked_algo):
    # BudgetEnv observes the cost spent before the step: obs[1] * horizon == C_t.
    batch = learner_batch(chunked_algo, num_timesteps=70)
    mask = batch[Columns.LOSS_MASK]
    expected = batch[Columns.OBS][:, 1] * HORIZON
    np.testing.assert_allclose(batch[COST_SO_FAR][mask], expected[mask], atol=1e-4)
    assert (batch[COST_SO_FAR][mask] > 0).any(), "continuation chunks must start from the spent cost"


def test_cost_gae_columns_are_present_and_finite(chunked_algo):
    batch = learner_batch(chunked_algo, num_timesteps=70)
    for column in (COST_ADVANTAGES, COST_VALUE_TARGETS):
        assert batch[column].shape == batch[COSTS].shape
        assert np.isfinite(batch[column]).all()
    # "center" normalisation over the real steps (phantom rows excluded): zero mean, scale kept.
    assert abs(batch[COST_ADVANTAGES][batch[Columns.LOSS_MASK]].mean()) < 1e-4


def test_measured_episode_cost_reaches_the_learners(ray_session):
    algo = small_problem_config(default_config("ppo")).build_algo()
    try:
        result = algo.train()
        seen_by_learner = on_learners(algo, lambda learner: learner.episode_cost)
    finally:
        algo.stop()
    measured = result["env_runners"]["episode_cost_mean"]
    assert measured > 0
    assert seen_by_learner == [pytest.approx(measured)]
    for key in ("cost_rate", "episodes_over_limit_fraction"):
        assert key in result["env_runners"]
    assert "cost_vf_loss" in result["learners"]["default_policy"]


@pytest.mark.parametrize(
    ("setting", "value", "field"),
    [
        ({"cost_limit": -1.0}, -1.0, "cost_limit"),
        ({"cost_gamma": 0.0}, 0.0, "cost_gamma"),
        ({"cost_lambda": 1.5}, 1.5, "cost_lambda"),
        ({"cost_advantage_normalization": "zscore"}, "zscore", "cost_advantage_normalization"),
        ({"lagrangian_multiplier_lr": 0.0}, 0.0, "lagrangian_multiplier_lr"),
        ({"steering_cost_env_steps": 0}, 0, "steering_cost_env_steps"),
        ({"steering_cost_env_steps": 2.5e4}, 2.5e4, "steering_cost_env_steps"),
        ({"steering_cost_min_episodes": 0}, 0, "steering_cost_min_episodes"),
    ],
)
def test_invalid_settings_name_the_field_and_value(setting, value, field):
    config = default_config("ppo-lag").environment("CartPole-v1").training(**setting)
    with pytest.raises(ValueError, match=rf"`{field}` = {value!r}"):
        config.validate()


def test_gpu_learner_without_gpu_is_a_clear_error_unless_fallback_allowed(caplog):
    config = default_config("ppo").environment("CartPole-v1").learners(num_gpus_per_learner=1)
    with pytest.raises(ValueError, match="allow_gpu_fallback"):
        config.validate()
    config.training(allow_gpu_fallback=True).validate()
    assert config.num_gpus_per_learner == 1  # validate() only checks
    with caplog.at_level(logging.WARNING, logger="rllib_safe.algorithms.safe_ppo.resources"):
        fallen_back = learner_gpu_fallback(config)
    assert fallen_back.num_gpus_per_learner == 0 and config.num_gpus_per_learner == 1
    assert "falling back to CPU learners" in caplog.text
    as_dict = learner_gpu_fallback(config.to_dict())  # as Tune passes it to the algorithm
    assert as_dict["num_gpus_per_learner"] == 0
    assert learner_gpu_fallback(config.training(allow_gpu_fallback=False)) is config


def test_the_config_builder_falls_back_to_cpu_learners():
    from rllib_safe.runs.config import build_config

    config = build_config("ppo", "CartPole-v1", {"num_gpus_per_learner": 1, "allow_gpu_fallback": True})
    assert config.num_gpus_per_learner == 0


def test_lagrange_multiplier_follows_the_constraint(ray_session):
    # Random BudgetEnv policy spends ~10 per episode: above a limit of 5, far below 100.
    multipliers = {}
    for limit in (5.0, 100.0):
        config = small_problem_config(default_config("ppo-lag")).training(
            cost_limit=limit, lagrangian_multiplier_init=0.5
        )
        algo = config.build_algo()
        try:
            result = algo.train()
        finally:
            algo.stop()
        multipliers[limit] = result["learners"]["lagrangian_multiplier"]
    assert multipliers[5.0] > 0.5 > multipliers[100.0]


def test_checkpoint_restores_learner_state(ray_session, tmp_path):
    config = small_problem_config(default_config("ppo-lag"))
    algo = config.build_algo()
    try:
        algo.train()
        algo.train()
        algo.save_to_path(str(tmp_path))
        saved = on_learners(algo, lambda learner: learner.safety_state())[0]
        weights = algo.learner_group.get_weights()["default_policy"]
    finally:
        algo.stop()
    restored_algo = type(algo).from_checkpoint(str(tmp_path))
    try:
        restored = on_learners(restored_algo, lambda learner: learner.safety_state())[0]
        restored_weights = restored_algo.learner_group.get_weights()["default_policy"]
        assert restored == saved
        assert restored["lagrange"]["value"] > 0
        for name, tensor in weights.items():
            np.testing.assert_array_equal(np.asarray(restored_weights[name]), np.asarray(tensor))
        restored_algo.train()  # training goes on from the restored state
    finally:
        restored_algo.stop()


def test_a_python_user_is_warned_before_env_runners_wait_for_cpus_the_cluster_lacks(ray_session, caplog):
    """``build_algo()`` on a small ``ray.init`` would wait for the missing CPUs without a word."""
    from rllib_safe.algorithms.safe_ppo.resources import warn_if_ray_lacks_cpus

    too_many = default_config("ppo-lag").env_runners(num_env_runners=3).learners(num_learners=1)
    with caplog.at_level(logging.WARNING, logger="rllib_safe.algorithms.safe_ppo.resources"):
        warn_if_ray_lacks_cpus(too_many)
        warn_if_ray_lacks_cpus(default_config("ppo-lag").env_runners(num_env_runners=2))  # fits the 2 CPUs
    assert len(caplog.records) == 1
    message = caplog.records[0].getMessage()
    assert "`num_env_runners` = 3 (1 CPU each) and `num_learners` = 1 (1 CPU each) need 4 CPUs" in message
    assert "the Ray cluster has 2" in message and "num_env_runners <= 1" in message


@pytest.mark.parametrize(
    ("settings", "cpus", "needed", "fitting"),
    [
        ({"num_env_runners": 3, "num_cpus_per_env_runner": 0.5}, 1.0, 1.5, 2),
        ({"num_env_runners": 2, "num_learners": 2}, 3.0, 4.0, 1),
        ({"num_env_runners": 1, "num_learners": 2, "num_gpus_per_learner": 1}, 0.5, 1.0, 0),  # GPU learners: 0 CPU
    ],
)
def test_cpu_shortfall_counts_env_runner_and_learner_cpus(settings, cpus, needed, fitting):
    from rllib_safe.algorithms.validation import cpu_shortfall

    config = default_config("ppo-lag")
    config.num_env_runners = settings["num_env_runners"]
    config.num_cpus_per_env_runner = settings.get("num_cpus_per_env_runner", 1)
    config.num_learners = settings.get("num_learners", 0)
    config.num_gpus_per_learner = settings.get("num_gpus_per_learner", 0)
    shortfall = cpu_shortfall(config, cpus)
    assert (shortfall.needed, shortfall.available, shortfall.fitting_env_runners) == (needed, cpus, fitting)
    assert cpu_shortfall(config, needed) is None  # exactly enough fits
