"""`rllib-safe train`: argument validation and a short run end to end."""

from __future__ import annotations

import json

import pytest

from rllib_safe.cli import main
from rllib_safe.runs.run_dir import CHECKPOINT_MARKER, find_checkpoint
from tests.short_run import BATCH, SHORT_RUN


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--cost-limit", "-1"], "--cost-limit = -1.0: Input should be greater than or equal to 0"),
        (["--timesteps", "0"], "--timesteps = 0: Input should be greater than 0"),
        (["--algo", "ppo-lagg"], "--algo = 'ppo-lagg': unknown algorithm; choose one of"),
        (["--algo", "ppo", "--slack-upper", "0.5"], "--slack-upper applies to --algo pcrpo only"),
        (["--algo", "crpo", "--modulation-base", "2"], "--modulation-base applies to --algo smpo only"),
        (["--set", "lr"], "--set 'lr' is invalid: it must look like key=value"),
        (["--preset", "omnisaf"],
         "--preset = 'omnisaf': unknown preset 'omnisaf'; choose one of ['omnisafe', 'pcrpo-authors',"),
    ],
)
def test_invalid_arguments_name_flag_value_and_rule(argv, expected, capsys):
    assert main(["train", *argv]) == 2
    assert expected in capsys.readouterr().err


def test_resume_refuses_flags_that_change_the_config(tmp_path, capsys):
    assert main(["train", "--resume", str(tmp_path), "--cost-limit", "3"]) == 2
    assert "--resume continues with the checkpoint's config; drop --cost-limit" in capsys.readouterr().err


def test_unknown_set_key_lists_close_names(ray_must_not_start, capsys):
    assert main(["train", *SHORT_RUN, "--set", "cost_limt=3"]) == 2
    err = capsys.readouterr().err
    assert "`cost_limt` is not a setting of ppo-lag" in err and "cost_limit" in err


def test_config_validation_errors_reach_the_user_before_ray_starts(ray_must_not_start, capsys):
    assert main(["train", *SHORT_RUN, "--set", "cost_gamma=1.5"]) == 2
    assert "`cost_gamma` = 1.5 is invalid" in capsys.readouterr().err


def test_more_env_runners_than_local_cpus_is_refused_before_ray_starts(ray_must_not_start, monkeypatch, capsys):
    """On the embedded instance they would wait for CPUs forever (no message from a quiet console)."""
    monkeypatch.setattr("rllib_safe.runs.service.local_ray_cpus", lambda: 2.0)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert main(["train", *SHORT_RUN, "--set", "num_env_runners=3"]) == 2
    err = capsys.readouterr().err
    assert "`num_env_runners` = 3 (1 CPU each) and `num_learners` = 0 (1 CPU each) need 3 CPUs" in err
    assert "the local Ray instance has 2" in err and "Use num_env_runners <= 2" in err


def test_unknown_env_suggests_ids(ray_must_not_start, capsys):
    assert main(["train", "--env", "SafetyPointGoal1-v9"]) == 2
    assert "SafetyPointGoal1-v0" in capsys.readouterr().err


