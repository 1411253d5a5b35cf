"""The fast update path (rllib_safe.speed.update): RLlib's weights and metrics, target-KL early stopping."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from ray.rllib.utils.metrics import ALL_MODULES
from ray.rllib.utils.metrics.metrics_logger import MetricsLogger

from rllib_safe.algorithms import default_config
from rllib_safe.core import flatten_params
from rllib_safe.speed import update as fast_update
from rllib_safe.speed.update import DeferredMetrics
from tests.algorithms.learning import small_problem_config

# --------------------------------------------------------------------------- deferred metrics


def log_stream(logger, values):
    for i, value in enumerate(values):
        logger.log_value("last", value, window=1)
        logger.log_value("last3", value, window=3)
        logger.log_value(("nested", "mean"), value, reduce="mean")
        logger.log_value("sum", value, reduce="sum", with_throughput=True)
        logger.log_value("lifetime", i, reduce="lifetime_sum")
        logger.log_value("ema", value)
        logger.log_value("max", value, reduce="max")
        logger.log_dict({"a": value, "b": {"c": 2 * value}}, key="dict", window=1)


@pytest.mark.parametrize("as_tensors", [False, True])
def test_deferred_metrics_reduce_as_the_logger_does(as_tensors):
    values = [0.5, float("nan"), 2.0, -1.0, 3.0]
    if as_tensors:
        values = [torch.tensor(v) for v in values]
    direct, deferred_target = MetricsLogger(), MetricsLogger()
    log_stream(direct, values)
    deferred = DeferredMetrics(deferred_target)
    log_stream(deferred, values)
    assert deferred_target.reduce() == {}  # nothing reached the logger before the flush
    deferred.flush()
    expected, got = direct.reduce(), deferred_target.reduce()
    flat_expected, flat_got = flatten(expected), flatten(got)
    assert flat_got.keys() == flat_expected.keys()
    for key, value in flat_expected.items():
        assert float(flat_got[key]) == pytest.approx(float(value), nan_ok=True), key


def flatten(tree, prefix=()):
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(flatten(value, prefix + (key,)))
        else:
            out[prefix + (key,)] = value.peek() if hasattr(value, "peek") else value
    return out


# --------------------------------------------------------------------------- the same update as RLlib's loop


def module_weights(learner) -> np.ndarray:
    return flatten_params(learner.module["default_policy"].unwrapped().parameters()).detach().cpu().numpy()


def one_iteration(config) -> tuple[np.ndarray, list[np.ndarray], dict]:
    """The first learner's weights before, every learner's weights after one iteration, the learner results."""
    algo = config.build_algo()
    try:
        before = next(iter(algo.learner_group.foreach_learner(module_weights))).get()
        result = algo.train()
        after = [r.get() for r in algo.learner_group.foreach_learner(module_weights)]
    finally:
        algo.stop()
    return before, after, result["learners"]


COMPARED_METRICS = [
    (ALL_MODULES, "num_module_steps_trained"),
    (ALL_MODULES, "num_env_steps_trained"),
    ("default_policy", "num_module_steps_trained"),
    ("default_policy", "module_train_batch_size_mean"),
    ("default_policy", "policy_loss"),
    ("default_policy", "vf_loss"),
    ("default_policy", "cost_vf_loss"),
    ("default_policy", "total_loss"),
    ("default_policy", "gradients_default_optimizer_global_norm"),
]


def assert_same_update(config, *, num_learners: int = 0):
    """Fast path and RLlib's loop from the same seed: the same weights (float tolerance) and metrics."""
    if num_learners:
        config = config.learners(num_learners=num_learners, num_cpus_per_learner=0.5)
    runs = {fast: one_iteration(config.copy(copy_frozen=False).training(fast_update=fast)) for fast in (True, False)}
    (initial, fast_weights, fast_results), (rllib_initial, rllib_weights, rllib_results) = runs[True], runs[False]
    np.testing.assert_array_equal(initial, rllib_initial)
    assert not np.allclose(fast_weights[0], initial), "the update must move the weights"
    for fast, rllib in zip(fast_weights, rllib_weights, strict=True):
        np.testing.assert_allclose(fast, rllib, rtol=1e-5, atol=1e-6)
    for key in COMPARED_METRICS:
        expected = rllib_results[key[0]][key[1]]
        assert fast_results[key[0]][key[1]] == pytest.approx(expected, rel=1e-4, abs=1e-6), key
    assert fast_results[ALL_MODULES]["epochs_run"] == config.num_epochs


def shuffled_epochs(config, shuffle: bool = True):
    """Several epochs of minibatches that do not divide the batch (wrap-around), shuffled per epoch."""
    return small_problem_config(config).training(
        train_batch_size_per_learner=400, minibatch_size=96, num_epochs=3, shuffle_batch_per_epoch=shuffle
    )


@pytest.mark.parametrize(
    "algo, training, shuffle",
    [
        ("ppo-lag", {}, True),
        ("pcrpo", {"actor_step": "first_order"}, True),
        # RLlib's loop shuffles the batch PCRPO keeps for its natural step in place: the same rows
        # summed in another order, float rounding that conjugate gradient amplifies (~1e-5).
        ("pcrpo", {}, False),
        ("smpo", {}, True),
    ],
    ids=["ppo-lag", "pcrpo-first-order", "pcrpo-trust-region-unshuffled", "smpo"],
)
def test_one_learner_same_update_as_rllibs_loop(ray_session, algo, training, shuffle):
    assert_same_update(shuffled_epochs(default_config(algo), shuffle).training(**training))


