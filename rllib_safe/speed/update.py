"""The fast update path of the PPO learners: the whole epoch x minibatch loop in one call.

RLlib's ``Learner.update`` pays, per minibatch, for slicing and concatenating a
``SampleBatch`` (``MiniBatchCyclicIterator``), building a ``MultiAgentBatch``, a timer, the
Prometheus counters, seven step-count metrics and every loss metric through the
``MetricsLogger`` (each call a nested-key lookup and, for several stats, host-side work). On
OmniSafe's schedule (12,500 SGD steps of 64 rows per iteration) that costs as much as the maths.

``FastUpdateMixin.update`` computes the same update with less around it:

* The train batch is built once (learner connector, ``rllib_private.learner_train_batch``, so
  subclass overrides still run) and stays on the learner's device; each minibatch is gathered by index
  (``index_select``) from RLlib's own schedule (``rllib_safe.speed.minibatches``): the same
  rows in the same order, the same permutations drawn from the learner's seeded global RNG.
* Each SGD step calls the hooks subclasses override, in RLlib's order: each module's
  ``_forward_train`` (the modules are put in training mode once per update, not by every
  ``forward_train``), ``compute_losses`` (``compute_loss_for_module``), ``compute_gradients``,
  ``postprocess_gradients``, ``apply_gradients``. With several learners the module is DDP's and
  the backward pass all-reduces as in RLlib's loop; hooks that all-reduce themselves (PCRPO)
  run unchanged.
* Metrics logged during the loop go to ``DeferredMetrics``: tensors stay on the device, and
  each key reaches the real ``MetricsLogger`` once, after the loop, with the value RLlib's
  reduce would have produced from all of them. Step counts (``NUM_MODULE_STEPS_TRAINED`` and
  the others) come out as in RLlib's loop. ``log_diagnostics`` tells the losses whether the
  step's window-1 metrics can be reported (only a step that ends an epoch can be the last):
  computing them on the other steps is wasted work.
* Between epochs, ``stop_after_epoch`` may end the update (target-KL early stopping of the PPO
  learner); ``epochs_run`` logs how many epochs ran.
* After the last epoch, ``after_epochs`` gets all rows of the train batch (the trust-region
  actor step of the switching learners). RLlib's loop (``fast_update=False``) calls it too, with
  the batch its learner connector built, at the same point: before ``after_gradient_based_update``.
* Where the update's seconds go: ``update_batch_seconds`` (the learner connector building the
  train batch, its columns moved to the device, the old policy recorded) and
  ``update_sgd_loop_seconds`` (the SGD steps and the metrics flush; a CUDA device is
  synchronised once at each end), so that per-update work and per-step work are told apart.
* Optionally the forward pass and losses of each SGD step run under ``torch.compile``
  (``CompiledStep``; gradients and the optimiser step stay eager, as RLlib's optimiser loop
  breaks the graph), falling back to eager mode with a warning where compiling fails.

Not covered (``update`` then runs RLlib's loop): positional arguments and ``data_iterators``
(Ray Data input); validation rejects recurrent modules, which need sequence slicing.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from ray.rllib.core.learner.learner import Learner
from ray.rllib.core.learner.training_data import TrainingData
from ray.rllib.utils import force_tuple
from ray.rllib.utils.annotations import override
from ray.rllib.utils.metrics import ALL_MODULES

from rllib_safe.metrics import COMPILE_SECONDS, EPOCHS_RUN, UPDATE_BATCH_SECONDS, UPDATE_SGD_LOOP_SECONDS
from rllib_safe.rllib_private import (
    check_is_built,
    count_weights_update,
    forward_train,
    keeping_train_batches,
    learner_train_batch,
    log_off_policyness,
    log_steps_trained,
    log_trained_counters,
    pop_no_metrics_reduce,
)
from rllib_safe.speed.minibatches import cyclic_row_order, epoch_boundaries, num_minibatches

logger = logging.getLogger(__name__)

#: ``Learner.update`` keyword arguments that carry the training data.
TRAINING_DATA_FIELDS = ("batch", "batches", "batch_refs", "episodes", "episodes_refs")
#: Window-less stats that one pushed value reproduces: reduce -> how to combine the values.
COMBINED_REDUCES = {"mean": "mean", "sum": "sum", "lifetime_sum": "sum"}


class DeferredMetrics:
    """Stands in for the learner's ``MetricsLogger`` during the minibatch loop.

    ``log_value`` / ``log_dict`` calls are collected as they come (tensors stay where they are:
    no host sync); ``flush`` then pushes into the real logger, per key, what its reduce would
    compute from all of them: the last ``window`` values of a windowed stat, one nan-mean or
    nan-sum for a window-less "mean" or "sum" stat, and every value in order otherwise (EMA,
    min, max, ...). Any other attribute is the real logger's.
    """

    def __init__(self, metrics_logger) -> None:
        self._logger = metrics_logger
        self._entries: dict[tuple, tuple[dict, list]] = {}

    def __getattr__(self, name: str):
        return getattr(self._logger, name)

    def log_value(self, key, value, **settings) -> None:
        key = force_tuple(key)
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = (settings, [])
        values = entry[1]
        window = settings.get("window")
        if window is not None and len(values) >= window:
            del values[0]
        values.append(value)

    def log_dict(self, value_dict: dict, *, key=None, reduce: str | None = "mean", **settings) -> None:
        prefix = force_tuple(key)
        for name, value in value_dict.items():
            if isinstance(value, dict):
                self.log_dict(value, key=prefix + force_tuple(name), reduce=reduce, **settings)
            else:
                self.log_value(prefix + force_tuple(name), value, reduce=reduce, **settings)

    def flush(self) -> None:
        """Logs every collected key into the real logger and forgets them."""
        for key, (settings, values) in self._entries.items():
            for value in combined(values, settings):
                self._logger.log_value(key, value, **settings)
        self._entries.clear()


def combined(values: list, settings: dict) -> list:
    """The values to push so that the stat reduces as if all ``values`` had been pushed."""
    how = COMBINED_REDUCES.get(settings.get("reduce"))
    if how is None or settings.get("window") is not None or len(values) < 2:
        return values
    if all(isinstance(v, (int, float)) for v in values):
        real = [v for v in values if not math.isnan(v)]
        return [sum(real) if how == "sum" else float(np.mean(real)) if real else math.nan]
    if not all(isinstance(v, (int, float, torch.Tensor)) for v in values):
        return values
    device = next(v.device for v in values if isinstance(v, torch.Tensor))
    stacked = torch.stack([torch.as_tensor(v, device=device).detach().float().reshape(()) for v in values])
    return [torch.nansum(stacked) if how == "sum" else torch.nanmean(stacked)]


class StepCounts:
    """Stands in for a ``MultiAgentBatch`` in RLlib's step-count logging: the sizes only."""

    def __init__(self, rows_per_module: dict[str, int], env_steps: int) -> None:
        self.policy_batches = {module_id: range(rows) for module_id, rows in rows_per_module.items()}
        self._env_steps = env_steps

    def env_steps(self) -> int:
        return self._env_steps


