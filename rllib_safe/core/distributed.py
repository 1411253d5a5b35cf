"""Averaging across learners (torch.distributed), a no-op with a single learner."""

from __future__ import annotations

import torch
import torch.distributed as dist


def all_reduce_mean(*tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Each tensor averaged over the learners with one all-reduce; unchanged with one learner."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return tensors
    flat = torch.cat([t.reshape(-1) for t in tensors])
    dist.all_reduce(flat)
    flat = flat / dist.get_world_size()
    return tuple(chunk.view_as(t) for chunk, t in zip(flat.split([t.numel() for t in tensors]), tensors))
