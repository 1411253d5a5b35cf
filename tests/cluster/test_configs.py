"""cluster/: launcher YAMLs against Ray's own schema, KubeRay manifests' groups and resources."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import ray.autoscaler
import yaml

from rllib_safe.runs.config import LEARNER_GPU_RESOURCE, ROLLOUT_RESOURCE

CLUSTER_DIR = Path(__file__).resolve().parents[2] / "cluster"
LAUNCHER_CONFIGS = ["aws.yaml", "onprem.yaml"]


def load(name: str):
    return yaml.safe_load((CLUSTER_DIR / name).read_text())


@pytest.fixture(scope="module")
def ray_schema():
    return json.loads((Path(ray.autoscaler.__file__).parent / "ray-schema.json").read_text())


@pytest.mark.parametrize("name", LAUNCHER_CONFIGS)
def test_launcher_config_matches_ray_schema(name, ray_schema):
    jsonschema.validate(load(name), ray_schema)


def test_schema_check_catches_a_misspelled_field(ray_schema):
    config = load("aws.yaml")
    config["available_node_types"]["cpu_rollout"]["min_worker"] = 1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(config, ray_schema)


@pytest.mark.parametrize("name", LAUNCHER_CONFIGS)
def test_launcher_config_uses_token_auth_and_a_local_dashboard(name):
    config = load(name)
    assert config["file_mounts"]["~/.ray/auth_token"] == "~/.ray/auth_token"
    head, workers = " ".join(config["head_start_ray_commands"]), " ".join(config["worker_start_ray_commands"])
    assert "RAY_AUTH_MODE=token ray start --head" in head
    assert "RAY_AUTH_MODE=token ray start --address" in workers
    assert "--dashboard-host=127.0.0.1" in head
    assert "disabled" not in head + workers


def test_cloud_config_has_a_cpu_rollout_group_and_a_gpu_learner_group():
    node_types = load("aws.yaml")["available_node_types"]
    head = node_types.pop(load("aws.yaml")["head_node_type"])
    assert head["resources"] == {"CPU": 0}
    rollout = [t for t in node_types.values() if ROLLOUT_RESOURCE in t["resources"]]
    learner = [t for t in node_types.values() if LEARNER_GPU_RESOURCE in t["resources"]]
    assert len(rollout) == 1 and len(learner) == 1
    assert rollout[0]["resources"].get("GPU", 0) == 0 and rollout[0]["resources"]["CPU"] > 0
    assert rollout[0]["max_workers"] > rollout[0]["min_workers"], "the rollout group must autoscale"
    assert learner[0]["resources"]["GPU"] >= 1
    assert ROLLOUT_RESOURCE not in learner[0]["resources"]


def test_onprem_workers_pick_their_group_by_gpu_presence():
    command = " ".join(load("onprem.yaml")["worker_start_ray_commands"])
    assert "nvidia-smi" in command
    roles = re.findall(r"ROLE='(\{.*?\})'", command)
    assert [json.loads(role) for role in roles] == [{LEARNER_GPU_RESOURCE: 1000}, {ROLLOUT_RESOURCE: 1000}]
    assert '--resources="$ROLE"' in command


def kuberay_clusters():
    cluster = load("kuberay/raycluster.yaml")
    job = load("kuberay/rayjob.yaml")
    assert (cluster["kind"], job["kind"]) == ("RayCluster", "RayJob")
    assert job["spec"]["entrypoint"].startswith("rllib-safe sweep tune_configs/")
    return {"RayCluster": cluster["spec"], "RayJob": job["spec"]["rayClusterSpec"]}


def ray_custom_resources(group: dict) -> dict:
    """The `resources` rayStartParam, KubeRay's quoted JSON string."""
    return json.loads(json.loads(group["rayStartParams"]["resources"]))


def container_resources(group: dict) -> dict:
    (container,) = group["template"]["spec"]["containers"]
    return container["resources"]


@pytest.mark.parametrize("kind", ["RayCluster", "RayJob"])
def test_kuberay_manifest_has_the_two_groups_and_their_resources(kind):
    spec = kuberay_clusters()[kind]
    assert spec["rayVersion"] == ray.__version__
    assert spec["authOptions"] == {"mode": "token"}
    assert spec["enableInTreeAutoscaling"] is True
    head = spec["headGroupSpec"]["rayStartParams"]
    assert head == {"num-cpus": "0", "dashboard-host": "127.0.0.1"}
    groups = {group["groupName"]: group for group in spec["workerGroupSpecs"]}
    assert set(groups) == {"cpu-rollout", "gpu-learner"}

    rollout, learner = groups["cpu-rollout"], groups["gpu-learner"]
    assert ray_custom_resources(rollout) == {ROLLOUT_RESOURCE: 1000}
    assert "nvidia.com/gpu" not in container_resources(rollout)["limits"]
    assert rollout["maxReplicas"] > rollout["minReplicas"]
    assert ray_custom_resources(learner) == {LEARNER_GPU_RESOURCE: 1000}
    assert container_resources(learner)["limits"]["nvidia.com/gpu"] == "1"
    for group in groups.values():
        assert container_resources(group)["requests"] == container_resources(group)["limits"]
