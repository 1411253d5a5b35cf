"""PCRPO gradient manipulation over flat gradient vectors (docs/algorithms.md, section 2).

PCRPO (Gu et al., AAAI 2024, arXiv 2405.01677) chooses one of three regions from the
estimated episode cost J_c, the cost limit d and the slacks h+ >= 0 >= h-:

* ``J_c > d + h+``: safety violation, step along the cost gradient g_c only;
* ``J_c < d + h-``: no violation, step along the reward gradient g_r only;
* otherwise the *soft region*: if the angle between g_r and g_c exceeds the threshold
  theta*, each gradient is projected onto the normal plane of the other
  (g_r' = g_r - (g_r.g_c / |g_c|^2) g_c and symmetrically) and the direction is
  x_r g_r' + x_c g_c'; otherwise the direction is x_r g_r + x_c g_c.

CRPO (Xu et al., ICML 2021) has no soft region: :func:`hard_switch_region`.

g_c is the gradient of mean(ratio * (-A_c)), so it points toward *lower* cost and both
gradients are ascent directions. The region depends on a Python float (J_c), but the
conflict test and the projection inside the soft region are tensor operations, so the
manipulation runs on the learner's device without host round trips.

The manipulation can run in a metric M (an SPD matrix, for the trust-region step the Fisher
matrix F): it then combines the preconditioned gradients n = M^-1 g with the inner product
<u, v>_M = u^T M v, so <n_r, n_c>_M = g_r^T M^-1 g_c and <n_r, n_r'>_M is the first-order
change of the reward objective along n_r'. The soft direction then raises neither
objective less than zero to first order *along the step actually taken* (M^-1-space), which
the Euclidean manipulation only promises for a plain gradient step.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

import torch
from torch import Tensor

__all__ = [
    "PAPER_CONFLICT_ANGLE",
    "PAPER_REWARD_WEIGHT",
    "GradientManipulation",
    "InverseMetric",
    "Region",
    "UpdateMode",
    "assign_flat_grad",
    "assign_flat_params",
    "flat_grad",
    "flatten_params",
    "hard_switch_region",
    "manipulate_gradients",
    "project_onto_normal_plane",
    "select_region",
    "validate_slacks",
]


#: The PCRPO paper's theta* (degrees): the gradients conflict when their angle exceeds 90.
PAPER_CONFLICT_ANGLE = 90.0
#: The PCRPO authors' reward weight x_r of the soft region (x_r = x_c = 0.5).
PAPER_REWARD_WEIGHT = 0.5


class UpdateMode(enum.IntEnum):
    """The update actually taken; its value is what ``GradientManipulation.mode`` holds."""

    REWARD = 0  #: reward-only step (J_c < d + h-)
    SOFT_ALIGNED = 1  #: soft region, angle <= theta*: weighted sum of the raw gradients
    SOFT_CONFLICT = 2  #: soft region, angle > theta*: weighted sum of the projections
    COST = 3  #: cost-only step (J_c > d + h+)


class Region(enum.Enum):
    """The region of J_c relative to the cost limit and the slacks."""

    REWARD = "reward"
    SOFT = "soft"
    COST = "cost"


#: v -> M^-1 v for an SPD metric M (for example conjugate gradient on Fisher-vector products).
InverseMetric = Callable[[Tensor], Tensor]


class GradientManipulation(NamedTuple):
    """Result of :func:`manipulate_gradients`; every field lives on the gradients' device.

    ``cos_angle`` is the Euclidean cos(angle(g_r, g_c)), defined as 0 when either gradient
    is zero; in a metric the conflict test uses the angle in that metric instead.
    """

    direction: Tensor  #: the ascent direction (in a metric: M^-1-space), same shape as g_r
    mode: Tensor  #: 0-dim int64 holding an :class:`UpdateMode` value
    cos_angle: Tensor  #: 0-dim, in [-1, 1]
    reward_grad_norm: Tensor  #: 0-dim, |g_r|
    cost_grad_norm: Tensor  #: 0-dim, |g_c|
    projected: Tensor  #: 0-dim bool, True when the soft-region projection was applied


# --------------------------------------------------------------------------- flat vectors


def flat_grad(
    loss: Tensor,
    params: Iterable[Tensor],
    *,
    retain_graph: bool = False,
    create_graph: bool = False,
) -> Tensor:
    """Gradient of a scalar ``loss`` w.r.t. ``params``, concatenated into one flat vector.

    Parameters that do not require grad, or that ``loss`` does not depend on, contribute
    zeros, so the layout always matches :func:`flatten_params`.
    """
    params = list(params)
    if not params:
        raise ValueError("params must contain at least one tensor, got an empty sequence")
    wanted = [p for p in params if p.requires_grad]
    grads: dict[int, Tensor | None] = {}
    if wanted and loss.requires_grad:
        computed = torch.autograd.grad(
            loss,
            wanted,
            retain_graph=retain_graph or create_graph,
            create_graph=create_graph,
            allow_unused=True,
        )
        grads = {id(p): g for p, g in zip(wanted, computed)}
    pieces = []
    for p in params:
        g = grads.get(id(p))
        pieces.append(torch.zeros_like(p).reshape(-1) if g is None else g.reshape(-1))
    return torch.cat(pieces)


def flatten_params(params: Iterable[Tensor]) -> Tensor:
    """The parameters' values (detached) concatenated into one flat vector."""
    return torch.cat([p.detach().reshape(-1) for p in params])


