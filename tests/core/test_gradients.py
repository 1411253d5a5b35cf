"""PCRPO gradient manipulation (algorithms.md, section 2): the spec's facts as properties."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rllib_safe.core.gradients import (
    Region,
    UpdateMode,
    assign_flat_grad,
    assign_flat_params,
    flat_grad,
    flatten_params,
    manipulate_gradients,
    project_onto_normal_plane,
    select_region,
)

PROPERTY = settings(deadline=None, max_examples=100)

LIMIT = 25.0


@st.composite
def gradient_pairs(draw, min_dim: int = 1, max_dim: int = 8):
    """Two float64 vectors of the same length; entries may be zero."""
    dim = draw(st.integers(min_dim, max_dim))
    entries = st.floats(-10.0, 10.0, allow_nan=False).map(lambda v: 0.0 if abs(v) < 1e-3 else v)
    g_r = torch.tensor(draw(st.lists(entries, min_size=dim, max_size=dim)), dtype=torch.float64)
    g_c = torch.tensor(draw(st.lists(entries, min_size=dim, max_size=dim)), dtype=torch.float64)
    return g_r, g_c


def manipulate(g_r, g_c, episode_cost=LIMIT, slack_upper=5.0, slack_lower=-5.0, **kwargs):
    return manipulate_gradients(
        g_r,
        g_c,
        episode_cost=episode_cost,
        cost_limit=LIMIT,
        slack_upper=slack_upper,
        slack_lower=slack_lower,
        **kwargs,
    )


def tolerance(*vectors: torch.Tensor) -> float:
    """Rounding allowance for inner products of float64 vectors of these sizes."""
    return 1e-12 * (1.0 + math.prod(float(v.norm()) + 1.0 for v in vectors))


# --------------------------------------------------------------------------- spec facts


@PROPERTY
@given(gradient_pairs(), st.floats(0.0, 1.0))
def test_soft_region_at_90_degrees_improves_neither_objective_less_than_zero(pair, reward_weight):
    g_r, g_c = pair
    out = manipulate(g_r, g_c, conflict_angle_deg=90.0, reward_weight=reward_weight)
    assert int(out.mode) in (UpdateMode.SOFT_ALIGNED, UpdateMode.SOFT_CONFLICT)
    assert float(out.direction @ g_r) >= -tolerance(out.direction, g_r)
    assert float(out.direction @ g_c) >= -tolerance(out.direction, g_c)


@PROPERTY
@given(gradient_pairs(), st.floats(0.0, 50.0).filter(lambda j: j != LIMIT))
def test_zero_slacks_are_hard_switching(pair, episode_cost):
    g_r, g_c = pair
    out = manipulate(g_r, g_c, episode_cost=episode_cost, slack_upper=0.0, slack_lower=0.0)
    if episode_cost > LIMIT:
        assert int(out.mode) == UpdateMode.COST
        torch.testing.assert_close(out.direction, g_c)
    else:
        assert int(out.mode) == UpdateMode.REWARD
        torch.testing.assert_close(out.direction, g_r)
    assert not bool(out.projected)


@PROPERTY
@given(st.floats(-1e6, 1e6), st.floats(-1e3, 0.0))
def test_infinite_upper_slack_never_picks_cost(episode_cost, slack_lower):
    region = select_region(episode_cost, LIMIT, math.inf, slack_lower)
    assert region is not Region.COST


@PROPERTY
@given(st.floats(-1e6, 1e6), st.floats(0.0, 1e3))
def test_infinite_lower_slack_never_picks_reward(episode_cost, slack_upper):
    region = select_region(episode_cost, LIMIT, slack_upper, -math.inf)
    assert region is not Region.REWARD


def test_infinite_slacks_on_both_sides_always_soft():
    for episode_cost in (-1e300, 0.0, LIMIT, 1e300, math.inf):
        assert select_region(episode_cost, LIMIT, math.inf, -math.inf) is Region.SOFT


@pytest.mark.parametrize(
    ("episode_cost", "expected"),
    [(31.0, Region.COST), (30.0, Region.SOFT), (25.0, Region.SOFT), (20.0, Region.SOFT),
     (19.0, Region.REWARD)],
)
def test_region_boundaries_are_inclusive_in_the_soft_region(episode_cost, expected):
    assert select_region(episode_cost, LIMIT, 5.0, -5.0) is expected


@PROPERTY
@given(gradient_pairs())
def test_projection_is_orthogonal_to_the_normal(pair):
    g, normal = pair
    projected = project_onto_normal_plane(g, normal)
    assert abs(float(projected @ normal)) <= tolerance(g, normal)
    assert torch.isfinite(projected).all()


@pytest.mark.parametrize("scale", [1e-30, 1e-20, 1.0, 1e20])
def test_projection_is_stable_for_tiny_and_huge_normals_in_float32(scale):
    g = torch.tensor([1.0, 2.0, -3.0])
    normal = torch.tensor([0.5, -1.0, 2.0]) * scale
    projected = project_onto_normal_plane(g, normal)
    direction = torch.tensor([0.5, -1.0, 2.0])
    unit = direction / direction.norm()
    assert torch.isfinite(projected).all()
    assert abs(float(projected @ unit)) < 1e-5


def test_projection_onto_zero_normal_is_identity():
    g = torch.tensor([1.0, -2.0])
    torch.testing.assert_close(project_onto_normal_plane(g, torch.zeros(2)), g)


@PROPERTY
@given(gradient_pairs(min_dim=2), st.floats(0.0, 1.0))
def test_conflict_direction_is_weighted_sum_of_mutual_projections(pair, reward_weight):
    g_r, g_c = pair
    out = manipulate(g_r, g_c, reward_weight=reward_weight)
    if bool(out.projected):
        assert float(g_r @ g_c) < 0
        expected = reward_weight * project_onto_normal_plane(g_r, g_c) + (
            1 - reward_weight
        ) * project_onto_normal_plane(g_c, g_r)
        assert int(out.mode) == UpdateMode.SOFT_CONFLICT
    else:
        assert float(g_r @ g_c) >= 0
        expected = reward_weight * g_r + (1 - reward_weight) * g_c
        assert int(out.mode) == UpdateMode.SOFT_ALIGNED
    torch.testing.assert_close(out.direction, expected)


@pytest.mark.parametrize("threshold", [30.0, 60.0, 90.0, 120.0, 150.0, 180.0])
@pytest.mark.parametrize("angle", [0.0, 15.0, 45.0, 75.0, 89.0, 91.0, 105.0, 135.0, 165.0, 179.0])
def test_conflict_test_compares_the_angle_with_the_threshold(threshold, angle):
    radians = math.radians(angle)
    g_r = torch.tensor([1.0, 0.0], dtype=torch.float64)
    g_c = 3.0 * torch.tensor([math.cos(radians), math.sin(radians)], dtype=torch.float64)
    out = manipulate(g_r, g_c, conflict_angle_deg=threshold)
    assert bool(out.projected) == (angle > threshold)
    assert math.isclose(float(out.cos_angle), math.cos(radians), abs_tol=1e-12)
    assert math.isclose(float(out.reward_grad_norm), 1.0)
    assert math.isclose(float(out.cost_grad_norm), 3.0)


def test_orthogonal_gradients_at_90_degrees_are_not_a_conflict():
    out = manipulate(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0]), conflict_angle_deg=90.0)
    assert int(out.mode) == UpdateMode.SOFT_ALIGNED


# --------------------------------------------------------------------------- degenerate inputs


@pytest.mark.parametrize("episode_cost", [0.0, LIMIT, 100.0])
@pytest.mark.parametrize("angle", [1.0, 45.0, 90.0, 180.0])
@pytest.mark.parametrize(
    ("g_r", "g_c"),
    [
        ([0.0, 0.0, 0.0], [0.0, 0.0, 0.0]),
        ([0.0, 0.0, 0.0], [1.0, -2.0, 3.0]),
        ([1.0, -2.0, 3.0], [0.0, 0.0, 0.0]),
        ([1.0, -2.0, 3.0], [2.0, -4.0, 6.0]),  # parallel
        ([1.0, -2.0, 3.0], [-2.0, 4.0, -6.0]),  # anti-parallel
        ([1e-30, 0.0, 0.0], [-1e-30, 1e-30, 0.0]),  # underflowing norms
    ],
)
def test_degenerate_gradients_give_finite_directions(episode_cost, angle, g_r, g_c):
    out = manipulate(
        torch.tensor(g_r), torch.tensor(g_c), episode_cost=episode_cost, conflict_angle_deg=angle
    )
    for value in out[:-1]:
        assert torch.isfinite(value).all()
    assert -1.0 <= float(out.cos_angle) <= 1.0


def test_zero_gradient_has_zero_cosine_and_no_projection_at_90_degrees():
    out = manipulate(torch.zeros(3), torch.tensor([1.0, 2.0, 3.0]))
    assert float(out.cos_angle) == 0.0
    assert int(out.mode) == UpdateMode.SOFT_ALIGNED


def test_anti_parallel_gradients_cancel_in_the_soft_region():
    g_r = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64)
    out = manipulate(g_r, -2.0 * g_r)
    assert int(out.mode) == UpdateMode.SOFT_CONFLICT
    torch.testing.assert_close(out.direction, torch.zeros(3, dtype=torch.float64))


def test_parallel_gradients_are_summed_with_weights():
    g_r = torch.tensor([1.0, -2.0])
    out = manipulate(g_r, 2.0 * g_r, reward_weight=0.25)
    assert int(out.mode) == UpdateMode.SOFT_ALIGNED
    torch.testing.assert_close(out.direction, 0.25 * g_r + 0.75 * 2.0 * g_r)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize(
    ("episode_cost", "which"), [(LIMIT, "g_r"), (LIMIT, "g_c"), (0.0, "g_r"), (100.0, "g_c")]
)
def test_non_finite_gradient_in_use_raises(bad, episode_cost, which):
    g = {"g_r": torch.ones(3), "g_c": torch.ones(3)}
    g[which][1] = bad
    with pytest.raises(FloatingPointError, match=which):
        manipulate(g["g_r"], g["g_c"], episode_cost=episode_cost)
    out = manipulate(g["g_r"], g["g_c"], episode_cost=episode_cost, check_finite=False)
    assert out.direction.shape == (3,)


def test_non_finite_gradient_not_in_use_is_allowed():
    g_c = torch.tensor([math.nan, 1.0])
    out = manipulate(torch.ones(2), g_c, episode_cost=0.0)
    assert int(out.mode) == UpdateMode.REWARD
    torch.testing.assert_close(out.direction, torch.ones(2))


# --------------------------------------------------------------------------- outputs and validation


def test_outputs_keep_dtype_and_hold_update_modes():
    out = manipulate(torch.ones(4, dtype=torch.float64), -torch.ones(4, dtype=torch.float64))
    assert out.direction.dtype == torch.float64
    assert out.mode.dtype == torch.int64 and out.mode.dim() == 0
    assert out.projected.dtype == torch.bool and out.projected.dim() == 0
    assert UpdateMode(int(out.mode)) is UpdateMode.SOFT_CONFLICT
    for value in (out.cos_angle, out.reward_grad_norm, out.cost_grad_norm):
        assert value.dim() == 0


def test_hard_modes_return_a_copy_of_the_gradient():
    g_r = torch.ones(2)
    out = manipulate(g_r, torch.zeros(2), episode_cost=0.0)
    out.direction.add_(1.0)
    torch.testing.assert_close(g_r, torch.ones(2))


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"conflict_angle_deg": 0.0}, "conflict_angle_deg"),
        ({"conflict_angle_deg": 181.0}, "conflict_angle_deg"),
        ({"conflict_angle_deg": math.nan}, "conflict_angle_deg"),
        ({"reward_weight": -0.1}, "reward_weight"),
        ({"reward_weight": 1.5}, "reward_weight"),
        ({"slack_upper": -1.0}, "slack_upper"),
        ({"slack_lower": 1.0}, "slack_lower"),
        ({"slack_upper": math.nan}, "slack_upper"),
        ({"episode_cost": math.nan}, "episode_cost"),
    ],
)
def test_invalid_arguments_raise_naming_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        manipulate(torch.ones(2), torch.ones(2), **kwargs)


def test_mismatched_shapes_raise():
    with pytest.raises(ValueError, match="same length"):
        manipulate(torch.ones(2), torch.ones(3))


def test_infinite_cost_limit_raises():
    with pytest.raises(ValueError, match="cost_limit"):
        select_region(1.0, math.inf, 0.0, 0.0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_soft_region_runs_without_host_sync_on_cuda():
    g_r = torch.randn(1000, device="cuda")
    g_c = torch.randn(1000, device="cuda")
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        out = manipulate(g_r, g_c, check_finite=False)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert out.direction.device.type == "cuda" and out.mode.device.type == "cuda"


# --------------------------------------------------------------------------- flat vectors


def _tiny_net():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))


def test_flat_grad_matches_backward_and_round_trips_through_grad():
    net = _tiny_net()
    params = list(net.parameters())
    loss = net(torch.randn(5, 3)).pow(2).mean()
    flat = flat_grad(loss, params, retain_graph=True)
    loss.backward()
    expected = torch.cat([p.grad.reshape(-1) for p in params])
    torch.testing.assert_close(flat, expected)
    assign_flat_grad(params, 2 * flat)
    torch.testing.assert_close(torch.cat([p.grad.reshape(-1) for p in params]), 2 * flat)
    for p in params:
        p.grad = None
    assign_flat_grad(params, flat)
    torch.testing.assert_close(torch.cat([p.grad.reshape(-1) for p in params]), flat)


def test_flat_grad_gives_zeros_for_unused_and_frozen_params():
    used = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    unused = torch.nn.Parameter(torch.ones(3))
    frozen = torch.ones(2)
    flat = flat_grad((used**2).sum(), [used, unused, frozen])
    torch.testing.assert_close(flat, torch.tensor([2.0, 4.0, 0, 0, 0, 0, 0]))
    constant = flat_grad(torch.tensor(1.0), [used])
    torch.testing.assert_close(constant, torch.zeros(2))


def test_params_round_trip_and_size_is_checked():
    net = _tiny_net()
    params = list(net.parameters())
    flat = flatten_params(params)
    assign_flat_params(params, flat + 1.0)
    torch.testing.assert_close(flatten_params(params), flat + 1.0)
    with pytest.raises(ValueError, match="elements"):
        assign_flat_params(params, flat[:-1])
    with pytest.raises(ValueError, match="elements"):
        assign_flat_grad(params, flat[:-1])
    with pytest.raises(ValueError, match="params"):
        flat_grad(torch.tensor(1.0), [])