def take_rows(columns: dict[str, Any], rows: torch.Tensor) -> dict[str, Any]:
    """The given rows of every (possibly nested) tensor column."""
    return {
        name: take_rows(value, rows) if isinstance(value, dict) else value.index_select(0, rows)
        for name, value in columns.items()
    }


def as_tensor_columns(module_id: str, columns: dict[str, Any], device) -> dict[str, Any]:
    """The batch's columns as tensors on ``device``; a clear error for columns that cannot be."""
    tensors = {}
    for name, value in columns.items():
        if isinstance(value, dict):
            tensors[name] = as_tensor_columns(module_id, value, device)
        elif isinstance(value, (torch.Tensor, np.ndarray)):
            tensors[name] = torch.as_tensor(value, device=device)
        else:
            raise ValueError(
                f"Column {name!r} of module {module_id!r} is a {type(value).__name__}, which the fast "
                "update path cannot slice by index; train with `fast_update=False`."
            )
    return tensors


class CompiledStep:
    """``torch.compile(step)``, falling back to ``step`` with a warning where compiling fails.

    The first call compiles (its duration is ``compile_seconds``). Should it fail, this and
    every later call run ``step`` eagerly. ``step`` must leave no state behind that a second
    call would not overwrite (the learner compiles the forward pass and the losses only).
    """

    def __init__(self, step: Callable) -> None:
        self._step = step
        self._compiled = None
        self.compile_seconds: float | None = None
        try:
            self._compiled = torch.compile(step)
        except Exception as error:  # noqa: BLE001 - any compiler failure means eager mode
            self._fall_back(error)

    def __call__(self, *args):
        if self._compiled is None:
            return self._step(*args)
        start = time.perf_counter()
        try:  # every call: a later input (e.g. the diagnostics flag) may compile another graph
            result = self._compiled(*args)
        except Exception as error:  # noqa: BLE001
            self._fall_back(error)
            return self._step(*args)
        if self.compile_seconds is not None:
            return result
        self.compile_seconds = time.perf_counter() - start
        logger.info("Compiled the forward pass and losses of the SGD step in %.1f s.", self.compile_seconds)
        return result

    def _fall_back(self, error: Exception) -> None:
        self._compiled = None
        logger.warning(
            "torch.compile of the SGD step failed (%s: %s); training continues in eager mode. "
            "Set `compile_sgd_step=False` to silence this warning.",
            type(error).__name__,
            error,
        )


