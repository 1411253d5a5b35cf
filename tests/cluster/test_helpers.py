"""rllib_safe.cluster (token lookup, addresses), placement (runs.config) and the submit command's arguments."""

from __future__ import annotations

import pytest

from rllib_safe.algorithms import PPOLagConfig
from rllib_safe.cli import build_parser
from rllib_safe.cli.submit import job_runtime_env
from rllib_safe.cluster import (
    auth_headers,
    dashboard_address,
    find_auth_token,
    job_dashboard_url,
)
from rllib_safe.runs.config import LEARNER_GPU_RESOURCE, ROLLOUT_RESOURCE, Placement, apply_placement


@pytest.fixture
def home(tmp_path):
    (tmp_path / ".ray").mkdir()
    (tmp_path / ".ray" / "auth_token").write_text("from-home\n")
    return tmp_path


def test_token_lookup_follows_rays_order(home, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("from-path\n")
    both = {"RAY_AUTH_TOKEN": "from-env", "RAY_AUTH_TOKEN_PATH": str(token_file)}
    assert find_auth_token(both, home) == "from-env"
    assert find_auth_token({"RAY_AUTH_TOKEN_PATH": str(token_file)}, home) == "from-path"
    assert find_auth_token({}, home) == "from-home"
    assert find_auth_token({}, tmp_path / "nowhere") is None


def test_unreadable_token_path_is_an_error_not_a_fallback(home):
    with pytest.raises(ValueError, match="RAY_AUTH_TOKEN_PATH"):
        find_auth_token({"RAY_AUTH_TOKEN_PATH": str(home / "missing")}, home)


def test_auth_headers_carry_a_bearer_token(home, tmp_path):
    assert auth_headers({}, home) == {"Authorization": "Bearer from-home"}
    assert auth_headers({}, tmp_path / "nowhere") == {}


def test_dashboard_address_defaults_to_localhost():
    assert dashboard_address(None, {}) == "http://127.0.0.1:8265"
    assert dashboard_address(None, {"RAY_API_SERVER_ADDRESS": "10.0.0.1:8265"}) == "http://10.0.0.1:8265"
    assert dashboard_address("https://ray.example/", {}) == "https://ray.example"
    assert job_dashboard_url("http://h:8265", "raysubmit_1") == "http://h:8265/#/jobs/raysubmit_1"


def test_placement_pins_env_runners_to_rollout_nodes_and_learners_to_gpu_nodes():
    config = PPOLagConfig().env_runners(num_env_runners=4, custom_resources_per_env_runner={"spot": 1})
    apply_placement(config, Placement(num_learners=2, num_gpus_per_learner=1))
    assert config.custom_resources_per_env_runner == {"spot": 1, ROLLOUT_RESOURCE: 1}
    assert config.num_gpus_per_env_runner == 0
    assert (config.num_learners, config.num_gpus_per_learner) == (2, 1)
    assert config.custom_resources_per_learner == {LEARNER_GPU_RESOURCE: 1}


def test_placement_can_allow_rollouts_anywhere_and_cpu_learners():
    config = apply_placement(PPOLagConfig(), Placement())
    apply_placement(config, Placement(num_learners=0, num_gpus_per_learner=0, rollouts_on_gpu_nodes=True))
    assert config.custom_resources_per_env_runner == {}
    assert config.custom_resources_per_learner == {}
    assert (config.num_learners, config.num_gpus_per_learner) == (0, 0)


@pytest.mark.parametrize(
    ("placement", "field"),
    [
        (Placement(num_learners=0, num_gpus_per_learner=1), "num_learners"),
        (Placement(num_learners=-1, num_gpus_per_learner=0), "num_learners"),
        (Placement(num_learners=1.5, num_gpus_per_learner=0), "num_learners"),
        (Placement(num_learners=1, num_gpus_per_learner=-1), "num_gpus_per_learner"),
    ],
)
def test_placement_rejects_bad_values_naming_the_field(placement, field):
    with pytest.raises(ValueError, match=f"`{field}`"):
        apply_placement(PPOLagConfig(), placement)


def test_submit_parses_the_command_after_the_separator():
    command = ["rllib-safe", "sweep", "--smoke", "tune_configs/x.yaml"]
    args = build_parser().parse_args(["submit", "--address", "http://h:8265", "--follow", "--", *command])
    assert args.command == ["--", *command]
    assert args.address == "http://h:8265"
    assert args.follow and not args.no_wait
    with pytest.raises(SystemExit):
        build_parser().parse_args(["submit", "--follow", "--no-wait", "--", "true"])


def test_runtime_env_uploads_the_project_without_local_state(tmp_path):
    (tmp_path / "pyproject.toml").write_text("")
    runtime_env = job_runtime_env(tmp_path)
    assert runtime_env["working_dir"] == str(tmp_path.resolve())
    assert {".venv", "runs", ".git"} <= set(runtime_env["excludes"])
    with pytest.raises(ValueError, match="--working-dir"):
        job_runtime_env(tmp_path / "elsewhere")
