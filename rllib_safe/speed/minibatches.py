"""Which rows each SGD step of an update trains on: RLlib's cyclic minibatch order as index arrays.

RLlib's ``MiniBatchCyclicIterator`` walks each module's batch in order, cutting consecutive
minibatches of ``minibatch_size`` rows; a minibatch that runs past the end wraps around to the
start, and every time a batch is used up it is reshuffled in place (``np.random.permutation``
of the learner's seeded global RNG) when shuffling is on. It stops once every batch has been
covered ``num_epochs`` times, or after ``num_total_minibatches`` minibatches when that is set
(several learners, so that all of them take the same number of steps).

The functions here compute that schedule up front, drawing the same permutations in the same
order, so a loop that gathers rows by index trains on exactly the minibatches RLlib would.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np


def num_minibatches(
    batch_sizes: Mapping[str, int], minibatch_size: int, num_epochs: int, num_total_minibatches: int = 0
) -> int:
    """SGD steps of one update: ceil(num_epochs * n / minibatch_size) for the largest batch n.

    After k minibatches a batch of n rows has been covered floor(k * minibatch_size / n) times;
    the loop runs until the least covered batch reaches ``num_epochs``.
    """
    if num_total_minibatches > 0:
        return num_total_minibatches
    return max(math.ceil(num_epochs * n / minibatch_size) for n in batch_sizes.values())


def _reshuffle_events(batch_sizes: Mapping[str, int], minibatch_size: int, steps: int) -> list[tuple[int, int, int]]:
    """(minibatch, position of the batch, wrap number) of every time a batch is used up, in RLlib's order.

    Wrap j of a batch of n rows happens while cutting minibatch ceil(j * n / minibatch_size) - 1
    (0-based); within a minibatch RLlib visits the batches in their dict order.
    """
    events = []
    for position, n in enumerate(batch_sizes.values()):
        for wrap in range(1, steps * minibatch_size // n + 1):
            events.append((math.ceil(wrap * n / minibatch_size) - 1, position, wrap))
    return sorted(events)


def cyclic_row_order(
    batch_sizes: Mapping[str, int],
    minibatch_size: int,
    steps: int,
    *,
    shuffle: bool,
    rng=np.random,
) -> dict[str, np.ndarray]:
    """Per batch, the rows of all ``steps`` minibatches in a row: minibatch k is [k * size, (k + 1) * size).

    The first pass is in the batch's own order; after each pass the current order is permuted
    by ``rng.permutation(n)`` when ``shuffle`` is on, drawn in the order RLlib draws them.
    """
    orders = {key: [np.arange(n)] for key, n in batch_sizes.items()}
    keys = list(batch_sizes)
    for _, position, _ in _reshuffle_events(batch_sizes, minibatch_size, steps):
        key = keys[position]
        current = orders[key][-1]
        orders[key].append(current[rng.permutation(len(current))] if shuffle else current)
    return {key: np.concatenate(passes)[: steps * minibatch_size] for key, passes in orders.items()}


def epoch_boundaries(steps: int, num_epochs: int) -> list[int]:
    """0-based minibatch after which epoch j = 1..num_epochs ends: ceil(j * steps / num_epochs) - 1.

    With one learner every row has been trained on at least j times by then; with several
    learners it depends only on the step count they share, so every learner checks (and stops)
    after the same minibatch.
    """
    return [math.ceil(epoch * steps / num_epochs) - 1 for epoch in range(1, num_epochs + 1)]