def _split_like(params: Sequence[Tensor], flat: Tensor, what: str) -> list[Tensor]:
    """Split ``flat`` into views shaped like ``params``; a size mismatch is a ValueError."""
    total = sum(p.numel() for p in params)
    if flat.dim() != 1 or flat.numel() != total:
        raise ValueError(
            f"{what} must be a flat vector with {total} elements (the parameters' total), "
            f"got shape {tuple(flat.shape)}"
        )
    return [chunk.view_as(p) for chunk, p in zip(flat.split([p.numel() for p in params]), params)]


def assign_flat_grad(params: Iterable[Tensor], flat: Tensor) -> None:
    """Write the flat gradient ``flat`` into the parameters' ``.grad`` (a copy, not a view)."""
    params = list(params)
    for p, g in zip(params, _split_like(params, flat, "flat")):
        if p.grad is None:
            p.grad = g.detach().to(dtype=p.dtype).clone()
        else:
            p.grad.copy_(g)


def assign_flat_params(params: Iterable[Tensor], flat: Tensor) -> None:
    """Overwrite the parameters' values with the flat vector ``flat`` (in place)."""
    params = list(params)
    with torch.no_grad():
        for p, value in zip(params, _split_like(params, flat, "flat")):
            p.copy_(value)


# --------------------------------------------------------------------------- manipulation


def project_onto_normal_plane(g: Tensor, normal: Tensor, metric_normal: Tensor | None = None) -> Tensor:
    """``g`` minus its component along ``normal`` in the inner product <u, v>_M = u^T M v.

    g - (<g, n>_M / <n, n>_M) n, given ``metric_normal`` = M n (default n itself: the
    Euclidean metric, g - (g.n / |n|^2) n). Both normals are rescaled by the largest absolute
    entry of ``normal`` first, so tiny or huge normals neither underflow nor overflow; a zero
    normal leaves ``g`` unchanged. No host sync.
    """
    metric_normal = normal if metric_normal is None else metric_normal
    scale = normal.abs().amax()
    safe_scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    unit, metric_unit = normal / safe_scale, metric_normal / safe_scale
    norm_sq = unit @ metric_unit
    coeff = (g @ metric_unit) / torch.where(norm_sq > 0, norm_sq, torch.ones_like(norm_sq))
    return g - torch.where(norm_sq > 0, coeff, torch.zeros_like(coeff)) * unit


def validate_slacks(slack_upper: float, slack_lower: float) -> None:
    """Raise ValueError unless h+ in [0, inf] and h- in [-inf, 0] (docs/algorithms.md section 2)."""
    if math.isnan(slack_upper) or slack_upper < 0:
        raise ValueError(f"slack_upper must be in [0, inf], got {slack_upper!r}")
    if math.isnan(slack_lower) or slack_lower > 0:
        raise ValueError(f"slack_lower must be in [-inf, 0], got {slack_lower!r}")


