"""The run loop, its progress line and summary, and checkpoint restore: the restored state equals the saved one."""

from __future__ import annotations

import json
import math

import pytest
import torch

from rllib_safe.algorithms import default_config
from rllib_safe.metrics import MODE_METRICS, UPDATE_MODES
from rllib_safe.runs import (
    RunDirError,
    RunFiles,
    find_checkpoint,
    flatten_result,
    format_summary,
    parse_overrides,
    progress_line,
    restore_algorithm,
    run_loop,
    summarise,
)
from rllib_safe.runs.config import setting_routes
from tests.algorithms.learning import small_problem_config


def test_flatten_result_joins_keys_and_drops_config_and_non_scalars():
    result = {"config": {"lr": 1}, "env_runners": {"episode_cost_mean": 3.0, "hist": [1, 2]}, "iter": 2}
    assert flatten_result(result) == {"env_runners/episode_cost_mean": 3.0, "iter": 2}


def test_parse_overrides_reads_yaml_scalars():
    assert parse_overrides(["lr=1e-4", "num_epochs=5", "use_kl_loss=false", "x=", "update=first_order"]) == {
        "lr": 1e-4, "num_epochs": 5, "use_kl_loss": False, "x": None, "update": "first_order",
    }


def test_settings_cover_the_whole_hierarchy_and_every_builder_method():
    routes = setting_routes(default_config("ppo-lag"))
    assert {name: routes[name] for name in ("lr", "cost_limit", "lagrangian_multiplier_lr")} == dict.fromkeys(
        ("lr", "cost_limit", "lagrangian_multiplier_lr"), "training"
    )
    assert (routes["num_env_runners"], routes["num_gpus_per_learner"]) == ("env_runners", "learners")


def test_progress_line_shows_steps_cost_vs_limit_rate_and_eta():
    flat = {"training_iteration": 3, "num_env_steps_sampled_lifetime": 12000,
            "env_runners/episode_return_mean": 1.234, "env_runners/episode_cost_mean": 30.1,
            "env_runners/episode_cost_iteration_mean": 41.0}
    assert progress_line(flat, 200000, 25.0, 2150.4, 87) == (
        "iter 3 | steps 12000/200000 | return 1.23 | cost 30.10/25 (this iter 41.00) | 2150 steps/s | ETA 1m27s"
    )


def test_summary_counts_pcrpo_modes_over_iterations(tmp_path):
    files = RunFiles(tmp_path)
    results = [
        {f"learners/default_policy/{mode}": float(mode == taken) for mode in MODE_METRICS}
        for taken in ("mode_reward", "mode_cost", "mode_cost")
    ]
    summary = summarise(results, 25.0, 100.0, files, "completed", None)
    files.close()
    assert summary["update_mode_counts"] == {
        "mode_reward": 1.0, "mode_soft_aligned": 0.0, "mode_soft_conflict": 0.0, "mode_cost": 2.0,
    }
    assert "update_mode_counts" not in summarise([{"a": 1}], 25.0, 1.0, RunFiles(tmp_path), "completed", None)


def test_summary_counts_accepted_trust_region_steps_per_mode(tmp_path):
    # Three iterations: a rejected soft-conflict step, an accepted one, an accepted cost step.
    def iteration(mode: str, accepted: bool) -> dict:
        prefix = "learners/default_policy/"
        return {
            **{f"{prefix}mode_{m}": float(m == mode) for m in UPDATE_MODES},
            **{f"{prefix}line_search_accepted_{m}": float(m == mode and accepted) for m in UPDATE_MODES},
        }

    results = [iteration("soft_conflict", False), iteration("soft_conflict", True), iteration("cost", True)]
    files = RunFiles(tmp_path)
    summary = summarise(results, 25.0, 100.0, files, "completed", None)
    files.close()
    assert summary["line_search_accepted"] == {
        "reward": [0.0, 0.0], "soft_aligned": [0.0, 0.0], "soft_conflict": [1.0, 2.0], "cost": [1.0, 1.0],
    }
    summary |= {"final_return": 1.0, "final_cost": 2.0}
    assert "trust-region steps accepted per mode: soft_conflict 1/2, cost 1/1" in format_summary(summary)