@pytest.mark.slow
def test_train_writes_results_checkpoints_tensorboard_and_summary(short_run, capsys):
    results = [json.loads(line) for line in (short_run / "results.jsonl").read_text().splitlines()]
    assert [r["training_iteration"] for r in results] == [1, 2]
    assert results[-1]["num_env_steps_sampled_lifetime"] == 2 * BATCH
    for key in ("env_runners/episode_return_mean", "env_runners/episode_cost_mean",
                "learners/lagrangian_multiplier", "timers/learner_update_timer"):
        assert key in results[-1]
    config = json.loads((short_run / "config.json").read_text())
    assert config["algorithm"] == "PPOLag" and config["config"]["cost_limit"] == 5
    assert list((short_run / "tensorboard").glob("events.out.tfevents.*"))
    assert find_checkpoint(short_run) == short_run / "checkpoints" / "iter_000002"
    assert (short_run / "checkpoints" / "iter_000001" / CHECKPOINT_MARKER).exists()
    summary = json.loads((short_run / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["env_steps"] == 2 * BATCH
    assert summary["final_cost"] == results[-1]["env_runners/episode_cost_mean"]
    assert summary["cost_limit"] == 5 and summary["steps_per_s"] > 0


def train_parser():
    """The `rllib-safe train` argument parser."""
    import argparse

    from rllib_safe.cli import build_parser

    (subparsers,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return subparsers.choices["train"]


def test_every_train_option_has_a_help_text():
    options = [action for action in train_parser()._actions if action.dest != "help"]
    assert options and all(action.help and action.help.strip() for action in options), [
        action.option_strings for action in options if not (action.help and action.help.strip())
    ]


def test_help_states_the_defaults_of_the_model_and_of_the_algorithm_configs():
    from rllib_safe.algorithms import PCRPOConfig, SMPOConfig

    help_text = {action.dest: action.help for action in train_parser()._actions}
    assert help_text["timesteps"].endswith("default: 200000")
    assert help_text["slack_upper"].endswith(f"default: the algorithm config's ({PCRPOConfig().slack_upper:g})")
    assert help_text["modulation_base"].endswith(f"({SMPOConfig().modulation_base:g})")
    assert help_text["num_env_runners"].endswith(f"({PCRPOConfig().num_env_runners})")


@pytest.mark.parametrize(
    "setting, expected",
    [
        ("lr=abc", "--set lr='abc': lr takes a number or a list (default 0.0003)."),
        ("use_kl_loss=1", "--set use_kl_loss=1: use_kl_loss takes true or false (default False)."),
        ("num_epochs=true", "--set num_epochs=True: num_epochs takes a number (default 10)."),
        ("model_config=3", "--set model_config=3: model_config takes a mapping (default {"),
    ],
)
def test_set_values_of_the_wrong_kind_are_refused_before_ray_starts(setting, expected, ray_must_not_start, capsys):
    assert main(["train", *SHORT_RUN, "--set", setting]) == 2
    assert expected in capsys.readouterr().err


def test_timesteps_that_are_not_whole_iterations_are_announced_before_ray_starts(ray_must_not_start, capsys):
    with pytest.raises(AssertionError, match="Ray was started"):
        main(["train", *SHORT_RUN, "--set", "num_envs_per_env_runner=1", "--timesteps", "300"])
    assert capsys.readouterr().out == (
        "--timesteps 300 is not a whole number of iterations of 200 env steps: training runs 2 iterations "
        "(400 env steps)\n"
    )


@pytest.mark.slow
def test_train_and_resume_say_what_they_start_and_leave_nothing_in_ray_results(ray_session, monkeypatch, tmp_path,
                                                                                capsys):
    """RLlib makes a log directory per algorithm in ~/ray_results (``DEFAULT_STORAGE_PATH``) outside Tune."""
    from ray.tune.trainable import trainable

    ray_results = tmp_path / "ray_results"
    monkeypatch.setattr(trainable, "DEFAULT_STORAGE_PATH", str(ray_results))
    run_dir = tmp_path / "run"

    assert main(["train", *SHORT_RUN, "--timesteps", str(BATCH + BATCH // 2), "--run-dir", str(run_dir)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:3] == [
        f"--timesteps {BATCH + BATCH // 2} is not a whole number of iterations of {BATCH} env steps: training runs "
        f"2 iterations ({2 * BATCH} to {2 * BATCH + 2} env steps: an iteration samples {BATCH}, up to {BATCH + 1} "
        "when the envs of an EnvRunner end episodes at different steps)",
        "Building EnvRunners and learners ...",
        f"Run directory: {run_dir}",
    ]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert (summary["iterations"], summary["env_steps"]) == (2, 2 * BATCH)

    assert main(["train", "--resume", str(run_dir), "--timesteps", str(3 * BATCH)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"Restoring {run_dir / 'checkpoints' / 'iter_000002'} ..."
    assert lines[1].startswith("Resuming from")
    assert json.loads((run_dir / "summary.json").read_text())["iterations"] == 3

    assert not ray_results.exists() or not any(ray_results.iterdir())
    assert sorted(path.name for path in run_dir.iterdir()) == [
        "checkpoints", "config.json", "results.jsonl", "summary.json", "tensorboard",
    ]
