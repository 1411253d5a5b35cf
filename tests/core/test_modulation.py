"""SMPO modulation weight, its derivative and the dynamic threshold (docs/algorithms.md, section 3)."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rllib_safe.core.modulation import (
    WEIGHT_FLOOR,
    modulate_rewards,
    resampled_action_weights,
    reward_weight_sensitivity,
    shift_rewards,
)
from rllib_safe.core.modulation import (
    modulation_weight as core_modulation_weight,
)
from rllib_safe.core.modulation import (
    modulation_weight_derivative as core_modulation_weight_derivative,
)

#: The paper's f (b = 3, absolute units, unclamped): what a call below leaves out (the core has no defaults).
PAPER = {"base": 3.0, "units": "absolute", "min_weight": None}


def modulation_weight(x, threshold, **kwargs):
    return core_modulation_weight(x, threshold, **(PAPER | kwargs))


def modulation_weight_derivative(x, threshold, **kwargs):
    return core_modulation_weight_derivative(x, threshold, **(PAPER | kwargs))

PROPERTY = settings(deadline=None, max_examples=100)
thresholds = st.floats(1e-2, 5000.0)
bases = st.floats(1.05, 10.0)
units = st.sampled_from(["absolute", "normalized"])
rewards = st.floats(-100.0, 100.0)
weights = st.floats(WEIGHT_FLOOR, 1.0)


@PROPERTY
@given(thresholds, bases, units)
def test_weight_is_one_at_zero_and_zero_at_the_threshold(threshold, base, unit):
    x = torch.tensor([0.0, threshold], dtype=torch.float64)
    weight = modulation_weight(x, threshold, base=base, units=unit)
    assert math.isclose(float(weight[0]), 1.0, rel_tol=1e-12)
    assert abs(float(weight[1])) <= 1e-12


@PROPERTY
@given(thresholds, bases, units)
def test_weight_is_decreasing_and_negative_past_the_threshold(threshold, base, unit):
    x = torch.linspace(0.0, 2 * threshold + 10.0, 200, dtype=torch.float64)
    weight = modulation_weight(x, threshold, base=base, units=unit)
    assert torch.isfinite(weight).all()
    assert (weight.diff() <= 0).all()
    assert (weight[x > threshold] < 0).all()
    derivative = modulation_weight_derivative(x, threshold, base=base, units=unit)
    assert torch.isfinite(derivative).all() and (derivative <= 0).all()  # may underflow to -0


@PROPERTY
@given(st.floats(0.1, 50.0), bases, st.floats(0.0, 1.5), units, st.sampled_from([None, -1.0]))
def test_derivative_matches_autograd(threshold, base, fraction, unit, min_weight):
    x = torch.tensor([0.0, fraction, 1.0], dtype=torch.float64) * threshold
    x.requires_grad_()
    kwargs = {"base": base, "units": unit, "min_weight": min_weight}
    (grad,) = torch.autograd.grad(modulation_weight(x, threshold, **kwargs).sum(), x)
    torch.testing.assert_close(modulation_weight_derivative(x.detach(), threshold, **kwargs), grad)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(("threshold", "base"), [(1400.0, 4.0), (2800.0, 4.0), (1e5, 10.0)])
def test_large_thresholds_and_bases_stay_finite(dtype, threshold, base):
    x = torch.linspace(0.0, threshold, 1001, dtype=dtype)
    weight = modulation_weight(x, threshold, base=base)
    derivative = modulation_weight_derivative(x, threshold, base=base)
    assert torch.isfinite(weight).all() and torch.isfinite(derivative).all()
    assert float(weight[0]) == 1.0 and abs(float(weight[-1])) < 1e-6
    assert (weight >= -1e-6).all() and (weight <= 1.0).all()


def test_matches_the_paper_formula_where_it_is_representable():
    x = torch.tensor([0.0, 3.0, 10.0, 12.0], dtype=torch.float64)
    threshold, base = 10.0, 3.0
    naive = (1 - base ** (x - threshold)) / (1 - base ** (-threshold))
    torch.testing.assert_close(modulation_weight(x, threshold, base=base), naive)
    naive_derivative = -math.log(base) * base ** (x - threshold) / (1 - base ** (-threshold))
    torch.testing.assert_close(
        modulation_weight_derivative(x, threshold, base=base), naive_derivative
    )


def test_normalized_units_are_the_curve_on_x_over_the_threshold():
    threshold, base = 25.0, 3.0
    x = torch.tensor([0.0, 5.0, 12.5, 24.0, 25.0, 30.0], dtype=torch.float64)
    u = x / threshold
    paper = (1 - base ** (u - 1)) / (1 - 1 / base)
    torch.testing.assert_close(modulation_weight(x, threshold, base=base, units="normalized"), paper)
    slope = -math.log(base) * base ** (u - 1) / (threshold * (1 - 1 / base))
    torch.testing.assert_close(modulation_weight_derivative(x, threshold, base=base, units="normalized"), slope)
    # Absolute units fall from 0.96 to -1 within 3 cost units of d'; normalized ones spread over [0, d'].
    absolute = modulation_weight(torch.tensor([22.0, threshold + math.log(2, base)]), threshold, base=base)
    assert absolute.tolist() == pytest.approx([0.963, -1.0], abs=1e-3)
    assert float(modulation_weight(torch.tensor(12.5), threshold, base=base, units="normalized")) == pytest.approx(
        0.634, abs=1e-3
    )


@pytest.mark.parametrize("unit", ["absolute", "normalized"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("base", [1.0001, 3.0, 1e3])
@pytest.mark.parametrize("min_weight", [None, WEIGHT_FLOOR, -1.0])
def test_far_past_the_threshold_weight_and_derivative_stay_finite(unit, dtype, base, min_weight):
    """Episode cost 50x (and 1e6x) the threshold: b^(x - d') overflows, f and f' must not."""
    threshold = 25.0
    x = torch.tensor([0.0, 50 * threshold, 1e6 * threshold], dtype=dtype)
    kwargs = {"base": base, "units": unit, "min_weight": min_weight}
    weight = modulation_weight(x, threshold, **kwargs)
    derivative = modulation_weight_derivative(x, threshold, **kwargs)
    assert torch.isfinite(weight).all() and torch.isfinite(derivative).all()
    assert float(weight.min()) >= (WEIGHT_FLOOR if min_weight is None else min_weight)
    assert float(weight[-1]) == (WEIGHT_FLOOR if min_weight is None else min_weight)
    assert float(derivative[-1]) == 0.0  # the clamp bites: no gradient
    assert torch.isfinite(modulate_rewards(torch.tensor([0.0, 1.0, -1.0], dtype=dtype), weight, "penalise")).all()


def test_min_weight_none_is_the_papers_weight_down_to_the_floor():
    x = torch.tensor([0.0, 30.0, 40.0, 1e4])
    weight = modulation_weight(x, 25.0, base=3.0)
    assert float(weight[1]) == pytest.approx(1 - 3.0**5, rel=1e-6)  # unclamped at -242
    assert float(weight[2]) == WEIGHT_FLOOR and float(weight[3]) == WEIGHT_FLOOR
    clamped = modulation_weight(x, 25.0, base=4.0, min_weight=-1.0)
    torch.testing.assert_close(clamped, torch.tensor([1.0, -1.0, -1.0, -1.0]))


def test_clamp_bounds_the_weight_to_min_weight_and_one():
    x = torch.tensor([-5.0, 0.0, 20.0, 50.0])
    weight = modulation_weight(x, 25.0, min_weight=-0.5)
    assert float(weight.max()) == 1.0 and float(weight.min()) == -0.5


def test_tensor_threshold_broadcasts():
    x = torch.tensor([[0.0, 10.0], [0.0, 20.0]], dtype=torch.float64)
    threshold = torch.tensor([[10.0], [20.0]], dtype=torch.float64)
    weight = modulation_weight(x, threshold)
    torch.testing.assert_close(weight, torch.tensor([[1.0, 0.0], [1.0, 0.0]], dtype=torch.float64))


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"threshold": 0.0}, "threshold"),
        ({"threshold": -1.0}, "threshold"),
        ({"threshold": math.inf}, "threshold"),
        ({"threshold": torch.tensor([1.0, 0.0])}, "threshold"),
        ({"base": 1.0}, "base"),
        ({"base": 0.5}, "base"),
        ({"min_weight": 2.0}, "min_weight"),
        ({"min_weight": 2 * WEIGHT_FLOOR}, "min_weight"),
        ({"units": "log"}, "units"),
    ],
)
def test_weight_validates(kwargs, name):
    arguments = {"threshold": 25.0} | kwargs
    with pytest.raises(ValueError, match=name):
        modulation_weight(torch.zeros(2), **arguments)


def test_derivative_validates():
    with pytest.raises(ValueError, match="threshold"):
        modulation_weight_derivative(torch.zeros(2), 0.0)
    with pytest.raises(ValueError, match="base"):
        modulation_weight_derivative(torch.zeros(2), 1.0, base=1.0)
    with pytest.raises(ValueError, match="units"):
        modulation_weight_derivative(torch.zeros(2), 1.0, units="relative")


# --------------------------------------------------------------------------- negative rewards


def _modulated(reward: float, weight: float, mode: str) -> float:
    as_tensor = torch.tensor([reward, weight], dtype=torch.float64)
    return float(modulate_rewards(as_tensor[:1], as_tensor[1:], mode))


@PROPERTY
@given(st.floats(0.0, 100.0), weights, st.sampled_from(["penalise", "unmodulated", "paper"]))
def test_non_negative_rewards_are_scaled_by_the_weight_in_every_mode(reward, weight, mode):
    assert _modulated(reward, weight, mode) == pytest.approx(weight * reward, rel=1e-12, abs=1e-9)


@PROPERTY
@given(st.floats(-100.0, -1e-6), weights)
def test_penalise_never_makes_a_negative_reward_better(reward, weight):
    modulated = _modulated(reward, weight, "penalise")
    assert modulated <= reward < 0  # never a bonus, never a smaller penalty
    assert modulated == pytest.approx((2 - weight) * reward, rel=1e-12)


@PROPERTY
@given(rewards, weights, weights, st.sampled_from(["penalise", "unmodulated"]))
def test_modulated_reward_is_non_decreasing_in_the_weight(reward, weight, other, mode):
    """A lower weight (closer to, or past, the budget) never makes a reward better."""
    low, high = sorted((weight, other))
    assert _modulated(reward, low, mode) <= _modulated(reward, high, mode) + 1e-9


@PROPERTY
@given(rewards, weights, st.sampled_from(["penalise", "unmodulated", "paper"]))
def test_sensitivity_is_the_derivative_in_the_weight(reward, weight, mode):
    r = torch.tensor([reward], dtype=torch.float64)
    f = torch.tensor([weight], dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(modulate_rewards(r, f, mode).sum(), f)
    torch.testing.assert_close(reward_weight_sensitivity(r, mode), grad)


def test_negative_reward_past_the_threshold_in_each_mode():
    """r = -0.2 with f = -1: the paper's product pays a bonus of +0.2."""
    modes = ("penalise", "unmodulated", "paper")
    assert [_modulated(-0.2, -1.0, mode) for mode in modes] == pytest.approx([-0.6, -0.2, 0.2])
    assert [_modulated(-0.2, 1.0, mode) for mode in modes] == pytest.approx([-0.2, -0.2, -0.2])


def test_modulate_rewards_validates_the_mode():
    with pytest.raises(ValueError, match="negative_rewards"):
        modulate_rewards(torch.ones(1), torch.ones(1), "bonus")


# --------------------------------------------------------------------------- dynamic threshold


@given(st.lists(st.floats(-100.0, 100.0), min_size=1, max_size=30), st.floats(0.0, 1.0))
def test_the_authors_shift_makes_every_reward_of_an_episode_non_negative(episode_rewards, offset):
    rewards = torch.tensor(episode_rewards, dtype=torch.float64)
    minimum = torch.cummin(rewards.clamp(max=0.0), dim=0).values  # what CostContract keeps per step
    shifted = shift_rewards(rewards, offset=offset, episode_reward_minimum=minimum)
    assert (shifted >= offset - 1e-9).all()
    if (rewards >= 0).all():  # nothing to shift: only the offset is added
        assert torch.allclose(shifted, rewards + offset)
    # The shift only grows along the episode: a later reward is never shifted less.
    shift = shifted - rewards - offset
    assert (shift[1:] >= shift[:-1] - 1e-9).all()


@given(st.floats(0.0, 50.0), st.floats(0.0, 25.0), st.floats(0.0, 25.0), st.floats(1e-3, 10.0))
def test_resampled_action_weights_pull_away_from_costly_actions(reward_to_go, cost_q, cost_so_far, threshold):
    """W = G Q^c(s, a') f' <= 0 for G, Q^c >= 0: minimising -W log pi(a'|s) makes a costly a' less likely."""
    x = torch.tensor([cost_so_far + min(cost_q, threshold)], dtype=torch.float64)
    slope = modulation_weight_derivative(x, threshold, base=4.0, units="absolute", min_weight=-5.0)
    weights = resampled_action_weights(torch.tensor([reward_to_go]), torch.tensor([cost_q]), slope)
    assert (weights <= 0).all()
    assert weights.item() == pytest.approx(reward_to_go * cost_q * slope.item())
