"""SMPO safety modulation: weight, its derivative and the dynamic threshold (section 3).

SMPO (Zhang and Guo, arXiv 2504.03040) multiplies each reward by
f(x) = (1 - b^(x - d')) / (1 - b^(-d')), x = C_t + clip(Q^c(s, a), 0, d'), the accumulated
plus predicted episode cost. f(0) = 1, f(d') = 0, f is decreasing and negative past d'.
With L = ln b the weight is evaluated as expm1(L (x - d')) / expm1(-L d'), which neither
overflows for large d' and b (b^d' is never formed) nor loses precision near x = d'.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["dynamic_threshold", "modulation_weight", "modulation_weight_derivative"]


def dynamic_threshold(
    epoch: int, cost_limit: float, *, eta: float = 2.0, max_epochs: int = 50
) -> float:
    """d'_e = (eta - (eta - 1) min(e, e_max) / e_max) d: linear from eta d down to d.

    ``eta = 1`` or ``max_epochs = 0`` disables the relaxation (d'_e = d for every epoch).
    """
    if epoch < 0:
        raise ValueError(f"epoch must be >= 0, got {epoch!r}")
    if not (math.isfinite(cost_limit) and cost_limit >= 0):
        raise ValueError(f"cost_limit must be a finite number >= 0, got {cost_limit!r}")
    if not (math.isfinite(eta) and eta >= 1):
        raise ValueError(f"eta must be a finite number >= 1, got {eta!r}")
    if max_epochs < 0:
        raise ValueError(f"max_epochs must be >= 0 (0 disables the schedule), got {max_epochs!r}")
    if max_epochs == 0:
        return float(cost_limit)
    progress = min(epoch, max_epochs) / max_epochs
    return float((eta - (eta - 1.0) * progress) * cost_limit)


def _log_base(base: float) -> float:
    if not (math.isfinite(base) and base > 1):
        raise ValueError(f"base must be a finite number > 1, got {base!r}")
    return math.log(base)


def _check_threshold(threshold: float | Tensor) -> None:
    """d' must be finite and > 0: as d' -> 0, f tends to a step (1 at x = 0, -inf beyond)."""
    if isinstance(threshold, Tensor):
        ok = bool((torch.isfinite(threshold) & (threshold > 0)).all())
    else:
        ok = math.isfinite(threshold) and threshold > 0
    if not ok:
        raise ValueError(
            f"threshold must be finite and > 0, got {threshold!r}; as the threshold tends "
            "to 0 the weight becomes a step (1 at x = 0, -inf beyond) without a gradient, "
            "so SMPO needs a positive cost limit"
        )


def _denominator(log_b: float, threshold: float | Tensor) -> float | Tensor:
    """expm1(-L d') = -(1 - b^(-d')); the numerators carry the matching minus sign."""
    if isinstance(threshold, Tensor):
        return torch.expm1(-log_b * threshold)
    return math.expm1(-log_b * threshold)


def modulation_weight(
    x: Tensor,
    threshold: float | Tensor,
    *,
    base: float = 3.0,
    min_weight: float | None = None,
) -> Tensor:
    """f(x) = (1 - b^(x - d')) / (1 - b^(-d')), optionally clamped to [min_weight, 1].

    Finite for every finite x with b^(x - d') representable; far past d' the unclamped
    weight tends to -inf (never NaN), which ``min_weight`` (e.g. -1) bounds. ``threshold``
    (d') may be a float or a tensor broadcastable against ``x``.
    """
    if min_weight is not None and not min_weight <= 1:
        raise ValueError(f"min_weight must be <= 1 (or None for no clamp), got {min_weight!r}")
    log_b = _log_base(base)
    _check_threshold(threshold)
    weight = torch.expm1(log_b * (x - threshold)) / _denominator(log_b, threshold)
    return weight if min_weight is None else weight.clamp(min_weight, 1.0)


def modulation_weight_derivative(
    x: Tensor, threshold: float | Tensor, *, base: float = 3.0
) -> Tensor:
    """f'(x) = -ln(b) b^(x - d') / (1 - b^(-d')), the derivative of the unclamped weight.

    Always negative. Where the caller clipped Q^c (or clamped f) the chain rule gives zero;
    that masking is the caller's, this is the derivative of f itself.
    """
    log_b = _log_base(base)
    _check_threshold(threshold)
    return log_b * torch.exp(log_b * (x - threshold)) / _denominator(log_b, threshold)
