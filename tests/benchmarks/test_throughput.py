"""Pure logic of benchmarks/throughput.py, and its raw-rate probe processes."""

from __future__ import annotations

import pytest

from benchmarks import throughput


def test_each_iteration_is_compared_with_the_raw_rates_measured_right_before_and_after_it():
    # 2 EnvRunners: iteration 1 samples 2,000 steps/s per runner between raw rates 1,000 and
    # 3,000 (mean 2,000); iteration 2 samples 1,000 per runner between 3,000 and 5,000.
    ratios = throughput.sampling_ratios([4000, 4000], [1.0, 2.0], 2, [1000.0, 3000.0, 5000.0])
    assert ratios == pytest.approx([1.0, 0.25])


def test_the_local_env_runner_counts_as_one():
    assert throughput.sampling_ratios([3000], [1.0], 0, [3000.0, 3000.0]) == pytest.approx([1.0])


@pytest.mark.slow
def test_the_probe_processes_step_the_env_together_on_every_request():
    probe = throughput.RawRateProbe("SafetyHopperVelocity-v1", 2)
    try:
        rates = [probe.rate(50), probe.rate(50)]
    finally:
        probe.close()
    assert all(rate > 0 for rate in rates)
    assert not any(worker.is_alive() for worker in probe._workers)


def test_sgd_work_splits_the_learner_time_into_batch_building_and_the_sgd_loop():
    from types import SimpleNamespace

    def result(rows, batch_s, loop_s):
        learner = {"num_module_steps_trained": rows, "update_batch_seconds": batch_s, "update_sgd_loop_seconds": loop_s}
        return {"learners": {"__all_modules__": learner}}

    config = SimpleNamespace(minibatch_size=64, num_learners=0, num_epochs=40)
    # Warm-up (ignored), then 100 and 300 steps of 64 rows: 200 steps and 0.6 s of loop per update.
    results = [result(64, 9.0, 9.0), result(6400, 1.0, 0.2), result(19200, 3.0, 1.0)]
    work = throughput.sgd_work(results, config)
    assert work["sgd_steps_per_iteration"] == 200
    assert work["learner_seconds_per_update"] == {"batch": 2.0, "sgd_loop": 0.6}
    assert work["learner_ms_per_sgd_step_in_loop"] == 3.0
    # RLlib's own loop logs neither: no split.
    results = [{"learners": {"__all_modules__": {"num_module_steps_trained": 6400}}}] * 2
    assert "learner_seconds_per_update" not in throughput.sgd_work(results, config)
