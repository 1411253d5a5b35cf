"""Every use of RLlib's and Tune's private API, in one place, each with its reason.

An RLlib upgrade has one module to check: the functions below are the only calls into
private names (leading underscore, or a file layout RLlib does not document). Two more uses
are overrides rather than calls, so they live in their classes and are listed here:

* ``SafePPO.training_step`` (algorithms/safe_ppo/safe_ppo.py) is PPO's new-stack
  ``training_step`` with J_c and the iteration handed to the learners; compare it with
  ``ray.rllib.algorithms.ppo.PPO.training_step`` on every upgrade.
* ``SwitchingTorchLearner._make_batch_if_necessary`` (algorithms/pcrpo/pcrpo_torch_learner.py)
  keeps the whole train batch of an update for the trust-region actor step; RLlib has no
  public hook for the batch its learner connector builds.
* ``SafeEnvRunner._make_on_episode_callback`` (speed/env_runner.py) skips the per-step
  ``on_episode_step`` call when no callback wants it; RLlib makes it for every env step.

Tested against the pinned Ray (pyproject.toml); tests/test_rllib_private.py exercises each.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

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


def learner_connector(learner):
    """The learner's connector pipeline, to insert the cost pieces (no public accessor exists)."""
    return learner._learner_connector


def learner_train_batch(learner, training_data):
    """The train batch the learner connector builds from ``training_data`` (episodes or a batch).

    The fast update path builds it once per update and slices it itself; RLlib's public
    ``update`` builds and slices it in one call.
    """
    return learner._make_batch_if_necessary(training_data=training_data)


def forward_train(module, batch: dict) -> dict:
    """``module._forward_train``: ``forward_train`` walks every module hook per minibatch, which the
    fast update path does once per update instead."""
    return module._forward_train(batch)


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