class FastUpdateMixin:
    """``Learner.update`` with the epoch x minibatch loop in one call (module docstring).

    Put it before RLlib's learner class: ``class MyLearner(FastUpdateMixin, PPOTorchLearner)``.
    Reads ``config.fast_update`` (False: RLlib's loop) and ``config.compile_sgd_step``.
    """

    @override(Learner)
    def build(self) -> None:
        super().build()
        losses = self.forward_and_losses
        self._losses_fn = CompiledStep(losses) if self.config.compile_sgd_step else losses
        #: Whether this SGD step's window-1 metrics can be reported: always in RLlib's loop; in the
        #: fast path only on steps that end an epoch (the last step, or the last before an early stop).
        self.log_diagnostics = True
        #: RLlib's loop only: the train batches its learner connector built during this update.
        self._rllib_loop_batches: list = []

    @override(Learner)
    def update(self, *args, **kwargs):
        if not self.config.fast_update or args or kwargs.get("data_iterators"):
            with keeping_train_batches(self) as self._rllib_loop_batches:
                return super().update(*args, **kwargs)
        reduce_metrics = not pop_no_metrics_reduce(kwargs)
        return self._fast_update(reduce_metrics=reduce_metrics, **kwargs)

    @override(Learner)
    def after_gradient_based_update(self, *, timesteps: dict[str, Any]) -> None:
        if self._rllib_loop_batches:  # RLlib's loop: ``after_epochs`` on the batch it trained on
            batch = self._rllib_loop_batches.pop()
            self._rllib_loop_batches.clear()
            self.after_epochs({module_id: dict(rows) for module_id, rows in batch.policy_batches.items()})
        super().after_gradient_based_update(timesteps=timesteps)

    def sgd_step(self, minibatch: dict[str, dict[str, Any]]) -> dict[str, torch.Tensor]:
        """One SGD step on one minibatch per module, through the learner's hooks; the losses."""
        loss_per_module = self._losses_fn(minibatch)
        gradients = self.compute_gradients(loss_per_module)
        with self._no_ddp_sync():
            self.apply_gradients(self.postprocess_gradients(gradients))
        return loss_per_module

    def forward_and_losses(self, minibatch: dict[str, dict[str, Any]]) -> dict[str, torch.Tensor]:
        """The forward pass and the losses of one SGD step (what ``compile_sgd_step`` compiles).

        The modules are put in training mode once per update (``_train_on_batch``), so the
        forward pass calls their ``_forward_train`` directly: ``forward_train`` would walk all
        submodules to set the mode again (0.1 ms per step on a 2-core CPU).
        """
        fwd_out = {module_id: forward_train(self.module[module_id], batch) for module_id, batch in minibatch.items()}
        return self.compute_losses(fwd_out=fwd_out, batch=minibatch)

    def _no_ddp_sync(self):
        """RLlib's loop postprocesses and applies the gradients under DDP's ``no_sync`` (several learners)."""
        stack = contextlib.ExitStack()
        if self.config.num_learners <= 1:
            return stack
        for module in self.module.values():
            if isinstance(module, torch.nn.parallel.DistributedDataParallel):
                stack.enter_context(module.no_sync())
        return stack

    def start_epochs(self, columns: dict[str, dict[str, Any]]) -> None:
        """Called with all rows before the first SGD step of the fast path; override to record the old policy."""

    def stop_after_epoch(self, columns: dict[str, dict[str, Any]]) -> bool:
        """Called with all rows after each epoch but the last (fast path only); True ends the update."""
        return False

    def after_epochs(self, columns: dict[str, dict[str, Any]]) -> None:
        """Called with all rows of the train batch after the last SGD step, before
        ``after_gradient_based_update`` (both loops; RLlib's leaves the rows in its shuffled order)."""

    def _fast_update(
        self,
        *,
        training_data: TrainingData | None = None,
        timesteps: dict[str, Any] | None = None,
        num_epochs: int = 1,
        minibatch_size: int | None = None,
        shuffle_batch_per_epoch: bool = False,
        num_total_minibatches: int = 0,
        reduce_metrics: bool = True,
        **kwargs,
    ):
        """``Learner.update``'s steps around the loop, in its order (before/after hooks, weights seq no)."""
        check_is_built(self)
        timesteps = timesteps or {}
        self.before_gradient_based_update(timesteps=timesteps)
        if training_data is None:
            training_data = TrainingData(**{name: kwargs.get(name) for name in TRAINING_DATA_FIELDS})
        training_data.validate()
        training_data.solve_refs()
        assert training_data.batches is None, "`training_data.batches` must be None!"
        count_weights_update(self)
        started = time.perf_counter()
        batch = learner_train_batch(self, training_data)
        for module_id in list(batch.policy_batches):
            if not self.should_module_be_updated(module_id, batch):
                del batch.policy_batches[module_id]
        if batch.policy_batches:
            columns = self._train_on_batch(
                batch,
                num_epochs=num_epochs,
                minibatch_size=minibatch_size,
                shuffle=shuffle_batch_per_epoch and num_epochs > 1,
                num_total_minibatches=num_total_minibatches,
                started=started,
            )
            self.after_epochs(columns)
        self.after_gradient_based_update(timesteps=timesteps)
        if reduce_metrics:
            return self.metrics.reduce()

    def _train_on_batch(self, batch, *, num_epochs, minibatch_size, shuffle, num_total_minibatches, started) -> dict:
        """The SGD steps on ``batch``, built from the training data since ``started`` (``perf_counter``);
        the batch's columns, as tensors on the device."""
        columns = {
            module_id: as_tensor_columns(module_id, dict(module_batch), self.device)
            for module_id, module_batch in batch.policy_batches.items()
        }
        sizes = {module_id: len(module_batch) for module_id, module_batch in batch.policy_batches.items()}
        if minibatch_size is None and num_epochs == 1:  # RLlib's MiniBatchDummyIterator: one step on all rows
            steps, rows_per_step = 1, sizes
            orders = {module_id: np.arange(n) for module_id, n in sizes.items()}
        else:  # RLlib's MiniBatchCyclicIterator; no minibatch size: minibatches of the whole batch
            size = minibatch_size or batch.count
            steps = num_minibatches(sizes, size, num_epochs, num_total_minibatches)
            rows_per_step = dict.fromkeys(sizes, size)
            orders = cyclic_row_order(sizes, size, steps, shuffle=shuffle)
        # row_indices[module_id][k]: the rows of SGD step k.
        row_indices = {
            module_id: torch.as_tensor(order, device=self.device).view(steps, rows_per_step[module_id])
            for module_id, order in orders.items()
        }
        log_off_policyness(self, columns)  # RLlib logs it per minibatch; here once, on all rows
        self.start_epochs(columns)
        for module in self.module.values():
            module.train()
        loop_started = self._device_clock()
        metrics, self.metrics = self.metrics, DeferredMetrics(self.metrics)
        try:
            loss_per_module, steps_run, epochs_run = self._run_steps(
                columns, row_indices, num_epochs, StepCounts(rows_per_step, batch.env_steps())
            )
        finally:
            deferred, self.metrics = self.metrics, metrics
            deferred.flush()
            self.log_diagnostics = True
        loop_ended = self._device_clock()
        self.metrics.log_value((ALL_MODULES, UPDATE_BATCH_SECONDS), loop_started - started, window=1)
        self.metrics.log_value((ALL_MODULES, UPDATE_SGD_LOOP_SECONDS), loop_ended - loop_started, window=1)
        totals = {module_id: rows * steps_run for module_id, rows in rows_per_step.items()}
        self._log_update_summary(loss_per_module, epochs_run, StepCounts(totals, batch.env_steps() * steps_run))
        return columns

    def _device_clock(self) -> float:
        """``time.perf_counter()`` once the learner's CUDA device (if any) has done its queued work."""
        device = self.device
        if device is not None and torch.device(device).type == "cuda":
            torch.cuda.synchronize(device)
        return time.perf_counter()

    def _run_steps(self, columns, row_indices, num_epochs, counts) -> tuple[dict, int, int]:
        """The SGD steps, with the epoch checks; (last losses, steps run, epochs run)."""
        steps = len(next(iter(row_indices.values())))
        epoch_ends = {step: epoch for epoch, step in enumerate(epoch_boundaries(steps, num_epochs), start=1)}
        for step in range(steps):
            minibatch = {module_id: take_rows(columns[module_id], at[step]) for module_id, at in row_indices.items()}
            self.log_diagnostics = step in epoch_ends
            loss_per_module = self.sgd_step(minibatch)
            log_steps_trained(self, counts)
            epoch = epoch_ends.get(step)
            if epoch is not None and epoch < num_epochs and self.stop_after_epoch(columns):
                return loss_per_module, step + 1, epoch
        return loss_per_module, steps, num_epochs

    def _log_update_summary(self, loss_per_module: dict, epochs_run: int, totals: StepCounts) -> None:
        """What RLlib logs once per update, plus the epochs run and the compile time."""
        log_trained_counters(self, totals)  # Ray's Prometheus counters, as RLlib's loop adds them up
        for module_id, loss in loss_per_module.items():
            self.metrics.log_value(key=(module_id, self.TOTAL_LOSS_KEY), value=loss, window=1)
        self.metrics.log_value((ALL_MODULES, EPOCHS_RUN), epochs_run, window=1)
        compile_seconds = getattr(self._losses_fn, "compile_seconds", None)
        if compile_seconds is not None:
            self.metrics.log_value((ALL_MODULES, COMPILE_SECONDS), compile_seconds, window=1)