def test_find_checkpoint_explains_a_directory_without_checkpoints(tmp_path):
    with pytest.raises(RunDirError, match="neither a checkpoint nor a run directory"):
        find_checkpoint(tmp_path)


def interrupt_after_first_iteration(line: str) -> None:
    """An ``echo`` that presses Ctrl-C once the first progress line is printed."""
    if line.startswith("iter "):
        raise KeyboardInterrupt


@pytest.mark.slow
def test_interrupt_checkpoints_and_restore_gives_the_saved_state(ray_session, tmp_path):
    config = small_problem_config(default_config("ppo-lag")).training(
        train_batch_size_per_learner=200, minibatch_size=100, num_epochs=2, normalize_observations=True
    )
    algo = config.build_algo()
    files = RunFiles(tmp_path)
    try:
        summary = run_loop(algo, files, 10**6, 0, echo=interrupt_after_first_iteration)
        saved = algo.learner_group.get_state()["learner"]
    finally:
        algo.stop()
        files.close()
    assert summary["status"] == "interrupted" and summary["iterations"] == 1
    assert json.loads((tmp_path / "summary.json").read_text())["checkpoint"] == summary["checkpoint"]
    assert len((tmp_path / "results.jsonl").read_text().splitlines()) == 1
    assert saved["safe_learner_state"]["lagrange"]["value"] > config.lagrangian_multiplier_init

    restored = restore_algorithm(find_checkpoint(tmp_path))
    try:
        state = restored.learner_group.get_state()["learner"]
        assert state["safe_learner_state"] == saved["safe_learner_state"]  # lambda, its Adam state, J_c
        weights = saved["rl_module"]["default_policy"]
        for name, tensor in state["rl_module"]["default_policy"].items():
            assert torch.equal(torch.as_tensor(tensor), torch.as_tensor(weights[name])), name
        assert restored.iteration == 1 and restored.config.cost_limit == config.cost_limit
        result = restored.train()
        after = restored.learner_group.get_state()["learner"]["safe_learner_state"]
    finally:
        restored.stop()
    assert result["training_iteration"] == 2 and result["num_env_steps_sampled_lifetime"] == 400
    assert math.isfinite(after["lagrange"]["value"])
    assert after["lagrange"]["value"] != saved["safe_learner_state"]["lagrange"]["value"]
    assert find_checkpoint(tmp_path).name == "iter_000001"


def test_timesteps_notice_says_how_many_whole_iterations_run():
    from rllib_safe.runs.loop import timesteps_notice

    assert timesteps_notice(8000, 4000, 4000) is None
    assert timesteps_notice(5000, 4000, 4000) == (
        "--timesteps 5000 is not a whole number of iterations of 4000 env steps: training runs 2 iterations "
        "(8000 env steps)"
    )
    assert timesteps_notice(300, 4000, 4000).endswith("training runs 1 iteration (4000 env steps)")
    assert timesteps_notice(5000, 4000, 4014).endswith(
        "training runs 2 iterations (8000 to 8028 env steps: an iteration samples 4000, up to 4014 when the envs "
        "of an EnvRunner end episodes at different steps)"
    )
    assert "training runs 4 to 5 iterations (10010 to" in timesteps_notice(10010, 2502, 2510)


@pytest.mark.parametrize(
    "settings, expected",
    [
        ({}, (4000, 4014)),  # 2 EnvRunners x 8 envs: 250 steps per env, up to 7 more per EnvRunner
        ({"num_envs_per_env_runner": 1}, (4000, 4000)),
        ({"num_env_runners": 0, "num_envs_per_env_runner": 2, "train_batch_size_per_learner": 200,
          "minibatch_size": 100}, (200, 201)),
        ({"num_env_runners": 4, "num_envs_per_env_runner": 3, "train_batch_size_per_learner": 2500}, (2502, 2510)),
        ({"batch_mode": "complete_episodes"}, None),
    ],
)
def test_iteration_env_steps_follow_rllibs_rollout_fragments(settings, expected):
    from rllib_safe.runs import build_config
    from rllib_safe.runs.loop import iteration_env_steps

    assert iteration_env_steps(build_config("ppo", "BudgetEnv", settings)) == expected
