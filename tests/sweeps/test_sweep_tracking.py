"""A sweep's trials logged to MLflow and W&B (offline) through Tune's logger callbacks, read back."""

from __future__ import annotations

from pathlib import Path

import pytest

from rllib_safe.sweeps import load_spec
from rllib_safe.sweeps.runner import run_sweep
from rllib_safe.trackers import MLflowSettings, TrackingSettings, WandbSettings
from tests.tracker_files import mlflow_metric, mlflow_runs, wandb_offline_history, wandb_offline_runs

pytestmark = pytest.mark.slow
TINY = Path(__file__).parent / "specs" / "tiny.yaml"
COST = "env_runners/episode_cost_mean"


def test_every_trial_is_a_tracked_run(ray_session, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # MLflow puts artefacts in ./mlruns beside a SQLite store
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tracking = TrackingSettings(mlflow=MLflowSettings(tracking_uri=uri), wandb=WandbSettings(mode="offline"))
    spec = load_spec(TINY).model_copy(update={"storage_path": str(tmp_path), "tracking": tracking})
    summary = run_sweep(spec, name="tracked", verbose=0)
    assert set(summary.statuses.values()) == {"TERMINATED"}

    runs = mlflow_runs(uri, "tracked-ppo-lag")  # the experiment is named for the sweep and the algorithm
    assert len(runs) == 2 and {run.data.params["seed"] for run in runs} == {"0", "1"}
    for run in runs:
        assert [step for step, _ in mlflow_metric(uri, run.info.run_id, COST)] == [1, 2, 3]  # Tune's iterations

    offline = wandb_offline_runs(summary.run_dir)
    assert len(offline) == 2
    for run_file in offline:
        assert [row["training_iteration"] for row in wandb_offline_history(run_file)] == [1, 2, 3]
