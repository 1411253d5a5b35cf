"""`rllib-safe train --mlflow / --wandb`: the run in MLflow's store and W&B's offline files; bad flags first."""

from __future__ import annotations

import json

import pytest

from rllib_safe.cli import main
from tests.short_run import BATCH, SHORT_RUN
from tests.tracker_files import mlflow_artifacts, mlflow_metric, mlflow_runs, wandb_offline_history, wandb_offline_runs

COST = "env_runners/episode_cost_mean"


@pytest.mark.parametrize(("flags", "message"), [
    (["--mlflow-uri", "sqlite:///x.db"], "--mlflow-uri applies with --mlflow only"),
    (["--wandb-mode", "offline"], "--wandb-mode applies with --wandb only"),
    (["--wandb", "--wandb-mode", "cloud"], "--wandb-mode"),
])
def test_tracker_flags_are_checked_before_anything_starts(flags, message, capsys):
    assert main(["train", *SHORT_RUN, *flags]) == 2
    assert message in capsys.readouterr().err


def test_a_missing_tracker_names_its_extra(monkeypatch, capsys, tmp_path):
    import importlib.util

    import rllib_safe.runs.service as service

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mlflow" else real(name, *a))
    monkeypatch.setattr(service, "init_ray", lambda *a, **k: pytest.fail("Ray was started"))
    assert main(["train", *SHORT_RUN, "--mlflow", "--run-dir", str(tmp_path / "run")]) == 2
    assert "pip install 'rllib-safe[mlflow]'" in capsys.readouterr().err


@pytest.mark.slow
def test_a_tracked_run_reaches_mlflow_and_wandb(ray_session, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # MLflow puts artefacts in ./mlruns beside a SQLite store
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    run_dir = tmp_path / "tracked"
    assert main(["train", *SHORT_RUN, "--timesteps", str(2 * BATCH), "--run-dir", str(run_dir),
                 "--mlflow", "--mlflow-uri", uri, "--mlflow-experiment", "cli",
                 "--wandb", "--wandb-mode", "offline"]) == 0

    (run,) = mlflow_runs(uri, "cli")
    assert run.info.run_name == "tracked" and run.info.status == "FINISHED"
    assert run.data.params["cost_limit"] == "5.0" and run.data.params["seed"] == "0"
    assert [step for step, _ in mlflow_metric(uri, run.info.run_id, COST)] == [BATCH, 2 * BATCH]
    assert {"config.json", "results.jsonl", "summary.json"} <= set(mlflow_artifacts(uri, run.info.run_id))

    results = [json.loads(line) for line in (run_dir / "results.jsonl").read_text().splitlines()]
    (offline,) = wandb_offline_runs(run_dir)
    history = wandb_offline_history(offline)
    assert [row[COST] for row in history] == [result[COST] for result in results]  # the keys of results.jsonl
