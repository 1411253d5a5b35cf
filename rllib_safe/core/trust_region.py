"""TRPO-style natural-gradient step, the base optimiser of the PCRPO authors (docs/algorithms.md section 2).

Conjugate gradient on Fisher-vector products of the mean KL (10-15 iterations, damping
0.1), a full step scaled to the KL radius delta, and a backtracking line search (decay
0.8, up to 15 tries) that accepts when the KL is within delta and the objective does not
decrease (Schulman et al., 2015, Appendix C). :func:`mode_gain` is that objective for each
PCRPO mode: the reward or the cost surrogate in the hard modes and, in the soft modes,
either both (neither may decrease) or their weighted sum; :func:`step_soft_acceptance` which of
the two a given step is held to.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Literal, NamedTuple

import torch
from torch import Tensor

from rllib_safe.core.gradients import UpdateMode, flat_grad

__all__ = [
    "LineSearchResult",
    "SoftAcceptance",
    "backtracking_line_search",
    "conjugate_gradient",
    "fisher_vector_product",
    "mode_gain",
    "scale_to_trust_region",
    "StepAcceptance",
    "step_soft_acceptance",
]

#: What the line search requires of a soft-mode step: "both" surrogates do not decrease, or
#: the "weighted" one x_r L_r + x_c L_c does not.
SoftAcceptance = Literal["both", "weighted"]


def conjugate_gradient(
    matvec: Callable[[Tensor], Tensor],
    b: Tensor,
    *,
    iterations: int,
    residual_tol: float = 1e-10,
) -> Tensor:
    """Approximately solve A x = b for a symmetric positive-definite A given as ``matvec``.

    Runs at most ``iterations`` steps and stops updating once the squared residual r.r
    falls below ``residual_tol`` or the curvature p.Ap is not positive. The stopping tests
    are tensor masks, not Python branches, so there is no host sync (every iteration calls
    ``matvec``). A zero ``b`` gives a zero solution.
    """
    if iterations < 1:
        raise ValueError(f"iterations must be a positive integer, got {iterations!r}")
    if not residual_tol >= 0:
        raise ValueError(f"residual_tol must be >= 0, got {residual_tol!r}")
    x = torch.zeros_like(b)
    r = b.clone()
    p = b.clone()
    r_sq = r @ r
    running = torch.ones((), dtype=torch.bool, device=b.device)
    for _ in range(iterations):
        a_p = matvec(p)
        curvature = p @ a_p
        running = running & (r_sq > residual_tol) & (curvature > 0)
        alpha = torch.where(running, r_sq / torch.where(running, curvature, 1.0), 0.0)
        x = x + alpha * p
        r = r - alpha * a_p
        new_r_sq = r @ r
        beta = torch.where(running, new_r_sq / torch.where(running, r_sq, 1.0), 0.0)
        p = r + beta * p
        r_sq = torch.where(running, new_r_sq, r_sq)
    return x


def fisher_vector_product(
    kl: Tensor, params: Sequence[Tensor], *, damping: float
) -> Callable[[Tensor], Tensor]:
    """Return v -> (H + damping I) v, H the Hessian of the scalar mean ``kl`` w.r.t. params.

    ``kl`` should be the mean KL(pi_old || pi_theta) with pi_old detached, evaluated at
    theta = theta_old, where its Hessian is the Fisher information matrix. The first
    derivative is taken once (create_graph=True); each call costs one extra backward pass.
    """
    if not damping >= 0:
        raise ValueError(f"damping must be >= 0, got {damping!r}")
    params = list(params)
    kl_grad = flat_grad(kl, params, create_graph=True)

    def fvp(v: Tensor) -> Tensor:
        hvp = flat_grad(kl_grad @ v.detach(), params, retain_graph=True)
        return hvp + damping * v

    return fvp


def scale_to_trust_region(natural_direction: Tensor, fvp: Callable[[Tensor], Tensor], *, max_kl: float) -> Tensor:
    """The step beta * x along ``natural_direction`` x with 0.5 s^T F s = max_kl.

    ``natural_direction`` is already preconditioned (F^-1 g, for example by
    :func:`conjugate_gradient` on ``fvp``); F is the damped Fisher of ``fvp`` (one call). A zero
    direction (or non-positive curvature) gives a zero step. No host sync.
    """
    if not max_kl > 0:
        raise ValueError(f"max_kl must be > 0, got {max_kl!r}")
    half_quad = 0.5 * (natural_direction @ fvp(natural_direction))
    positive = half_quad > 0
    scale = torch.where(positive, torch.sqrt(max_kl / torch.where(positive, half_quad, 1.0)), 0.0)
    return scale * natural_direction


def mode_gain(
    reward_gain: Tensor,
    cost_gain: Tensor,
    mode: Tensor,
    *,
    soft_acceptance: SoftAcceptance,
    reward_weight: float,
) -> Tensor:
    """Change of the objective a step of ``mode`` (an :class:`UpdateMode` tensor) must not decrease.

    ``reward_gain`` and ``cost_gain`` are the changes of L_r and L_c (both to be maximised).
    REWARD: the reward gain; COST: the cost gain; the soft modes: min of the two ("both") or
    x_r * reward_gain + (1 - x_r) * cost_gain ("weighted"). No host sync.
    """
    if soft_acceptance not in ("both", "weighted"):
        raise ValueError(f"soft_acceptance must be 'both' or 'weighted', got {soft_acceptance!r}")
    if not 0.0 <= reward_weight <= 1.0:
        raise ValueError(f"reward_weight must be in [0, 1], got {reward_weight!r}")
    if soft_acceptance == "both":
        soft = torch.minimum(reward_gain, cost_gain)
    else:
        soft = reward_weight * reward_gain + (1.0 - reward_weight) * cost_gain
    hard = torch.where(mode == int(UpdateMode.COST), cost_gain, reward_gain)
    is_soft = (mode == int(UpdateMode.SOFT_ALIGNED)) | (mode == int(UpdateMode.SOFT_CONFLICT))
    return torch.where(is_soft, soft, hard)


class StepAcceptance(NamedTuple):
    """Outcome of :func:`step_soft_acceptance`."""

    soft_acceptance: SoftAcceptance  #: what the line search requires of this step in a soft mode
    fallback: bool  #: True when "both" was asked of a step that does not promise both


def step_soft_acceptance(
    soft_acceptance: SoftAcceptance, expected_reward_gain: Tensor, expected_cost_gain: Tensor
) -> StepAcceptance:
    """The soft acceptance a step is held to: "both" only where the step promises both.

    In the Fisher metric with theta* <= 90 the soft step raises both surrogates to first order,
    so the line search asks that neither decreases ("both"). That promise holds for the step
    actually taken only up to the conjugate-gradient solve: where g_r.s or g_c.s (the
    ``expected_*_gain``) is negative, the step is accepted on the weighted objective instead of
    on what it cannot give (``fallback``). "weighted" is kept as it is. A NaN gain does not
    fall back (the line search rejects non-finite outcomes anyway). One host sync, and only
    for "both".
    """
    fallback = soft_acceptance == "both" and bool(torch.minimum(expected_reward_gain, expected_cost_gain) < 0)
    return StepAcceptance("weighted" if fallback else soft_acceptance, fallback)


class LineSearchResult(NamedTuple):
    """Outcome of :func:`backtracking_line_search`."""

    step_fraction: float  #: accepted fraction of the full step; 0.0 when none was accepted
    accepted: bool  #: whether some fraction was accepted
    tries: int  #: number of calls made to ``evaluate``


def backtracking_line_search(
    evaluate: Callable[[float], tuple[float, float]],
    *,
    max_kl: float,
    decay: float,
    max_backtracks: int,
) -> LineSearchResult:
    """Try step fractions 1, decay, decay^2, ... and accept the first acceptable one.

    Contract: ``evaluate(fraction)`` sets the parameters to theta_old + fraction * step
    (each call starts from theta_old, not from the previous try) and returns
    ``(improvement, kl)``: the change of the mode's objective relative to theta_old and the
    mean KL(pi_old || pi). A fraction is accepted when both numbers are finite,
    ``kl <= max_kl`` and ``improvement >= 0``; the search then stops, leaving the
    parameters at that fraction. If no fraction is accepted after ``max_backtracks``
    tries the result is ``(0.0, False, max_backtracks)`` and the parameters are left at the
    last try: the caller must restore theta_old.
    """
    if not max_kl > 0:
        raise ValueError(f"max_kl must be > 0, got {max_kl!r}")
    if not 0.0 < decay < 1.0:
        raise ValueError(f"decay must be in (0, 1), got {decay!r}")
    if max_backtracks < 1:
        raise ValueError(f"max_backtracks must be a positive integer, got {max_backtracks!r}")
    for tries in range(1, max_backtracks + 1):
        fraction = decay ** (tries - 1)
        improvement, kl = (float(v) for v in evaluate(fraction))
        if math.isfinite(improvement) and math.isfinite(kl) and kl <= max_kl and improvement >= 0:
            return LineSearchResult(fraction, True, tries)
    return LineSearchResult(0.0, False, max_backtracks)
