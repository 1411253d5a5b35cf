"""The README's `tensorboard --logdir runs/` opens a run's curves: the viewer is installed and serves them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from rllib_safe.metrics import COST_KEY, LAGRANGIAN_MULTIPLIER_KEY, RETURN_KEY, flat

pytestmark = pytest.mark.slow
TENSORBOARD = Path(sys.executable).parent / "tensorboard"


def test_event_files_hold_return_cost_and_the_algorithm_diagnostics(short_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(short_run / "tensorboard"))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {flat(RETURN_KEY), flat(COST_KEY), flat(LAGRANGIAN_MULTIPLIER_KEY)} <= tags
    assert [event.step for event in events.Scalars(flat(COST_KEY))] == [200, 400]  # x axis: env steps


def test_the_tensorboard_command_serves_the_runs_curves(short_run):
    assert TENSORBOARD.exists(), "the setup installs TensorBoard's viewer beside rllib-safe"
    server = subprocess.Popen(
        [str(TENSORBOARD), "--logdir", str(short_run.parent), "--port", "0", "--host", "127.0.0.1"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        url = None
        deadline = time.monotonic() + 120
        while url is None and time.monotonic() < deadline:
            line = server.stdout.readline()
            if not line and server.poll() is not None:
                break
            found = re.search(r"(http://127\.0\.0\.1:\d+)", line)
            url = found.group(1) if found else None
        assert url, "tensorboard printed no URL"
        with urllib.request.urlopen(f"{url}/data/plugin/scalars/tags", timeout=60) as response:
            tags = json.load(response)
        run = next(name for name in tags if name.endswith("tensorboard"))
        assert flat(COST_KEY) in tags[run] and flat(RETURN_KEY) in tags[run]
    finally:
        server.terminate()
        server.wait(timeout=30)
