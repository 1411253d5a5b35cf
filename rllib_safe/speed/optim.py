"""Optimiser pieces of the SGD step with one kernel per step instead of one per parameter tensor."""

from __future__ import annotations

from collections.abc import Sequence

import torch

#: RLlib's bound on a non-finite norm (``ray.rllib.utils.torch_utils.compute_global_norm``).
NORM_BOUND = 10e8


def adam(params: Sequence[torch.nn.Parameter]) -> torch.optim.Adam:
    """Adam with torch's defaults, fused (one kernel for all parameters) where torch supports it."""
    params = list(params)
    fused = bool(params) and all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in params)
    return torch.optim.Adam(params, fused=fused or None)


def clip_by_global_norm_(grads: Sequence[torch.Tensor], max_norm: float) -> torch.Tensor:
    """Scales ``grads`` in place so that their global L2 norm is at most ``max_norm``; returns the norm.

    RLlib's ``clip_gradients(grad_clip_by="global_norm")`` with foreach kernels: non-finite norms
    are bounded by 1e9 as there, and the factor min(1, max_norm / (norm + 1e-6)) is applied
    without a host sync.
    """
    grads = [g for g in grads if g is not None]
    if not grads:
        return torch.tensor(0.0)
    norms = torch.stack(torch._foreach_norm(grads)).nan_to_num(neginf=-NORM_BOUND, posinf=NORM_BOUND)
    total = torch.linalg.vector_norm(norms).nan_to_num(neginf=-NORM_BOUND, posinf=NORM_BOUND)
    factor = (max_norm / (total + 1e-6)).clamp(max=1.0)
    torch._foreach_mul_(grads, factor)
    return total
