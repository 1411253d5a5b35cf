"""Pure logic of benchmarks/sampling_overhead.py: the driver's sampling time split into parts."""

from __future__ import annotations

import pytest

from benchmarks import sampling_overhead


def runner(sample_s, get_metrics_s, steps=2000):
    return {"sample_s": sample_s, "get_metrics_s": get_metrics_s, "steps": steps}


def test_the_driver_time_splits_into_the_mean_runner_the_wait_for_the_slowest_and_the_transfer():
    # Runners busy 0.8 + 0.02 and 1.0 + 0.04 s (mean 0.9 sampling, 0.93 busy), driver 1.1 s.
    parts = sampling_overhead.split_driver_time(1.1, [runner(0.8, 0.02), runner(1.0, 0.04)])
    assert parts == pytest.approx(
        {"sampling": 0.9, "get_metrics": 0.03, "waiting_for_slowest": 0.11, "transfer": 0.06, "driver": 1.1}
    )
    assert sum(value for name, value in parts.items() if name != "driver") == pytest.approx(1.1)


def test_summary_reports_medians_shares_and_the_rate_inside_sample():
    iterations = [
        {"driver_s": 1.0, "runners": [runner(0.8, 0.0), runner(0.8, 0.0)]},
        {"driver_s": 2.0, "runners": [runner(1.0, 0.0, steps=1000), runner(1.6, 0.0, steps=1000)]},
        {"driver_s": 1.0, "runners": [runner(0.5, 0.0), runner(0.9, 0.0)]},
    ]
    summary = sampling_overhead.summarise(iterations)
    assert summary["seconds"]["transfer"] == pytest.approx(0.2)  # 0.2, 0.4, 0.1
    assert summary["share_of_driver_time"]["waiting_for_slowest"] == pytest.approx(0.15)  # 0, 0.15, 0.2
    # Rates 2500, 2500, 1000, 625, 4000, 2222.2: median of six = (2222.2 + 2500) / 2.
    assert summary["env_runner_steps_per_s_in_sample"] == pytest.approx(2361.1, abs=0.1)
    assert len(summary["per_iteration"]) == 3
