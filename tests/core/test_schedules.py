"""Schedules in env steps: PCRPO's slack annealing and warm-up, SMPO's d' (docs/algorithms.md, sections 1 to 3)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rllib_safe.core.schedules import (
    SlackSchedule,
    annealed_slack,
    linear_anneal,
    relaxed_threshold,
    reward_only_warmup,
)

values = st.floats(-1e3, 1e3)


@settings(deadline=None, max_examples=200)
@given(values, values, st.integers(1, 10**7), st.integers(0, 2 * 10**7), st.integers(0, 10**6))
def test_linear_anneal_is_monotone_between_its_ends_and_reaches_the_end_at_the_duration(
    start, end, duration, env_steps, later
):
    value = linear_anneal(start, end, env_steps, duration)
    assert min(start, end) - 1e-9 <= value <= max(start, end) + 1e-9
    following = linear_anneal(start, end, env_steps + later, duration)
    assert (following - value) * (end - start) >= -1e-9  # never moves away from the end
    assert linear_anneal(start, end, duration + later, duration) == end
    assert linear_anneal(start, end, 0, duration) == start
    if env_steps < duration:
        assert math.isclose(value, start + (end - start) * env_steps / duration, rel_tol=1e-12, abs_tol=1e-9)


def test_linear_anneal_without_duration_is_its_end():
    assert linear_anneal(2.0, 1.0, 0, 0) == linear_anneal(2.0, 1.0, 5, 0) == 1.0


@pytest.mark.parametrize(("args", "name"), [((1.0, 0.0, -1, 5), "env_steps"), ((1.0, 0.0, 0, -1), "duration")])
def test_linear_anneal_validates(args, name):
    with pytest.raises(ValueError, match=name):
        linear_anneal(*args)


@settings(deadline=None, max_examples=100)
@given(st.floats(-100.0, 100.0), st.integers(1, 10**6), st.integers(0, 2 * 10**6))
def test_annealing_is_linear_and_exactly_zero_from_t(initial, total, env_steps):
    annealed = annealed_slack(initial, env_steps, total)
    if env_steps >= total:
        assert annealed == 0.0
    else:
        assert math.isclose(annealed, initial * (1 - env_steps / total), rel_tol=1e-12, abs_tol=1e-12)
    assert abs(annealed) <= abs(initial)
    assert annealed_slack(initial, env_steps + 1000, total) * initial <= annealed * initial  # toward 0


@pytest.mark.parametrize("initial", [math.inf, -math.inf])
@pytest.mark.parametrize("total", [1, 500_000])
def test_infinite_slack_stays_infinite(initial, total):
    assert annealed_slack(initial, 10**7, total) == initial


def test_annealing_endpoints():
    assert annealed_slack(9.0, 0, 2_000_000) == 9.0
    assert annealed_slack(9.0, 1_000_000, 2_000_000) == pytest.approx(4.5)
    assert annealed_slack(-9.0, 2_000_000, 2_000_000) == 0.0


@pytest.mark.parametrize(("args", "name"), [((9.0, 0, 0), "anneal_env_steps"), ((9.0, -1, 5), "env_steps")])
def test_annealing_validates(args, name):
    with pytest.raises(ValueError, match=name):
        annealed_slack(*args)


@settings(deadline=None, max_examples=100)
@given(st.floats(0.0, 1e4), st.floats(1.0, 5.0), st.integers(1, 10**7), st.integers(0, 2 * 10**7))
def test_relaxed_threshold_falls_from_eta_d_to_d_at_e_max(cost_limit, eta, anneal_env_steps, env_steps):
    value = relaxed_threshold(env_steps, cost_limit, eta=eta, anneal_env_steps=anneal_env_steps)
    assert cost_limit - 1e-9 <= value <= eta * cost_limit + 1e-9
    assert relaxed_threshold(0, cost_limit, eta=eta, anneal_env_steps=anneal_env_steps) == pytest.approx(
        eta * cost_limit
    )
    assert relaxed_threshold(anneal_env_steps, cost_limit, eta=eta, anneal_env_steps=anneal_env_steps) == cost_limit
    assert relaxed_threshold(env_steps + 1, cost_limit, eta=eta, anneal_env_steps=anneal_env_steps) <= value + 1e-9


def test_relaxed_threshold_at_the_papers_schedule():
    # eta = 2, e_max = 50 epochs of the authors' 20,000 env steps
    schedule = {"eta": 2.0, "anneal_env_steps": 1_000_000}
    assert relaxed_threshold(500_000, 25.0, **schedule) == pytest.approx(37.5)
    assert relaxed_threshold(1_000_000, 25.0, **schedule) == relaxed_threshold(5_000_000, 25.0, **schedule) == 25.0
    assert relaxed_threshold(7, 25.0, eta=2.0, anneal_env_steps=0) == 25.0


@pytest.mark.parametrize(("cost_limit", "eta", "name"), [(-1.0, 2.0, "cost_limit"), (25.0, 0.5, "eta")])
def test_relaxed_threshold_validates(cost_limit, eta, name):
    with pytest.raises(ValueError, match=name):
        relaxed_threshold(0, cost_limit, eta=eta, anneal_env_steps=10)


def test_constant_schedule():
    schedule = SlackSchedule(upper=9.0, lower=-9.0)
    assert schedule.slacks(0) == schedule.slacks(10**7) == (9.0, -9.0)


def test_annealing_schedule_closes_the_band_after_t_env_steps():
    schedule = SlackSchedule(upper=9.0, lower=-9.0, kind="anneal", anneal_env_steps=500_000)
    assert schedule.slacks(0) == (9.0, -9.0)
    assert schedule.slacks(100_000) == pytest.approx((7.2, -7.2))
    assert schedule.slacks(500_000) == schedule.slacks(800_000) == (0.0, 0.0)


def test_annealing_schedule_keeps_an_infinite_slack():
    schedule = SlackSchedule(upper=300.0, lower=-math.inf, kind="anneal", anneal_env_steps=500)
    assert schedule.slacks(0) == (300.0, -math.inf)
    assert schedule.slacks(500) == (0.0, -math.inf)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"upper": -1.0, "lower": 0.0}, "slack_upper"),
        ({"upper": 1.0, "lower": 1.0}, "slack_lower"),
        ({"upper": 1.0, "lower": -1.0, "kind": "linear"}, "kind"),
        ({"upper": 1.0, "lower": -1.0, "kind": "anneal"}, "anneal_env_steps"),
        ({"upper": 1.0, "lower": -1.0, "kind": "anneal", "anneal_env_steps": 0}, "anneal_env_steps"),
    ],
)
def test_schedule_validates(kwargs, name):
    with pytest.raises(ValueError, match=name):
        SlackSchedule(**kwargs)


def test_schedule_rejects_negative_env_steps():
    with pytest.raises(ValueError, match="env_steps"):
        SlackSchedule(upper=1.0, lower=-1.0).slacks(-1)


@settings(deadline=None, max_examples=100)
@given(st.integers(1, 50_000), st.integers(0, 100), st.integers(0, 300))
def test_a_warmup_of_k_batches_is_exactly_the_first_k_iterations(batch, k, iteration):
    # iteration i (0-based) updates once (i + 1) * batch env steps have been sampled
    assert reward_only_warmup((iteration + 1) * batch, k * batch) == (iteration < k)


def test_reward_only_warmup():
    assert [reward_only_warmup(t, 3000) for t in (1000, 2000, 3000, 4000)] == [True, True, True, False]
    assert not reward_only_warmup(0, 0)
    with pytest.raises(ValueError, match="warmup_env_steps"):
        reward_only_warmup(0, -1)
    with pytest.raises(ValueError, match="env_steps"):
        reward_only_warmup(-1, 3)