@pytest.mark.parametrize(
    "algo, training",
    [("pcrpo", {"actor_step": "first_order"}), pytest.param("smpo", {}, marks=pytest.mark.slow)],
    ids=["pcrpo-first-order-all-reduce", "smpo-single-backward"],
)
def test_two_learners_same_update_as_rllibs_loop(ray_session, algo, training):
    assert_same_update(shuffled_epochs(default_config(algo)).training(**training), num_learners=2)


# --------------------------------------------------------------------------- target KL


def learner_results(config) -> dict:
    algo = config.build_algo()
    try:
        return algo.train()["learners"]
    finally:
        algo.stop()


def test_target_kl_stops_after_the_first_epoch(ray_session):
    # lr 0.05 moves the policy far in one epoch: KL >> 1e-4, so the update stops after epoch 1.
    config = shuffled_epochs(default_config("ppo-lag")).training(lr=0.05, num_epochs=5)
    stopped = learner_results(config.copy(copy_frozen=False).training(target_kl=1e-4))
    assert stopped[ALL_MODULES]["epochs_run"] == 1
    assert stopped["default_policy"]["policy_kl"] > 1e-4
    # One epoch of a 400-row batch (+ phantom rows) in minibatches of 96: 5 steps.
    assert stopped["default_policy"]["num_module_steps_trained"] == 5 * 96
    full = learner_results(config.copy(copy_frozen=False).training(target_kl=None))
    assert full[ALL_MODULES]["epochs_run"] == 5
    assert "policy_kl" not in full["default_policy"]


@pytest.mark.parametrize(
    "training, learners, message",
    [
        ({"target_kl": 0.0}, 0, r"`target_kl` = 0.0"),
        ({"target_kl": -0.01}, 0, r"`target_kl` = -0.01"),
        ({"target_kl": 0.02, "fast_update": False}, 0, r"`target_kl` = 0.02 needs `fast_update=True`"),
        ({"compile_sgd_step": True, "fast_update": False}, 0, r"`compile_sgd_step` = True needs"),
        ({"compile_sgd_step": True}, 2, r"`compile_sgd_step` = True is invalid with num_learners = 2"),
    ],
)
def test_invalid_update_settings_name_the_field(training, learners, message):
    config = default_config("ppo").environment("CartPole-v1").training(**training).learners(num_learners=learners)
    with pytest.raises(ValueError, match=message):
        config.validate()


# --------------------------------------------------------------------------- torch.compile fallback


def test_compile_failure_falls_back_to_eager_with_a_warning(ray_session, monkeypatch, caplog):
    def broken_compile(step):
        def compiled(*args):
            step(*args)  # fails after the forward pass and losses ran once: the eager rerun must not differ
            raise RuntimeError("no compiler on this machine")

        return compiled

    monkeypatch.setattr(fast_update.torch, "compile", broken_compile)
    config = shuffled_epochs(default_config("ppo-lag"))
    with caplog.at_level(logging.WARNING, logger=fast_update.__name__):
        _, compiled_weights, _ = one_iteration(config.copy(copy_frozen=False).training(compile_sgd_step=True))
    assert "torch.compile of the SGD step failed (RuntimeError: no compiler on this machine)" in caplog.text
    _, eager_weights, _ = one_iteration(config.copy(copy_frozen=False))
    np.testing.assert_array_equal(compiled_weights[0], eager_weights[0])


@pytest.mark.slow
def test_compiled_step_matches_eager(ray_session):
    """Needs a working compiler (measured here: 20-120 s to compile on a loaded 2-core CPU)."""
    config = shuffled_epochs(default_config("ppo-lag"))
    _, compiled_weights, results = one_iteration(config.copy(copy_frozen=False).training(compile_sgd_step=True))
    _, eager_weights, _ = one_iteration(config.copy(copy_frozen=False))
    assert results[ALL_MODULES]["sgd_step_compile_seconds"] > 0  # compiled, not fallen back
    np.testing.assert_allclose(compiled_weights[0], eager_weights[0], rtol=1e-4, atol=1e-5)


# --------------------------------------------------------------------------- where the update's seconds go


def test_update_seconds_split_batch_building_from_the_sgd_steps(ray_session, monkeypatch):
    # Building the batch made 0.2 s slower and every SGD step 0.05 s slower: each shows up in its own figure.
    import time

    build_batch, sgd_step = fast_update.learner_train_batch, fast_update.FastUpdateMixin.sgd_step

    def slow_batch(*args, **kwargs):
        time.sleep(0.2)
        return build_batch(*args, **kwargs)

    def slow_step(self, minibatch):
        time.sleep(0.05)
        return sgd_step(self, minibatch)

    monkeypatch.setattr(fast_update, "learner_train_batch", slow_batch)
    monkeypatch.setattr(fast_update.FastUpdateMixin, "sgd_step", slow_step)
    results = learner_results(shuffled_epochs(default_config("ppo-lag")))
    steps = results["default_policy"]["num_module_steps_trained"] / 96
    assert steps >= 12
    assert 0.2 <= results[ALL_MODULES]["update_batch_seconds"] < 0.5
    assert results[ALL_MODULES]["update_sgd_loop_seconds"] >= 0.05 * steps
