"""SMPO modulation weight, its derivative and the dynamic threshold (algorithms.md, section 3)."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rllib_safe.core.modulation import (
    dynamic_threshold,
    modulation_weight,
    modulation_weight_derivative,
)

PROPERTY = settings(deadline=None, max_examples=100)
thresholds = st.floats(1e-2, 5000.0)
bases = st.floats(1.05, 10.0)


@PROPERTY
@given(thresholds, bases)
def test_weight_is_one_at_zero_and_zero_at_the_threshold(threshold, base):
    x = torch.tensor([0.0, threshold], dtype=torch.float64)
    weight = modulation_weight(x, threshold, base=base)
    assert math.isclose(float(weight[0]), 1.0, rel_tol=1e-12)
    assert abs(float(weight[1])) <= 1e-12


@PROPERTY
@given(thresholds, bases)
def test_weight_is_decreasing_and_negative_past_the_threshold(threshold, base):
    x = torch.linspace(0.0, threshold + 10.0, 200, dtype=torch.float64)
    weight = modulation_weight(x, threshold, base=base)
    assert torch.isfinite(weight).all()
    assert (weight.diff() <= 0).all()
    assert (weight[x > threshold] < 0).all()
    derivative = modulation_weight_derivative(x, threshold, base=base)
    assert torch.isfinite(derivative).all() and (derivative <= 0).all()  # may underflow to -0


@PROPERTY
@given(st.floats(0.1, 50.0), bases, st.floats(0.0, 1.5))
def test_derivative_matches_autograd(threshold, base, fraction):
    x = torch.tensor([0.0, fraction, 1.0], dtype=torch.float64) * threshold
    x.requires_grad_()
    (grad,) = torch.autograd.grad(modulation_weight(x, threshold, base=base).sum(), x)
    torch.testing.assert_close(modulation_weight_derivative(x.detach(), threshold, base=base), grad)


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


def test_far_past_the_threshold_the_weight_is_minus_inf_not_nan_and_clamps():
    x = torch.tensor([0.0, 1e4])
    unclamped = modulation_weight(x, 25.0, base=4.0)
    assert not torch.isnan(unclamped).any() and float(unclamped[1]) == -math.inf
    clamped = modulation_weight(x, 25.0, base=4.0, min_weight=-1.0)
    torch.testing.assert_close(clamped, torch.tensor([1.0, -1.0]))


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


# --------------------------------------------------------------------------- dynamic threshold


@PROPERTY
@given(st.floats(0.0, 1e4), st.floats(1.0, 5.0), st.integers(1, 200))
def test_dynamic_threshold_endpoints_and_monotonicity(cost_limit, eta, max_epochs):
    def threshold(epoch: int) -> float:
        return dynamic_threshold(epoch, cost_limit, eta=eta, max_epochs=max_epochs)

    assert math.isclose(threshold(0), eta * cost_limit)
    for epoch in (max_epochs, max_epochs + 1, 10 * max_epochs):
        assert math.isclose(threshold(epoch), cost_limit)
    values = [threshold(epoch) for epoch in range(max_epochs + 1)]
    assert all(a >= b for a, b in zip(values, values[1:]))


def test_dynamic_threshold_defaults_fall_linearly_from_two_d_to_d():
    assert dynamic_threshold(0, 25.0) == 50.0
    assert dynamic_threshold(25, 25.0) == 37.5
    assert dynamic_threshold(50, 25.0) == 25.0


@pytest.mark.parametrize("epoch", [0, 7, 100])
def test_dynamic_threshold_can_be_disabled(epoch):
    assert dynamic_threshold(epoch, 25.0, eta=1.0) == 25.0
    assert dynamic_threshold(epoch, 25.0, max_epochs=0) == 25.0


@pytest.mark.parametrize(
    ("args", "kwargs", "name"),
    [
        ((-1, 25.0), {}, "epoch"),
        ((0, -1.0), {}, "cost_limit"),
        ((0, math.inf), {}, "cost_limit"),
        ((0, 25.0), {"eta": 0.5}, "eta"),
        ((0, 25.0), {"max_epochs": -1}, "max_epochs"),
    ],
)
def test_dynamic_threshold_validates(args, kwargs, name):
    with pytest.raises(ValueError, match=name):
        dynamic_threshold(*args, **kwargs)
