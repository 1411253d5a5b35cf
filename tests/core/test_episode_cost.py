"""J_c's window: the mean of the last `size` finished episodes, each counted once."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rllib_safe.core.episode_cost import EpisodeWindow, RecentEpisodeCosts

costs = st.lists(st.floats(min_value=0.0, max_value=1e4, allow_nan=False), max_size=60)


@given(batches=st.lists(costs, max_size=6), size=st.integers(1, 50))
def test_mean_is_over_the_last_size_episodes_across_batches(batches, size):
    window = EpisodeWindow(size)
    for batch in batches:
        window.extend(batch)
    everything = [cost for batch in batches for cost in batch]
    expected = everything[-size:]
    assert len(window) == len(expected)
    if expected:
        assert window.mean() == pytest.approx(sum(expected) / len(expected))
    else:
        assert window.mean() is None


def test_no_episode_means_no_measurement():
    window = EpisodeWindow(100)
    assert window.mean() is None
    assert window.fraction_over(25.0) is None


def test_window_of_100_over_five_batches_of_20():
    window = EpisodeWindow(100)
    for start in range(1, 101, 20):
        window.extend(range(start, start + 20))
    assert window.mean() == pytest.approx(50.5)  # episodes 1..100, not the last batch's 90.5
    window.extend([101.0])
    assert window.mean() == pytest.approx(51.5)  # episode 1 dropped out


def test_fraction_over_the_limit():
    window = EpisodeWindow(4)
    window.extend([10.0, 30.0, 25.0, 26.0])
    assert window.fraction_over(25.0) == 0.5  # 25 is not over a limit of 25


def test_state_round_trip():
    window = EpisodeWindow(3)
    window.extend([1.0, 2.0, 3.0, 4.0])
    restored = EpisodeWindow(3)
    restored.set_state(window.get_state())
    assert restored.get_state() == [2.0, 3.0, 4.0]
    assert restored.mean() == window.mean()


@pytest.mark.parametrize("size", [0, -1, 2.5, True])
def test_invalid_size_names_the_field(size):
    with pytest.raises(ValueError, match=rf"`episode_cost_window` = {size!r}"):
        EpisodeWindow(size)


@pytest.mark.parametrize("cost", [math.nan, math.inf])
def test_non_finite_cost_is_refused(cost):
    with pytest.raises(ValueError, match="finite"):
        EpisodeWindow(5).extend([cost])


@given(st.lists(st.lists(st.floats(0.0, 1e3), max_size=8), min_size=1, max_size=12),
       st.integers(1, 5), st.integers(1, 10))
def test_recent_costs_are_the_horizons_episodes_or_the_last_few(batches, horizon_batches, min_episodes):
    """One batch of finished episodes per 100 env steps; the horizon spans ``horizon_batches`` batches."""
    recent = RecentEpisodeCosts(100 * horizon_batches, min_episodes)
    for i, costs in enumerate(batches, start=1):
        recent.extend(costs, env_steps=100 * i)
    everything = [cost for costs in batches for cost in costs]
    in_horizon = [cost for costs in batches[-horizon_batches:] for cost in costs]
    expected = in_horizon if len(in_horizon) >= min_episodes else everything[-min_episodes:]
    if not everything:
        assert recent.mean() is None
    else:
        assert recent.mean() == pytest.approx(sum(expected) / len(expected))
    restored = RecentEpisodeCosts(100 * horizon_batches, min_episodes)
    restored.set_state(recent.get_state())
    assert restored.mean() == recent.mean()


@pytest.mark.parametrize(("horizon", "minimum", "name"), [(0, 5, "steering_cost_env_steps"),
                                                         (100, 0, "steering_cost_min_episodes")])
def test_recent_costs_refuse_bad_settings_by_name(horizon, minimum, name):
    with pytest.raises(ValueError, match=f"`{name}`"):
        RecentEpisodeCosts(horizon, minimum)
