"""PCRPO gradient manipulation (docs/algorithms.md, section 2): its stated properties."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rllib_safe.core.gradients import (
    PAPER_CONFLICT_ANGLE,
    PAPER_REWARD_WEIGHT,
    Region,
    UpdateMode,
    assign_flat_grad,
    assign_flat_params,
    flat_grad,
    flatten_params,
    hard_switch_region,
    project_onto_normal_plane,
    select_region,
)
from rllib_safe.core.gradients import (
    manipulate_gradients as core_manipulate_gradients,
)
from rllib_safe.core.trust_region import conjugate_gradient

#: The paper's theta* and x_r, the settings a call below leaves out (the core function has no defaults).
PAPER = {"conflict_angle_deg": PAPER_CONFLICT_ANGLE, "reward_weight": PAPER_REWARD_WEIGHT}


def manipulate_gradients(g_r, g_c, **kwargs):
    return core_manipulate_gradients(g_r, g_c, **(PAPER | kwargs))

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
    region = select_region(episode_cost, LIMIT, slack_upper, slack_lower)
    return manipulate_gradients(g_r, g_c, region=region, **kwargs)


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


# --------------------------------------------------------------------------- metric (trust-region step)


def spd_matrix(seed: int, dim: int, low: float = 1e3, high: float = 1e5) -> torch.Tensor:
    """Q diag(lambda) Q^T with eigenvalues log-uniform in [low, high] (an ill-conditioned Fisher)."""
    gen = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(dim, dim, generator=gen, dtype=torch.float64))
    exponents = torch.rand(dim, generator=gen, dtype=torch.float64)
    eigenvalues = low * (high / low) ** exponents
    return q @ torch.diag(eigenvalues) @ q.T


def exact_inverse(fisher: torch.Tensor):
    return lambda g: torch.linalg.solve(fisher, g)


def first_order_gains(g_r, g_c, fisher, *, metric: bool, **kwargs) -> tuple[float, float, int]:
    """(g_r.s, g_c.s, mode) for the soft step s: Fisher-metric manipulation, or F^-1 of the Euclidean one."""
    if metric:
        out = manipulate_gradients(g_r, g_c, region=Region.SOFT, inverse_metric=exact_inverse(fisher), **kwargs)
        step = out.direction
    else:
        out = manipulate_gradients(g_r, g_c, region=Region.SOFT, **kwargs)
        step = torch.linalg.solve(fisher, out.direction)
    return float(g_r @ step), float(g_c @ step), int(out.mode)


def test_issue_example_euclidean_step_lowers_the_reward_but_the_fisher_one_does_not():
    fisher = torch.diag(torch.tensor([10.0, 1.0], dtype=torch.float64))
    g_r = torch.tensor([1.0, 1.0], dtype=torch.float64)
    g_c = torch.tensor([3.0, -2.0], dtype=torch.float64)
    reward_gain, cost_gain, mode = first_order_gains(g_r, g_c, fisher, metric=False)
    assert mode == UpdateMode.SOFT_ALIGNED  # g_r.g_c = 1 > 0 in the Euclidean metric
    assert reward_gain == pytest.approx(-0.3) and cost_gain > 0
    reward_gain, cost_gain, mode = first_order_gains(g_r, g_c, fisher, metric=True)
    assert mode == UpdateMode.SOFT_CONFLICT  # g_r^T F^-1 g_c = -1.7 < 0 in the Fisher metric
    assert reward_gain == pytest.approx(0.5 * (1.1 - 1.7**2 / 4.9)) and cost_gain == pytest.approx(
        0.5 * (4.9 - 1.7**2 / 1.1)
    )


@PROPERTY
@given(
    st.integers(0, 2**31 - 1),
    st.integers(2, 8),
    st.floats(0.0, 1.0),
    st.sampled_from([30.0, 60.0, 90.0]),
)
def test_fisher_soft_step_never_lowers_either_objective_to_first_order(seed, dim, reward_weight, angle):
    fisher = spd_matrix(seed, dim)
    gen = torch.Generator().manual_seed(seed + 1)
    g_r, g_c = torch.randn(2, dim, generator=gen, dtype=torch.float64)
    reward_gain, cost_gain, _ = first_order_gains(
        g_r, g_c, fisher, metric=True, reward_weight=reward_weight, conflict_angle_deg=angle
    )
    scale = float(g_r.norm() + g_c.norm()) ** 2 / 1e3
    assert reward_gain >= -1e-9 * scale and cost_gain >= -1e-9 * scale


@PROPERTY
@given(st.integers(0, 2**31 - 1), st.integers(2, 8), st.floats(0.0, 1.0), st.floats(90.0, 180.0))
def test_fisher_conflict_step_never_lowers_either_objective_at_any_threshold(seed, dim, reward_weight, angle):
    fisher = spd_matrix(seed, dim)
    gen = torch.Generator().manual_seed(seed + 1)
    g_r, g_c = torch.randn(2, dim, generator=gen, dtype=torch.float64)
    reward_gain, cost_gain, mode = first_order_gains(
        g_r, g_c, fisher, metric=True, reward_weight=reward_weight, conflict_angle_deg=angle
    )
    scale = float(g_r.norm() + g_c.norm()) ** 2 / 1e3
    if mode == UpdateMode.SOFT_CONFLICT:
        assert reward_gain >= -1e-9 * scale and cost_gain >= -1e-9 * scale
    else:  # aligned up to theta*: the weighted objective still rises
        assert reward_weight * reward_gain + (1 - reward_weight) * cost_gain >= -1e-9 * scale


def test_euclidean_soft_step_lowers_an_objective_on_ill_conditioned_problems_and_fisher_never():
    lowered = {True: 0, False: 0}
    for seed in range(100):
        fisher = spd_matrix(seed, 6)
        gen = torch.Generator().manual_seed(seed + 1)
        g_r, g_c = torch.randn(2, 6, generator=gen, dtype=torch.float64)
        for metric in (True, False):
            reward_gain, cost_gain, _ = first_order_gains(g_r, g_c, fisher, metric=metric)
            lowered[metric] += min(reward_gain, cost_gain) < -1e-12
    assert lowered[True] == 0
    assert lowered[False] >= 5  # 9 of these 100 soft steps


def test_fisher_manipulation_with_conjugate_gradient_solves():
    fisher = spd_matrix(3, 6, 0.1, 10.0)
    gen = torch.Generator().manual_seed(4)
    g_r, g_c = torch.randn(2, 6, generator=gen, dtype=torch.float64)
    exact = manipulate_gradients(g_r, g_c, region=Region.SOFT, inverse_metric=exact_inverse(fisher))
    def solve(g):
        return conjugate_gradient(lambda v: fisher @ v, g, iterations=10)

    solved = manipulate_gradients(g_r, g_c, region=Region.SOFT, inverse_metric=solve)
    torch.testing.assert_close(solved.direction, exact.direction)
    assert int(solved.mode) == int(exact.mode)


@PROPERTY
@given(gradient_pairs(min_dim=2), st.floats(0.0, 1.0), st.sampled_from([45.0, 90.0, 135.0]))
def test_identity_metric_is_the_euclidean_manipulation(pair, reward_weight, angle):
    g_r, g_c = pair
    kwargs = {"region": Region.SOFT, "reward_weight": reward_weight, "conflict_angle_deg": angle}
    euclidean = manipulate_gradients(g_r, g_c, **kwargs)
    identity = manipulate_gradients(g_r, g_c, inverse_metric=torch.clone, **kwargs)
    torch.testing.assert_close(identity.direction, euclidean.direction)
    assert bool(identity.projected) == bool(euclidean.projected)


@pytest.mark.parametrize(("region", "which"), [(Region.REWARD, 0), (Region.COST, 1)])
def test_hard_regions_in_a_metric_step_along_one_natural_gradient_and_solve_once(region, which):
    fisher = spd_matrix(0, 4)
    g = torch.randn(2, 4, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    solves = []

    def solve(v):
        solves.append(v)
        return torch.linalg.solve(fisher, v)

    out = manipulate_gradients(g[0], g[1], region=region, inverse_metric=solve)
    torch.testing.assert_close(out.direction, torch.linalg.solve(fisher, g[which]))
    assert len(solves) == 1
    assert float(out.cos_angle) == pytest.approx(float(g[0] @ g[1] / (g[0].norm() * g[1].norm())))


def test_metric_projection_is_orthogonal_in_the_metric():
    fisher = spd_matrix(1, 5, 1.0, 100.0)
    u, normal = torch.randn(2, 5, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    projected = project_onto_normal_plane(u, normal, fisher @ normal)
    assert abs(float(projected @ fisher @ normal)) < 1e-9
    torch.testing.assert_close(projected - u, (projected - u) @ normal / (normal @ normal) * normal)


def test_zero_gradients_in_a_metric_give_finite_directions():
    fisher = spd_matrix(0, 3)
    for g_r, g_c in [(torch.zeros(3), torch.ones(3)), (torch.ones(3), torch.zeros(3)), (torch.zeros(3),) * 2]:
        out = manipulate_gradients(
            g_r.double(), g_c.double(), region=Region.SOFT, inverse_metric=exact_inverse(fisher)
        )
        assert torch.isfinite(out.direction).all() and torch.isfinite(out.cos_angle)


# --------------------------------------------------------------------------- CRPO's hard switching


@pytest.mark.parametrize(
    ("episode_cost", "expected"),
    [(0.0, Region.REWARD), (27.0, Region.REWARD), (27.0001, Region.COST), (1e9, Region.COST)],
)
def test_hard_switch_is_a_reward_step_up_to_the_limit_plus_tolerance(episode_cost, expected):
    assert hard_switch_region(episode_cost, LIMIT, 2.0) is expected


@pytest.mark.parametrize(
    ("args", "name"),
    [((1.0, LIMIT, -1.0), "tolerance"), ((1.0, LIMIT, math.nan), "tolerance"),
     ((1.0, math.inf, 0.0), "cost_limit"), ((math.nan, LIMIT, 0.0), "episode_cost")],
)
def test_hard_switch_validates(args, name):
    with pytest.raises(ValueError, match=name):
        hard_switch_region(*args)


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


def test_region_must_be_a_region():
    with pytest.raises(ValueError, match="region"):
        manipulate_gradients(torch.ones(2), torch.ones(2), region="soft")


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
