"""Every use of RLlib's and Tune's private API, in one place, each with its reason.

An RLlib upgrade has one module to check: the functions below are the only calls into
private names (leading underscore, or a file layout RLlib does not document) from rllib_safe.
What cannot be a call stays in its class and is listed here instead:

* :data:`PRIVATE_OVERRIDES`: overrides of RLlib's private methods (and the ``super()`` call
  each makes), with the reason each needs one.
* :data:`COPIES`: public RLlib methods we re-implement in full: compare each with RLlib's on
  every upgrade.

Overrides of RLlib's public methods carry RLlib's ``@override`` decorator in their classes.
tests/test_rllib_private.py exercises the functions against the pinned Ray (pyproject.toml)
and fails when a private RLlib name is used anywhere else in rllib_safe (its docstring has the rule).
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

#: Overrides of RLlib's private methods, which must stay in their classes: ``Class.method`` -> reason.
PRIVATE_OVERRIDES: dict[str, str] = {
    "SafePPOConfig._model_config_auto_includes": (
        "algorithms/safe_ppo/safe_ppo.py: OmniSafe's networks (64-64 tanh, separate critics, free log-std) as "
        "the model defaults; RLlib merges this property into every module's model_config and has no public "
        "setting of defaults that a user's model_config still overrides key by key."
    ),
    "SafeEnvRunner._make_on_episode_callback": (
        "speed/env_runner.py: skips the per-step on_episode_step call when no callback wants it; RLlib makes "
        "it for every env step."
    ),
}

#: Public RLlib methods re-implemented in full (same results, other work around them): ours -> RLlib's.
COPIES: dict[str, str] = {
    "SafePPO.training_step": (
        "ray.rllib.algorithms.ppo.PPO.training_step (new API stack), with J_c and the iteration handed to the "
        "learners (algorithms/safe_ppo/safe_ppo.py)"
    ),
    "FastUpdateMixin._fast_update": (
        "ray.rllib.core.learner.learner.Learner.update: the steps around the minibatch loop, in its order "
        "(speed/update.py; the functions below named after Learner's private methods are those steps)"
    ),
    "_PipelineTimedAsOne.__call__": (
        "ray.rllib.connectors.connector_pipeline_v2.ConnectorPipelineV2.__call__, one timer around the "
        "pipeline instead of one per piece (speed/sampling_connectors.py)"
    ),
}

#: File of an Algorithm checkpoint holding the pickled constructor arguments (the config).
CHECKPOINT_CONSTRUCTOR_FILE = "class_and_ctor_args.pkl"


def is_registered_env(env_id: str) -> bool:
    """Whether Tune's registry has an env creator named ``env_id`` (no public lookup exists)."""
    from ray.tune.registry import ENV_CREATOR, _global_registry

    return _global_registry.contains(ENV_CREATOR, env_id)


def registered_env_creator(env_id: str):
    """The env creator registered with ``tune.register_env`` (no public getter exists)."""
    from ray.tune.registry import ENV_CREATOR, _global_registry

    return _global_registry.get(ENV_CREATOR, env_id)


def checkpoint_config_dict(checkpoint: str | Path) -> dict[str, Any]:
    """The algorithm config (as a dict) of an Algorithm checkpoint, read without building it.

    ``Algorithm.from_checkpoint`` would start every EnvRunner; evaluation needs only the env id.
    """
    with open(Path(checkpoint) / CHECKPOINT_CONSTRUCTOR_FILE, "rb") as file:
        return pickle.load(file)["ctor_args_and_kwargs"][0][0]


@contextmanager
def trainable_default_logdir(path: Path) -> Iterator[None]:
    """While active, an Algorithm built or restored outside Tune makes its log directory under ``path``.

    Tune's Trainable reads the module-level ``DEFAULT_STORAGE_PATH`` (~/ray_results) when it is
    built; ``build_algo`` has no ``logger_creator`` argument in Ray 2.60 and restoring none either.
    """
    from ray.tune.trainable import trainable

    default_storage = trainable.DEFAULT_STORAGE_PATH
    trainable.DEFAULT_STORAGE_PATH = str(Path(path).resolve())
    try:
        yield
    finally:
        trainable.DEFAULT_STORAGE_PATH = default_storage


