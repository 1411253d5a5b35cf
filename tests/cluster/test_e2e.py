"""End to end: a real two-node Ray cluster on loopback, a training job submitted to it.

The cluster is isolated from the session's ``ray_session`` instance: its own temp dir,
free ports and token (RAY_AUTH_MODE=token, RAY_AUTH_TOKEN only in the nodes' environment).
Both nodes run ``ray start --block`` in their own process group; teardown kills exactly the
processes they started (never ``ray stop``, which would stop every Ray on the machine).
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, closing, suppress
from pathlib import Path

import pytest
from ray.exceptions import AuthenticationError
from ray.job_submission import JobStatus, JobSubmissionClient

from rllib_safe.cluster import auth_headers
from rllib_safe.runs.config import ROLLOUT_RESOURCE

REPO = Path(__file__).resolve().parents[2]
RAY = [str(Path(sys.executable).parent / "ray")]
STARTUP_TIMEOUT_S = 120
START_ATTEMPTS = 3
ITERATIONS = 2

pytestmark = pytest.mark.slow


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def node_ports() -> list[str]:
    """Ports a second Ray on this machine would otherwise take from the defaults."""
    return [f"--{name}={free_port()}" for name in (
        "node-manager-port", "object-manager-port", "dashboard-agent-listen-port",
        "dashboard-agent-grpc-port", "metrics-export-port", "runtime-env-agent-port",
    )]


def process_group(pgid: int) -> list[int]:
    """Live processes of a process group, read from /proc."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, _, group = stat.read_text().rsplit(")", 1)[1].split()[:3]
        except (OSError, ValueError):
            continue
        if int(group) == pgid and state != "Z":
            members.append(int(stat.parent.name))
    return members


def stop_node(process: subprocess.Popen) -> None:
    """Ends a `ray start --block` node: SIGTERM to its process group, SIGKILL after 5 s."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        deadline = time.monotonic() + 5
        while process_group(process.pid) and time.monotonic() < deadline:
            process.poll()
            time.sleep(0.2)
    process.wait(timeout=5)


def start_node(stack: ExitStack, args: list[str], env: dict, log: Path) -> None:
    """Starts one node and waits until it reports ``Ray runtime started``.

    Tries up to START_ATTEMPTS times: on a saturated machine a raylet can give up waiting for
    its dashboard agent (a fixed ~15 s in Ray 2.60) and the node dies during startup.
    """
    for _ in range(START_ATTEMPTS):
        with open(log, "w") as out:
            process = subprocess.Popen([*RAY, "start", "--block", *args], env=env, stdout=out,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while "Ray runtime started" not in log.read_text() and process.poll() is None:
            if time.monotonic() > deadline:
                break
            time.sleep(0.5)
        if "Ray runtime started" in log.read_text() and process.poll() is None:
            stack.callback(stop_node, process)
            return
        stop_node(process)
    pytest.fail(f"`ray start {shlex.join(args)}` did not start:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def loopback_cluster():
    """A head (1 CPU) and a `rollout` worker node (1 CPU); yields (dashboard address, token)."""
    temp_dir = Path(tempfile.mkdtemp(prefix="rs-", dir="/tmp"))  # short: unix socket paths
    token = secrets.token_hex(32)
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token}
    gcs_port, dashboard_port = free_port(), free_port()
    common = ["--node-ip-address=127.0.0.1", "--disable-usage-stats", "--num-cpus=1",
              "--object-store-memory=100000000"]
    # One temp dir per node, as on separate machines: nodes sharing one would also share (and
    # garbage-collect) each other's runtime_env working_dir copies.
    with ExitStack() as stack:
        start_node(stack, ["--head", f"--port={gcs_port}", "--dashboard-host=127.0.0.1",
                           f"--dashboard-port={dashboard_port}", f"--ray-client-server-port={free_port()}",
                           f"--temp-dir={temp_dir / 'h'}", *common, *node_ports()],
                   env, temp_dir / "head.log")
        start_node(stack, [f"--address=127.0.0.1:{gcs_port}", f'--resources={{"{ROLLOUT_RESOURCE}": 1000}}',
                           f"--temp-dir={temp_dir / 'w'}", *common, *node_ports()],
                   env, temp_dir / "worker.log")
        yield f"http://127.0.0.1:{dashboard_port}", token, temp_dir


def test_job_without_the_token_is_refused(loopback_cluster):
    address, _, _ = loopback_cluster
    with pytest.raises(AuthenticationError, match="Invalid authentication token"):
        JobSubmissionClient(address, headers={"Authorization": "Bearer not-the-token"})


def test_submitted_training_job_succeeds_and_writes_results_and_checkpoint(loopback_cluster):
    address, token, temp_dir = loopback_cluster
    out_dir = temp_dir / "job_out"
    out_dir.mkdir()
    entrypoint = [sys.executable, "tests/cluster/train_job.py", str(out_dir), str(ITERATIONS)]
    submit = subprocess.run(
        [sys.executable, "-m", "rllib_safe", "submit", "--address", address, "--working-dir", str(REPO),
         "--follow", "--", *entrypoint],
        env={**os.environ, "RAY_AUTH_TOKEN": token}, capture_output=True, text=True, timeout=240, check=False,
    )
    assert submit.returncode == 0, submit.stdout[-3000:] + submit.stderr[-3000:]
    job_id = submit.stdout.split("job id: ", 1)[1].split()[0]
    assert f"dashboard: {address}/#/jobs/{job_id}" in submit.stdout

    client = JobSubmissionClient(address, headers=auth_headers({"RAY_AUTH_TOKEN": token}))
    assert client.get_job_status(job_id) == JobStatus.SUCCEEDED
    summary = json.loads((out_dir / "result.json").read_text())
    assert [row["training_iteration"] for row in summary["results"]] == list(range(1, ITERATIONS + 1))
    assert summary["results"][-1]["env_steps"] >= ITERATIONS * 200
    checkpoint = Path(summary["checkpoint"])
    assert (checkpoint / "algorithm_state.pkl").is_file() and (checkpoint / "learner_group").is_dir()
    assert len(summary["rollout_nodes"]) == 1
    assert summary["env_runner_nodes"] == summary["rollout_nodes"], "the EnvRunner left the rollout node"
