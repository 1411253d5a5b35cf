"""`rllib-safe train` as a user runs it: progress lines, none of Ray's and RLlib's chatter.

Each noise source and where it comes from is listed in ``rllib_safe/runs/console.py``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from rllib_safe.runs.console import QUIET_STDERR_LINES, filtered_stderr

#: What a default run printed before the console was quieted (one fragment per source).
NOISE = {
    "RLlib's RLModuleConfig deprecation (driver and EnvRunners)": "RLModule(config=[RLModuleConfig object])",
    "RLlib's new-API-stack notice": "on the new API stack!",
    "Ray's core_worker.cc actor-restart error line": "has constructor arguments in the object store",
    "Tune's gputil hint": "Install gputil",
    "Ray's token-auth notice": "Token authentication is enabled",
    "Ray's INFO lines": "INFO worker.py",
    "gymnasium Box cast warning (safety-gymnasium action space)": "overflow encountered in cast",
    "gymnasium Box precision warning": "precision lowered by casting",
}

# Circle builds its action space the way that warned; one remote EnvRunner brings the
# core_worker line and the worker-side deprecation.
TINY_RUN = [
    "train", "--algo", "pcrpo", "--env", "SafetyPointCircle1-v0", "--timesteps", "1000",
    "--num-env-runners", "1", "--checkpoint-every", "0",
    "--set", "train_batch_size_per_learner=500", "--set", "minibatch_size=250", "--set", "num_epochs=1",
]
PROGRESS = re.compile(r"^iter 1 \| steps \d+/1000 \| return .* \| cost .*/25", re.MULTILINE)


def noise_in(output: str) -> list[str]:
    return [name for name, fragment in NOISE.items() if fragment in output]


def run_cli(args: list[str], run_dir) -> str:
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    done = subprocess.run(
        [sys.executable, "-m", "rllib_safe", *args, "--run-dir", str(run_dir)],
        capture_output=True, text=True, timeout=540, env=env,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    return output


def test_noise_check_catches_the_unquieted_console():
    before = (
        "2026-12-02 06:44:48,348\tWARNING authentication_token_setup.py:85 -- Token authentication is enabled "
        "for this Ray cluster. Set RAY_AUTH_MODE=disabled to opt out.\n"
        "[2026-12-02 06:45:01,434 E 2461 2461] core_worker.cc:2465: Actor with class name: "
        "'SingleAgentEnvRunner' and ID: '5b7f' has constructor arguments in the object store and "
        "max_restarts > 0. If the arguments in the object store go out of scope or are lost, ...\n"
        "(SingleAgentEnvRunner pid=3216) DeprecationWarning: `RLModule(config=[RLModuleConfig object])` "
        "has been deprecated.\n"
    )
    assert len(noise_in(before)) == 3
    assert re.search(QUIET_STDERR_LINES[0], before.splitlines()[1])


def test_stderr_filter_drops_only_the_named_lines(capfd):
    with filtered_stderr((r"drop me \d+",)):
        os.write(2, b"keep 1\nplease drop me 42 now\nkeep 2\npartial")
    assert capfd.readouterr().err == "keep 1\nkeep 2\npartial"


@pytest.mark.slow
def test_default_run_prints_progress_without_library_noise(tmp_path):
    output = run_cli(TINY_RUN, tmp_path / "run")
    assert PROGRESS.search(output), output
    assert "Training completed" in output
    assert noise_in(output) == [], output


@pytest.mark.slow
def test_verbose_run_shows_ray_and_rllib_logs(tmp_path):
    help_text = subprocess.run(
        [sys.executable, "-m", "rllib_safe", "train", "--help"], capture_output=True, text=True, timeout=120,
    ).stdout
    if "--verbose" not in help_text:
        pytest.skip("`rllib-safe train --verbose` is not wired in yet")
    output = run_cli([*TINY_RUN, "--num-env-runners", "0", "--verbose"], tmp_path / "run")
    assert PROGRESS.search(output), output
    assert "Started a local Ray instance" in output
    assert "RLModuleConfig" in output
    # Fixed at the source (rllib_safe/envs/compat.py), so absent here too; this run builds the env
    # in the driver.
    assert "overflow encountered in cast" not in output
