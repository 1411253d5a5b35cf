"""Running rllib-safe on a Ray cluster: the auth token, the dashboard address, placement.

Placement follows the cluster configs in ``cluster/``: CPU worker nodes carry the custom
resource ``rollout`` and GPU worker nodes ``learner_gpu`` (1000 units each, a marker that
never limits; CPUs and GPUs do). EnvRunners ask for one ``rollout`` unit, so they never land
on a GPU node (nor on the head) unless allowed; GPU learners ask for one ``learner_gpu`` unit
besides their GPUs.

Token authentication (rllib-notes.md, trap 5): the dashboard's REST API answers 401 until the
client sends the cluster's token. :func:`find_auth_token` looks where Ray itself looks.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

#: Custom resource of the CPU worker nodes, asked for by every EnvRunner.
ROLLOUT_RESOURCE = "rollout"
#: Custom resource of the GPU worker nodes, asked for by every GPU learner.
LEARNER_GPU_RESOURCE = "learner_gpu"
#: Where ``ray start --head`` serves the dashboard (and the jobs API) by default.
DEFAULT_DASHBOARD_ADDRESS = "http://127.0.0.1:8265"


def find_auth_token(environ: Mapping[str, str] | None = None, home: Path | None = None) -> str | None:
    """The cluster token, looked up in Ray's order; None when there is none.

    1. ``RAY_AUTH_TOKEN``; 2. the file named by ``RAY_AUTH_TOKEN_PATH`` (an error when it
    cannot be read or is empty, as in Ray); 3. ``~/.ray/auth_token``.
    """
    environ = os.environ if environ is None else environ
    token = environ.get("RAY_AUTH_TOKEN", "").strip()
    if token:
        return token
    token_path = environ.get("RAY_AUTH_TOKEN_PATH")
    if token_path:
        path = Path(token_path).expanduser()
        token = path.read_text().strip() if path.is_file() else ""
        if not token:
            raise ValueError(
                f"`RAY_AUTH_TOKEN_PATH` = {token_path!r} is invalid: it must name a readable, "
                "non-empty file holding the cluster's token."
            )
        return token
    default_path = (Path.home() if home is None else home) / ".ray" / "auth_token"
    token = default_path.read_text().strip() if default_path.is_file() else ""
    return token or None


def auth_headers(environ: Mapping[str, str] | None = None, home: Path | None = None) -> dict[str, str]:
    """HTTP headers that authenticate to the dashboard / jobs API (empty without a token)."""
    token = find_auth_token(environ, home)
    return {"Authorization": f"Bearer {token}"} if token else {}


def dashboard_address(address: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The jobs API address: ``address``, else ``RAY_API_SERVER_ADDRESS``, else localhost:8265."""
    environ = os.environ if environ is None else environ
    address = address or environ.get("RAY_API_SERVER_ADDRESS") or DEFAULT_DASHBOARD_ADDRESS
    if "://" not in address:
        address = f"http://{address}"
    return address.rstrip("/")


def job_dashboard_url(address: str, job_id: str) -> str:
    """The dashboard page of one job."""
    return f"{dashboard_address(address)}/#/jobs/{job_id}"


@dataclass(frozen=True)
class Placement:
    """Where the parts of a training run go on a cluster built from ``cluster/``.

    Attributes:
        num_learners: Remote learner actors (at least 1 for GPU learners, so the learner
            is placed on a GPU node rather than in the driver).
        num_gpus_per_learner: GPUs per learner (0: CPU learners, placed anywhere).
        rollouts_on_gpu_nodes: Let EnvRunners use any node with free CPUs, GPU nodes
            included, instead of only the ``rollout`` nodes.
    """

    num_learners: int = 1
    num_gpus_per_learner: float = 1.0
    rollouts_on_gpu_nodes: bool = False


def apply_placement(config, placement: Placement = Placement()):
    """Sets EnvRunner and learner resources on an AlgorithmConfig; returns the config.

    EnvRunners ask for CPUs only (no GPU) plus one ``rollout`` unit; GPU learners ask for
    ``num_gpus_per_learner`` GPUs plus one ``learner_gpu`` unit.
    """
    from rllib_safe.algorithms.validation import check_range

    check_range("num_gpus_per_learner", placement.num_gpus_per_learner, 0.0, float("inf"))
    if type(placement.num_learners) is not int or placement.num_learners < 0:
        raise ValueError(f"`num_learners` = {placement.num_learners!r} is invalid: it must be an int >= 0.")
    if placement.num_gpus_per_learner > 0 and placement.num_learners < 1:
        raise ValueError(
            f"`num_learners` = {placement.num_learners} is invalid with num_gpus_per_learner = "
            f"{placement.num_gpus_per_learner}: GPU learners must be remote actors "
            "(num_learners >= 1) to be placed on the GPU nodes."
        )

    env_runner_resources = dict(config.custom_resources_per_env_runner)
    env_runner_resources.pop(ROLLOUT_RESOURCE, None)
    if not placement.rollouts_on_gpu_nodes:
        env_runner_resources[ROLLOUT_RESOURCE] = 1
    learner_resources = dict(config.custom_resources_per_learner or {})
    learner_resources.pop(LEARNER_GPU_RESOURCE, None)
    if placement.num_gpus_per_learner > 0:
        learner_resources[LEARNER_GPU_RESOURCE] = 1

    config.env_runners(num_gpus_per_env_runner=0, custom_resources_per_env_runner=env_runner_resources)
    config.learners(
        num_learners=placement.num_learners,
        num_gpus_per_learner=placement.num_gpus_per_learner,
        custom_resources_per_learner=learner_resources,
    )
    return config
