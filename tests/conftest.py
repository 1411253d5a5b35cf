"""Shared fixtures: one local Ray instance for the whole test session."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

os.environ.setdefault("RAY_DEDUP_LOGS", "0")
os.environ.setdefault("MUJOCO_GL", "egl")

# Property tests draw new examples on every local run; CI (`.ci/run` sets HYPOTHESIS_PROFILE=ci)
# draws the same ones each time, so a red CI is the change's, not a newly drawn example's.
settings.register_profile("ci", derandomize=True, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="session")
def ray_session():
    """A local Ray instance with 2 CPUs, started once and shared by every test that needs it."""
    import ray

    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()