def freeze_mean_std_filter(piece) -> None:
    """Stops a restored ``MeanStdFilter`` updating its statistics (only a constructor flag exists)."""
    piece._update_stats = False


def single_agent_observation_filter(piece):
    """A ``MeanStdFilter`` piece's filter of single-agent observations (its ``_filters[None]``, made
    on first use as RLlib's ``__call__`` makes it); None for a multi-agent piece."""
    if piece._filters is None:
        piece._init_new_filters()
    return None if piece._multi_agent else piece._filters.get(None)


def filter_updates_stats(piece) -> bool:
    """Whether a ``MeanStdFilter`` piece updates its statistics (``_update_stats``; see
    :func:`freeze_mean_std_filter`)."""
    return piece._update_stats


def running_stat_moments(stat) -> tuple[int, np.ndarray, np.ndarray]:
    """A ``RunningStat``'s count, mean and sum of squared deviations (``num_pushes``,
    ``mean_array``, ``sum_sq_diff_array``: fields, undocumented; no getter of the sum exists)."""
    return stat.num_pushes, stat.mean_array, stat.sum_sq_diff_array


def set_running_stat_moments(stat, num_pushes: int, mean: np.ndarray, sum_sq_diff: np.ndarray) -> None:
    """Sets a ``RunningStat`` to ``num_pushes`` values of that mean and sum of squared deviations, as
    its ``push`` would leave it: ``push`` moves the delta fields that EnvRunner state merging reads
    (``mean_delta_array``, ``sum_sq_diff_delta_array``) by the same increments as the mean and the
    sum (the delta mean starts at the first value) and counts the pushes in ``num_pushes_delta``."""
    if stat.num_pushes == 0:
        stat.mean_delta_array[...] = mean
    else:
        stat.mean_delta_array[...] += mean - stat.mean_array
    stat.sum_sq_diff_delta_array[...] += sum_sq_diff - stat.sum_sq_diff_array
    stat.mean_array[...] = mean
    stat.sum_sq_diff_array[...] = sum_sq_diff
    stat.num_pushes_delta += num_pushes - stat.num_pushes
    stat.num_pushes = num_pushes


def learner_connector(learner):
    """The learner's connector pipeline, to insert the cost pieces (no public accessor exists)."""
    return learner._learner_connector


def learner_train_batch(learner, training_data):
    """The train batch the learner connector builds from ``training_data`` (episodes or a batch).

    The fast update path builds it once per update and slices it itself; RLlib's public
    ``update`` builds and slices it in one call.
    """
    return learner._make_batch_if_necessary(training_data=training_data)


@contextmanager
def keeping_train_batches(learner) -> Iterator[list]:
    """While active, every train batch the learner connector builds inside RLlib's ``Learner.update``
    is appended to the yielded list (``_make_batch_if_necessary`` wrapped on this learner only).

    RLlib's loop has no hook that sees its whole train batch; the fast update path's
    ``after_epochs`` hook gets it this way when ``fast_update=False``. RLlib's loop shuffles
    the batch in place: the rows come in the order it left them.
    """
    kept: list = []
    build = learner._make_batch_if_necessary

    def build_and_keep(*args, **kwargs):
        batch = build(*args, **kwargs)
        kept.append(batch)
        return batch

    learner._make_batch_if_necessary = build_and_keep
    try:
        yield kept
    finally:
        del learner._make_batch_if_necessary  # the class's method again


def zero_gradients(learner) -> None:
    """Sets the gradients of every registered optimizer to None, as ``TorchLearner.compute_gradients``
    starts (its ``_optimizer_parameters``: no public list of all optimizers exists)."""
    for optimizer in learner._optimizer_parameters:
        optimizer.zero_grad(set_to_none=True)


def gradients_by_param_ref(learner) -> dict:
    """The ``.grad`` of every registered parameter that has one, by ``ParamRef`` in registration order
    (its ``_params``): the dict ``TorchLearner.compute_gradients`` returns."""
    return {ref: param.grad for ref, param in learner._params.items() if param.grad is not None}