def select_region(
    episode_cost: float, cost_limit: float, slack_upper: float, slack_lower: float
) -> Region:
    """Region of J_c: COST if J_c > d + h+, REWARD if J_c < d + h-, else SOFT.

    With h+ = h- = 0 this is CRPO-like hard switching (SOFT only at J_c == d exactly);
    h+ = inf never gives COST and h- = -inf never gives REWARD.
    """
    validate_slacks(slack_upper, slack_lower)
    if not math.isfinite(cost_limit):
        raise ValueError(f"cost_limit must be a finite number, got {cost_limit!r}")
    if math.isnan(episode_cost):
        raise ValueError(
            "episode_cost must be a number, got nan (no finished episode yet?); "
            "the caller must decide what to do before any episode has finished"
        )
    if episode_cost > cost_limit + slack_upper:
        return Region.COST
    if episode_cost < cost_limit + slack_lower:
        return Region.REWARD
    return Region.SOFT


def hard_switch_region(episode_cost: float, cost_limit: float, tolerance: float) -> Region:
    """CRPO's region: COST if J_c > d + tolerance, else REWARD (never SOFT).

    PCRPO's slacks cannot express it (h- <= 0 <= h+ always leaves a soft band), so CRPO
    is PCRPO with this region in place of :func:`select_region`.
    """
    if math.isnan(tolerance) or tolerance < 0:
        raise ValueError(f"tolerance must be in [0, inf], got {tolerance!r}")
    if not math.isfinite(cost_limit):
        raise ValueError(f"cost_limit must be a finite number, got {cost_limit!r}")
    if math.isnan(episode_cost):
        raise ValueError("episode_cost must be a number, got nan")
    return Region.COST if episode_cost > cost_limit + tolerance else Region.REWARD


def _cos_threshold(conflict_angle_deg: float) -> float:
    """cos(theta*), computed as sin(90 - theta*) so that 90 gives exactly 0 and 180 gives -1."""
    if not 0.0 < conflict_angle_deg <= 180.0:
        raise ValueError(
            f"conflict_angle_deg must be in (0, 180] degrees, got {conflict_angle_deg!r}"
        )
    return math.sin(math.radians(90.0 - conflict_angle_deg))


def _check_finite(g: Tensor, name: str) -> None:
    if not bool(torch.isfinite(g).all()):
        raise FloatingPointError(
            f"{name} contains non-finite values (nan or inf); stepping along it would "
            "corrupt the policy. Check the losses, advantages and learning rate."
        )


def _cosine(g_r: Tensor, g_c: Tensor, n_r: Tensor, n_c: Tensor) -> Tensor:
    """cos of the angle between n_r = M^-1 g_r and n_c = M^-1 g_c in the metric M.

    <n_r, n_c>_M / (|n_r|_M |n_c|_M) with <n_i, n_j>_M = g_i . n_j, taking the smaller of
    the two cross terms (equal for an exact M^-1, apart for an approximate solve), so that an
    aligned pair raises both objectives to first order. n = g gives the Euclidean cosine.
    0 when either gradient is zero. Each pair is rescaled by its largest absolute entry first.
    """
    scale_r, scale_c = g_r.abs().amax(), g_c.abs().amax()
    scale_r = torch.where(scale_r > 0, scale_r, torch.ones_like(scale_r))
    scale_c = torch.where(scale_c > 0, scale_c, torch.ones_like(scale_c))
    g_r, n_r, g_c, n_c = g_r / scale_r, n_r / scale_r, g_c / scale_c, n_c / scale_c
    denom = torch.sqrt((g_r @ n_r).clamp_min(0.0) * (g_c @ n_c).clamp_min(0.0))
    cross = torch.minimum(g_r @ n_c, g_c @ n_r)
    return torch.where(denom > 0, cross / torch.where(denom > 0, denom, 1.0), 0.0).clamp(-1.0, 1.0)


