"""The constrained search's score: feasible trials rank above infeasible ones, whatever their returns."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from rllib_safe.sweeps.score import UNMEASURED, constrained_score, is_feasible

returns = st.floats(-1e8, 1e8, allow_nan=False)
limits = st.one_of(st.just(0.0), st.floats(1e-3, 1e4))  # d = 0, or one a relative excess can measure
scales = st.floats(1e-3, 1e3, allow_nan=False)


@given(returns, returns, limits, st.floats(0.0, 1.0), st.floats(1e-6, 1e6))
def test_a_feasible_trial_always_ranks_above_an_infeasible_one(feasible_return, infeasible_return, limit,
                                                                 share, excess):
    feasible = constrained_score(feasible_return, limit * share, limit)
    infeasible = constrained_score(infeasible_return, limit + excess, limit)
    assert feasible > infeasible


@given(returns, returns, limits, st.floats(0.0, 1.0))
def test_feasible_trials_rank_by_return(first, second, limit, share):
    cost = limit * share
    assert (constrained_score(first, cost, limit) > constrained_score(second, cost, limit)) == (first > second)


@given(returns, limits, st.floats(1e-3, 1e3), st.floats(1e-3, 1e3))
def test_infeasible_trials_rank_nearer_the_limit_higher(episode_return, limit, small, extra):
    near = constrained_score(episode_return, limit + small * max(limit, 1.0), limit)
    far = constrained_score(episode_return, limit + (small + extra) * max(limit, 1.0), limit)
    assert near > far


@given(returns, limits, st.floats(0.0, 3.0), scales)
def test_the_score_does_not_depend_on_the_cost_units(episode_return, limit, ratio, scale):
    """Multiplying every cost and d by k > 0 leaves the constrained problem, and the ranking, unchanged."""
    original = constrained_score(episode_return, limit * ratio, limit)
    scaled = constrained_score(episode_return, limit * ratio * scale, limit * scale)
    assert math.isclose(original, scaled, rel_tol=1e-9) or (original == scaled)


@given(returns, limits)
def test_no_measurement_ranks_below_everything(episode_return, limit):
    worst_infeasible = constrained_score(episode_return, 1e30, limit)
    assert constrained_score(episode_return, None, limit) == UNMEASURED < worst_infeasible
    assert constrained_score(math.nan, limit, limit) == UNMEASURED
    assert constrained_score(None, 0.0, limit) == UNMEASURED


def test_feasibility_is_j_c_at_or_under_d():
    assert is_feasible(25.0, 25.0) and not is_feasible(25.01, 25.0)
    assert not is_feasible(None, 25.0) and not is_feasible(math.nan, 25.0)
    assert constrained_score(12.5, 25.0, 25.0) == 12.5  # at the limit: feasible, the score is the return
