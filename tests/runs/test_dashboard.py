"""`rllib-safe train --dashboard`: the local Ray instance serves the dashboard, token auth stays on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from rllib_safe.cluster import auth_headers

pytestmark = pytest.mark.slow

LONG_RUN = [
    "--algo", "ppo-lag", "--env", "BudgetEnv", "--cost-limit", "5", "--num-env-runners", "0",
    "--set", "train_batch_size_per_learner=200", "--set", "minibatch_size=100", "--set", "num_epochs=1",
    "--timesteps", "1000000", "--checkpoint-every", "0",
]


def fetch(url: str, headers: dict | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as err:
        return err.code, ""


def test_dashboard_url_serves_the_dashboard_with_token_auth_on(tmp_path):
    env = os.environ | {"RAY_AUTH_MODE": "token", "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "rllib_safe", "train", "--dashboard", *LONG_RUN, "--run-dir", str(tmp_path)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        url, deadline, seen = None, time.monotonic() + 240, []
        while url is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            seen.append(line)
            if line.startswith("Ray dashboard: "):
                url = line.removeprefix("Ray dashboard: ").strip()
        assert url is not None, "no dashboard URL printed:\n" + "".join(seen[-20:])
        assert url.startswith("http://127.0.0.1:")

        status, page = fetch(url)
        assert status == 200 and "<title>Ray Dashboard</title>" in page
        assert fetch(url + "/api/version")[0] == 401  # the REST API still asks for the token
        status, version = fetch(url + "/api/version", auth_headers())
        assert status == 200 and "ray_version" in version
        while not line.startswith("iter "):  # training runs: Ctrl-C now checkpoints
            line = process.stdout.readline()
            assert line, "the run ended before its first iteration"
    finally:
        process.send_signal(signal.SIGINT)  # Ctrl-C: checkpoint, summary, exit 130
        try:
            process.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
    assert process.returncode == 130
