"""Shared fixtures: one local Ray instance for the whole test session."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("RAY_DEDUP_LOGS", "0")
os.environ.setdefault("MUJOCO_GL", "egl")


@pytest.fixture(scope="session")
def ray_session():
    """A local Ray instance with 2 CPUs, started once and shared by every test that needs it."""
    import ray

    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()