def forward_train(module, batch: dict) -> dict:
    """``module._forward_train``: ``forward_train`` walks every module hook per minibatch, which the
    fast update path does once per update instead."""
    return module._forward_train(batch)


# -- Learner.update's steps around its minibatch loop, as the fast update path repeats them --------


def pop_no_metrics_reduce(update_kwargs: dict) -> bool:
    """Removes ``Learner.update``'s private keyword ``_no_metrics_reduce`` (the LearnerGroup passes it:
    True returns no reduced metrics) from ``update_kwargs``; its value, False when absent."""
    return bool(update_kwargs.pop("_no_metrics_reduce", False))


def check_is_built(learner) -> None:
    """``Learner._check_is_built``: a clear error when ``build()`` was not called."""
    learner._check_is_built()


def count_weights_update(learner) -> None:
    """``Learner.update``'s ``_weights_seq_no += 1``: the weights' sequence number EnvRunners sync on."""
    learner._weights_seq_no += 1


def log_off_policyness(learner, columns: dict) -> None:
    """``TorchLearner._compute_off_policyness``: logs how many weight updates old the sampled rows are
    (RLlib per minibatch; the fast path once per update, on all rows)."""
    learner._compute_off_policyness(columns)


def log_steps_trained(learner, counts) -> None:
    """``Learner._log_steps_trained_metrics``: the step counts of one SGD step (``counts`` has
    ``policy_batches`` with a length per module and ``env_steps()``)."""
    learner._log_steps_trained_metrics(counts)


def log_trained_counters(learner, totals) -> None:
    """``Learner._log_metrics``: Ray's Prometheus counters of env and module steps trained, for the
    whole update at once (``totals`` as in :func:`log_steps_trained`)."""
    learner._log_metrics(batch=totals)


def module_forward(module, batch: dict, **kwargs) -> dict:
    """``module._forward``: the forward pass every RLModule defines, without ``forward_exploration``'s
    wrapping (the speed layer's in-module sampling computes the rest itself)."""
    return module._forward(batch, **kwargs)


def sample_episodes(algorithm):
    """Episodes and EnvRunner metrics of one iteration, as PPO's ``training_step`` samples them.

    ``synchronous_parallel_sample`` takes the new-stack flags as private keywords.
    """
    from ray.rllib.execution.rollout_ops import synchronous_parallel_sample

    return synchronous_parallel_sample(
        worker_set=algorithm.env_runner_group,
        max_env_steps=algorithm.config.total_train_batch_size,
        sample_timeout_s=algorithm.config.sample_timeout_s,
        _uses_new_env_runners=True,
        _return_metrics=True,
    )


def split_arrays_per_env_directly() -> None:
    """Makes ``SingleAgentEnvRunner._sample`` split a plain array per env as ``list(array)``.

    ``_sample`` splits the vector env's observations and the actions into one row per env with
    RLlib's ``unbatch``, which rebuilds a nested structure per row (``tree.unflatten_as``): two
    calls per vector step, about 4% of an EnvRunner's sampling time at 8 envs. For a plain
    array ``unbatch`` returns the rows, as ``list`` does; anything else still goes to RLlib's.
    Replaces the module-level name ``_sample`` looks up, once per process (idempotent).
    """
    from ray.rllib.env import single_agent_env_runner

    rllib_unbatch = single_agent_env_runner.unbatch
    if getattr(rllib_unbatch, "splits_arrays_directly", False):
        return

    def unbatch(batches_struct):
        if type(batches_struct) is np.ndarray:
            return list(batches_struct)
        return rllib_unbatch(batches_struct)

    unbatch.splits_arrays_directly = True
    single_agent_env_runner.unbatch = unbatch


def callback_objects(env_runner) -> list:
    """The EnvRunner's RLlibCallback instances (``SingleAgentEnvRunner._callbacks``; no public accessor)."""
    return env_runner._callbacks


def wants_component(algorithm, name: str, components, not_components) -> bool:
    """Whether ``get_state(components, not_components)`` asks for ``name`` (Checkpointable's rule)."""
    return algorithm._check_component(name, components, not_components)
