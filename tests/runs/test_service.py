"""rllib_safe.runs.service: a run prepared before Ray starts (settings, CPUs), and Ray's start announced."""

from __future__ import annotations


def test_every_config_setting_is_accepted_by_name(ray_must_not_start, monkeypatch, tmp_path):
    """`--set` takes env-runner and learner settings too, as sweep specs do."""
    from rllib_safe.runs import TrainOptions, prepare_run
    from rllib_safe.runs.options import parse_overrides

    overrides = parse_overrides(["num_env_runners=3", "num_cpus_per_env_runner=0.5", "lr=1e-4"])
    options = TrainOptions(algo="pcrpo", env="BudgetEnv", run_dir=tmp_path, overrides=overrides)
    config = prepare_run(options).config
    assert (config.num_env_runners, config.num_cpus_per_env_runner, config.lr) == (3, 0.5, 1e-4)


def test_more_env_runners_than_local_cpus_is_left_to_a_cluster(monkeypatch, tmp_path):
    from rllib_safe.runs import TrainOptions, prepare_run

    monkeypatch.setattr("rllib_safe.runs.service.local_ray_cpus", lambda: 2.0)
    options = TrainOptions(algo="ppo-lag", env="BudgetEnv", run_dir=tmp_path, address="ray://head:10001",
                           overrides={"num_env_runners": 8})
    assert prepare_run(options).config.num_env_runners == 8


def test_set_takes_a_schedule_where_rllib_does_and_any_value_where_the_default_is_none(ray_must_not_start, tmp_path):
    from rllib_safe.runs import TrainOptions, prepare_run

    schedule = [[0, 1e-3], [1000, 1e-4]]
    overrides = {"lr": schedule, "entropy_coeff": [[0, 0.01], [1000, 0.0]], "evaluation_interval": 2,
                 "rollout_fragment_length": 50, "num_cpus_per_env_runner": 0.5}
    options = TrainOptions(algo="ppo-lag", env="BudgetEnv", run_dir=tmp_path, overrides=overrides)
    config = prepare_run(options).config
    assert (config.lr, config.evaluation_interval, config.rollout_fragment_length) == (schedule, 2, 50)


def test_starting_ray_is_announced(monkeypatch):
    """Ray takes seconds to start: a line says so first (local: with its CPUs; a cluster: its address)."""
    import os

    import ray

    from rllib_safe.runs import init_ray

    class FakeContext:
        dashboard_url = None

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", lambda **kwargs: FakeContext())
    monkeypatch.setattr("rllib_safe.runs.console.quiet_console", lambda verbose: None)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    lines = []
    init_ray(None, echo=lines.append)
    init_ray("ray://head:10001", echo=lines.append)
    assert lines == [f"Starting Ray (local, {os.cpu_count()} CPUs) ...", "Connecting to Ray at ray://head:10001 ..."]