def manipulate_gradients(
    g_r: Tensor,
    g_c: Tensor,
    *,
    region: Region,
    conflict_angle_deg: float,
    reward_weight: float,
    inverse_metric: InverseMetric | None = None,
    check_finite: bool = True,
) -> GradientManipulation:
    """PCRPO's soft-switching direction from the flat reward and cost gradients (docs/algorithms.md section 2).

    Args:
        g_r: flat gradient of the reward surrogate mean(ratio * A_r).
        g_c: flat gradient of the cost surrogate mean(ratio * (-A_c)) (toward lower cost).
        region: the region of J_c (:func:`select_region`, or :func:`hard_switch_region`).
        conflict_angle_deg: theta* in (0, 180]; the soft region projects when the angle
            between g_r and g_c is strictly larger. Default: the paper's 90.
        reward_weight: x_r in [0, 1]; the cost weight is x_c = 1 - x_r. Default: the
            authors' 0.5. (``PCRPOConfig`` passes its own settings, whose defaults these are.)
        inverse_metric: v -> M^-1 v for an SPD metric M, or None for the Euclidean metric.
            Given, the manipulation combines n_r = M^-1 g_r and n_c = M^-1 g_c in the inner
            product of M (angle and projections), and the direction is in M^-1-space: with
            theta* <= 90 a soft direction s has g_r.s >= 0 and g_c.s >= 0 (an exact M^-1;
            the conflict direction even for any theta*). Only the solves the region needs run.
        check_finite: raise FloatingPointError if a gradient the chosen mode uses is not
            finite (one host sync); disable to stay entirely sync-free.

    Zero, parallel and anti-parallel gradients give finite directions. In the hard regions
    the direction is the single gradient itself (unweighted; in a metric, M^-1 g).
    """
    if g_r.dim() != 1 or g_r.shape != g_c.shape:
        raise ValueError(
            "g_r and g_c must be flat vectors of the same length, got shapes "
            f"{tuple(g_r.shape)} and {tuple(g_c.shape)}"
        )
    if not isinstance(region, Region):
        raise ValueError(f"region must be a Region, got {region!r}")
    if not 0.0 <= reward_weight <= 1.0:
        raise ValueError(f"reward_weight must be in [0, 1], got {reward_weight!r}")
    cos_threshold = _cos_threshold(conflict_angle_deg)

    if check_finite:
        if region is not Region.COST:
            _check_finite(g_r, "g_r (reward gradient)")
        if region is not Region.REWARD:
            _check_finite(g_c, "g_c (cost gradient)")

    cos = _cosine(g_r, g_c, g_r, g_c)

    def constant(mode: UpdateMode) -> Tensor:
        return torch.full((), int(mode), dtype=torch.int64, device=g_r.device)

    solve = torch.clone if inverse_metric is None else inverse_metric
    not_projected = torch.zeros((), dtype=torch.bool, device=g_r.device)
    if region is Region.REWARD:
        direction, mode, projected = solve(g_r), constant(UpdateMode.REWARD), not_projected
    elif region is Region.COST:
        direction, mode, projected = solve(g_c), constant(UpdateMode.COST), not_projected
    else:
        n_r, n_c = (g_r, g_c) if inverse_metric is None else (solve(g_r), solve(g_c))
        metric_cos = cos if inverse_metric is None else _cosine(g_r, g_c, n_r, n_c)
        projected = metric_cos < cos_threshold
        cost_weight = 1.0 - reward_weight
        aligned = reward_weight * n_r + cost_weight * n_c
        conflict = reward_weight * project_onto_normal_plane(n_r, n_c, g_c)
        conflict = conflict + cost_weight * project_onto_normal_plane(n_c, n_r, g_r)
        direction = torch.where(projected, conflict, aligned)
        mode = torch.where(
            projected, constant(UpdateMode.SOFT_CONFLICT), constant(UpdateMode.SOFT_ALIGNED)
        )
    norm_r = torch.linalg.vector_norm(g_r)
    norm_c = torch.linalg.vector_norm(g_c)
    return GradientManipulation(direction, mode, cos, norm_r, norm_c, projected)
