"""RLlib's minibatch schedule as index arrays (rllib_safe.speed.minibatches): the rows and
permutations of ``MiniBatchCyclicIterator``."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from ray.rllib.policy.sample_batch import MultiAgentBatch, SampleBatch
from ray.rllib.utils.minibatch_utils import MiniBatchCyclicIterator

from rllib_safe.speed.minibatches import cyclic_row_order, epoch_boundaries, num_minibatches


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 40), min_size=1, max_size=2),
    minibatch_size=st.integers(1, 50),
    num_epochs=st.integers(1, 4),
    shuffle=st.booleans(),
    fixed_steps=st.integers(0, 6),
)
def test_schedule_is_rllibs_cyclic_iterator(sizes, minibatch_size, num_epochs, shuffle, fixed_steps):
    """Same rows in the same order, the same permutations drawn: the RNG ends in the same state."""
    sizes = {f"module_{i}": n for i, n in enumerate(sizes)}
    batch = MultiAgentBatch({k: SampleBatch({"row": np.arange(n)}) for k, n in sizes.items()}, max(sizes.values()))
    np.random.seed(7)
    iterator = MiniBatchCyclicIterator(
        batch,
        num_epochs=num_epochs,
        minibatch_size=minibatch_size,
        shuffle_batch_per_epoch=shuffle,
        num_total_minibatches=fixed_steps,
    )
    rllib_rows = {k: [] for k in sizes}
    for minibatch in iterator:
        for k, module_batch in minibatch.policy_batches.items():
            rllib_rows[k].append(module_batch["row"])
    rllib_next_draw = np.random.rand()

    np.random.seed(7)
    steps = num_minibatches(sizes, minibatch_size, num_epochs, fixed_steps)
    rows = cyclic_row_order(sizes, minibatch_size, steps, shuffle=shuffle)
    assert steps == len(rllib_rows["module_0"])
    for k in sizes:
        np.testing.assert_array_equal(rows[k], np.concatenate(rllib_rows[k]))
    assert np.random.rand() == rllib_next_draw


def test_epoch_boundaries_cover_every_row():
    # 10 rows, minibatches of 3, 4 epochs: 14 steps; epoch j ends after >= 10 j rows.
    steps = num_minibatches({"m": 10}, 3, 4)
    boundaries = epoch_boundaries(steps, 4)
    assert steps == 14 and boundaries == [3, 6, 10, 13]
    assert all((step + 1) * 3 >= 10 * epoch for epoch, step in enumerate(boundaries, start=1))
