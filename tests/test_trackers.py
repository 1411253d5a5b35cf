"""Experiment trackers: MLflow (a real local store) and W&B (offline mode), read back with their own files."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from rllib_safe.trackers import (
    MLflowSettings,
    RunTracker,
    TrackerError,
    TrackingSettings,
    WandbSettings,
    check_installed,
)
from tests.tracker_files import mlflow_artifacts, mlflow_metric, mlflow_runs, wandb_offline_history, wandb_offline_runs

COST = "env_runners/episode_cost_mean"


def test_nothing_imports_a_tracker_unless_asked():
    code = (
        "import sys, rllib_safe.cli, rllib_safe.runs.service, rllib_safe.sweeps.runner, rllib_safe.trackers; "
        "print(sorted(m for m in ('mlflow', 'wandb', 'optuna') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]"


def test_a_missing_tracker_names_the_extra_to_install(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real(name, *a))
    with pytest.raises(TrackerError) as err:
        check_installed(TrackingSettings(wandb=WandbSettings()), flags={"wandb": "--wandb"})
    assert "--wandb" in str(err.value) and "pip install 'rllib-safe[wandb]'" in str(err.value)
    check_installed(TrackingSettings(mlflow=MLflowSettings()))  # installed: no error


def test_a_run_tracker_logs_params_metrics_and_artifacts(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # MLflow puts artefacts in ./mlruns beside a SQLite store
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    settings = TrackingSettings(mlflow=MLflowSettings(tracking_uri=uri, experiment="tests"),
                                wandb=WandbSettings(mode="offline"))
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.json").write_text("{}")
    config = {"lr": 3e-4, "slack_upper": math.inf, "model_config": {"fcnet_hiddens": [64, 64]}}
    tracker = RunTracker(settings, run_dir, "pcrpo-seed0", config)
    for iteration in (1, 2, 3):
        tracker.log_result({COST: float(iteration), "env_runners/episode_return_mean": math.nan, "name": "x",
                            "training_iteration": iteration}, step=1000 * iteration)
    (run_dir / "summary.json").write_text(json.dumps({"status": "completed"}))
    tracker.finish("completed")

    (run,) = mlflow_runs(uri, "tests")
    assert run.info.status == "FINISHED" and run.info.run_name == "pcrpo-seed0"
    assert run.data.params["lr"] == "0.0003"
    assert mlflow_metric(uri, run.info.run_id, COST) == [(1000, 1.0), (2000, 2.0), (3000, 3.0)]
    assert "env_runners/episode_return_mean" not in run.data.metrics  # NaN is left out, not logged
    assert {"config.json", "summary.json"} <= set(mlflow_artifacts(uri, run.info.run_id))

    (offline,) = wandb_offline_runs(run_dir)
    history = wandb_offline_history(offline)
    assert [row[COST] for row in history] == [1.0, 2.0, 3.0]
    assert [row["_step"] for row in history] == [1000, 2000, 3000]
