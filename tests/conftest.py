"""Shared fixtures: one local Ray instance for the whole test session, the short training run that
the train/evaluate/resume tests share (tests/short_run.py), and a guard that Ray does not start."""

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


@pytest.fixture(scope="session")
def short_run(ray_session, tmp_path_factory):
    """Run directory of `rllib-safe train` for 2 iterations (read-only: copy it to change it)."""
    from rllib_safe.cli import main
    from tests.short_run import BATCH, SHORT_RUN

    run_dir = tmp_path_factory.mktemp("runs") / "ppo-lag"
    assert main(["train", *SHORT_RUN, "--timesteps", str(2 * BATCH), "--run-dir", str(run_dir)]) == 0
    return run_dir


@pytest.fixture
def ray_must_not_start(monkeypatch):
    """Bad input is caught before Ray starts: starting it fails the test."""
    def fail(*args, **kwargs):
        raise AssertionError("Ray was started for input that is invalid")

    monkeypatch.setattr("rllib_safe.runs.service.init_ray", fail)
