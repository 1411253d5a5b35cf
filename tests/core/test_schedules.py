"""PCRPO slack schedules and reward-only warm-up (docs/algorithms.md, section 2)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rllib_safe.core.schedules import SlackSchedule, annealed_slack, reward_only_warmup


@settings(deadline=None, max_examples=100)
@given(st.floats(-100.0, 100.0), st.integers(1, 500), st.integers(0, 1000))
def test_annealing_is_linear_and_exactly_zero_from_t(initial, total, iteration):
    annealed = annealed_slack(initial, iteration, total)
    if iteration >= total:
        assert annealed == 0.0
    else:
        assert math.isclose(annealed, initial * (1 - iteration / total), rel_tol=1e-12, abs_tol=1e-12)
    assert abs(annealed) <= abs(initial)
    assert annealed_slack(initial, iteration + 1, total) * initial <= annealed * initial  # toward 0


@pytest.mark.parametrize(("initial", "total"), [(9.0, 500), (-9.0, 500), (300.0, 3), (-0.5, 1), (5.0, 7)])
def test_annealed_slack_reaches_zero_after_t_iterations(initial, total):
    assert annealed_slack(initial, total, total) == 0.0
    assert annealed_slack(initial, 2 * total, total) == 0.0
    assert annealed_slack(initial, total - 1, total) == pytest.approx(initial / total)


@pytest.mark.parametrize("initial", [math.inf, -math.inf])
@pytest.mark.parametrize("total", [1, 500])
def test_infinite_slack_stays_infinite(initial, total):
    assert annealed_slack(initial, 10, total) == initial


def test_annealing_endpoints():
    assert annealed_slack(9.0, 0, 500) == 9.0
    assert annealed_slack(9.0, 1, 500) == pytest.approx(9.0 - 9.0 / 500)
    assert annealed_slack(9.0, 250, 500) == pytest.approx(4.5)
    assert annealed_slack(-9.0, 1, 1) == 0.0


@pytest.mark.parametrize(
    ("args", "name"), [((9.0, 0, 0), "total_iterations"), ((9.0, -1, 5), "iteration")]
)
def test_annealing_validates(args, name):
    with pytest.raises(ValueError, match=name):
        annealed_slack(*args)


def test_constant_schedule():
    schedule = SlackSchedule(upper=9.0, lower=-9.0)
    assert schedule.slacks(0) == schedule.slacks(400) == (9.0, -9.0)


def test_annealing_schedule_closes_the_band_after_t_iterations():
    schedule = SlackSchedule(upper=9.0, lower=-9.0, kind="anneal", total_iterations=500)
    assert schedule.slacks(0) == (9.0, -9.0)
    assert schedule.slacks(100) == pytest.approx((7.2, -7.2))
    assert schedule.slacks(500) == schedule.slacks(800) == (0.0, 0.0)


def test_annealing_schedule_keeps_an_infinite_slack():
    schedule = SlackSchedule(upper=300.0, lower=-math.inf, kind="anneal", total_iterations=500)
    assert schedule.slacks(0) == (300.0, -math.inf)
    assert schedule.slacks(500) == (0.0, -math.inf)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"upper": -1.0, "lower": 0.0}, "slack_upper"),
        ({"upper": 1.0, "lower": 1.0}, "slack_lower"),
        ({"upper": 1.0, "lower": -1.0, "kind": "linear"}, "kind"),
        ({"upper": 1.0, "lower": -1.0, "kind": "anneal"}, "total_iterations"),
        ({"upper": 1.0, "lower": -1.0, "kind": "anneal", "total_iterations": 0},
         "total_iterations"),
    ],
)
def test_schedule_validates(kwargs, name):
    with pytest.raises(ValueError, match=name):
        SlackSchedule(**kwargs)


def test_schedule_rejects_negative_iterations():
    with pytest.raises(ValueError, match="iteration"):
        SlackSchedule(upper=1.0, lower=-1.0).slacks(-1)


def test_reward_only_warmup():
    assert [reward_only_warmup(i, 3) for i in range(5)] == [True, True, True, False, False]
    assert not reward_only_warmup(0, 0)
    with pytest.raises(ValueError, match="warmup_iterations"):
        reward_only_warmup(0, -1)
    with pytest.raises(ValueError, match="iteration"):
        reward_only_warmup(-1, 3)
