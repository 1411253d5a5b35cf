"""rllib_safe.speed.optim: every learner's Adam is fused (one kernel for all parameters) on CPU,
and global-norm clipping with foreach kernels is RLlib's ``clip_gradients``."""

from __future__ import annotations

import gymnasium as gym
import pytest
import torch
from ray.rllib.utils.torch_utils import clip_gradients

from rllib_safe.algorithms import ALGORITHMS
from rllib_safe.runs.config import build_config
from rllib_safe.speed.optim import adam, clip_by_global_norm_

SPACES = {"observation_space": gym.spaces.Box(-1.0, 1.0, (4,)), "action_space": gym.spaces.Box(-1.0, 1.0, (2,))}


@pytest.mark.parametrize("algo", sorted(ALGORITHMS))
def test_every_optimizer_is_fused_adam(algo):
    learner = build_config(algo, None, SPACES, seed=0).build_learner()
    optimizers = dict(learner.get_optimizers_for_module("default_policy"))
    assert optimizers
    for name, optimizer in optimizers.items():
        assert type(optimizer).__name__ == "Adam" and optimizer.defaults["fused"], name


@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e3, float("inf")])
def test_clipping_is_rllibs_global_norm_clipping(scale):
    generator = torch.Generator().manual_seed(0)
    grads = [torch.randn(5, 3, generator=generator) * scale, torch.randn(3, generator=generator), None]
    theirs = {i: None if g is None else g.clone() for i, g in enumerate(grads)}
    expected_norm = clip_gradients(theirs, grad_clip=0.5, grad_clip_by="global_norm")
    ours = [None if g is None else g.clone() for g in grads]
    norm = clip_by_global_norm_(ours, 0.5)
    torch.testing.assert_close(norm, expected_norm)
    for mine, want in zip(ours, theirs.values()):
        if want is None:
            assert mine is None
        else:
            torch.testing.assert_close(mine, want, equal_nan=True)


def test_fused_adam_steps_like_torchs_adam():
    torch.manual_seed(0)
    weights = torch.nn.Parameter(torch.randn(4, 3))
    reference = torch.nn.Parameter(weights.detach().clone())
    ours, theirs = adam([weights]), torch.optim.Adam([reference])
    assert ours.defaults["fused"]
    for _ in range(3):
        for parameter, optimizer in ((weights, ours), (reference, theirs)):
            optimizer.zero_grad()
            (parameter**2).sum().backward()
            optimizer.step()
    torch.testing.assert_close(weights, reference)
