"""Experiment trackers: MLflow and Weights & Biases for `train` and `sweep`, through Ray's integrations.

Nothing here imports a tracker until a run asks for one (``--mlflow``, ``--wandb``, a sweep
spec's ``tracking:`` block), and :func:`check_installed` tells, before Ray starts, which extra
to install when its package is missing (``pip install 'rllib-safe[mlflow]'``).

What each tracker receives, from a ``train`` run (:class:`RunTracker`) or each trial of a
sweep (:func:`tune_callbacks`):

* params: the full algorithm config (``config.to_dict()``; a trial's config);
* metrics: every numeric result per iteration, under the keys of ``results.jsonl``
  (``env_runners/episode_cost_mean``, ...), with the env steps sampled so far as the step of
  a ``train`` run (Tune's callbacks use the iteration);
* artefacts (MLflow): a ``train`` run's ``config.json``, ``results.jsonl`` and
  ``summary.json`` at the end; a sweep trial's directory (Tune's ``save_artifact``).

Both integrations are Ray's own (``ray.air.integrations``): ``setup_mlflow`` / ``setup_wandb``
for a ``train`` run, ``MLflowLoggerCallback`` / ``WandbLoggerCallback`` for a sweep's trials.

MLflow writes where ``tracking_uri`` (or ``MLFLOW_TRACKING_URI``) says; by default MLflow's own
default, a ``mlflow.db`` SQLite store in the working directory, which ``mlflow ui`` started in
the same directory shows. W&B's ``mode`` is W&B's: ``online`` needs ``wandb login``;
``offline`` writes under ``<run or sweep directory>/wandb`` (``wandb sync`` uploads it later).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from rllib_safe.metrics import finite_numbers

#: The packages each tracker needs, and the extra of rllib-safe that installs them.
TRACKER_PACKAGES = {"mlflow": "mlflow", "wandb": "wandb"}
#: The project (W&B) and experiment (MLflow) a run is logged under unless told otherwise.
DEFAULT_PROJECT = "rllib-safe"
#: Files of a train run directory logged as MLflow artefacts at the end of the run.
RUN_ARTIFACTS = ("config.json", "results.jsonl", "summary.json")


class TrackerError(ValueError):
    """A tracker that was asked for but cannot be used (its package is missing)."""


class MLflowSettings(BaseModel):
    """Where MLflow writes: ``tracking_uri`` (default: MLFLOW_TRACKING_URI, else MLflow's own
    default, ``sqlite:///mlflow.db`` in the working directory) and the experiment's name."""

    model_config = ConfigDict(extra="forbid")

    tracking_uri: str | None = None
    experiment: str = Field(DEFAULT_PROJECT, min_length=1)


class WandbSettings(BaseModel):
    """Where W&B writes: the project, and W&B's mode (default: WANDB_MODE, else online)."""

    model_config = ConfigDict(extra="forbid")

    project: str = Field(DEFAULT_PROJECT, min_length=1)
    mode: Literal["online", "offline"] | None = None


class TrackingSettings(BaseModel):
    """The trackers of a run or a sweep: None for a tracker not asked for."""

    model_config = ConfigDict(extra="forbid")

    mlflow: MLflowSettings | None = None
    wandb: WandbSettings | None = None

    @property
    def names(self) -> list[str]:
        return [name for name in TRACKER_PACKAGES if getattr(self, name) is not None]


def check_installed(settings: TrackingSettings, *, flags: dict[str, str] | None = None) -> None:
    """TrackerError naming the extra to install for each asked-for tracker whose package is missing.

    ``flags``: how the user asked for each tracker (``{"mlflow": "--mlflow"}``), for the message.
    """
    for name in settings.names:
        package = TRACKER_PACKAGES[name]
        if importlib.util.find_spec(package) is None:
            asked = (flags or {}).get(name, name)
            raise TrackerError(
                f"{asked} logs to {package}, which is not installed: pip install 'rllib-safe[{name}]' "
                f"(or pip install {package})."
            )


def _wandb_init_kwargs(settings: WandbSettings, run_dir: Path) -> dict[str, Any]:
    """``wandb.init`` keywords: files under ``run_dir/wandb``, and the mode where one is given.

    Ray's integration checks for an API key unless WANDB_MODE says offline, so an offline mode
    is also set there (this process only).
    """
    if settings.mode is not None:
        os.environ["WANDB_MODE"] = settings.mode
    return {"dir": str(run_dir), **({"mode": settings.mode} if settings.mode else {})}


class RunTracker:
    """The trackers of one ``train`` run: params at the start, metrics per iteration, artefacts at the end."""

    def __init__(self, settings: TrackingSettings, run_dir: Path, run_name: str, config: dict[str, Any]):
        self.run_dir = Path(run_dir)
        self.mlflow = None
        self.wandb = None
        if settings.mlflow is not None:
            from ray.air.integrations.mlflow import setup_mlflow

            self.mlflow = setup_mlflow(
                config, tracking_uri=settings.mlflow.tracking_uri, experiment_name=settings.mlflow.experiment,
                run_name=run_name, create_experiment_if_not_exists=True,
            )
        if settings.wandb is not None:
            from ray.air.integrations.wandb import setup_wandb

            self.wandb = setup_wandb(
                config, project=settings.wandb.project, name=run_name,
                **_wandb_init_kwargs(settings.wandb, self.run_dir),
            )

    def log_result(self, flat_result: dict[str, Any], step: int) -> None:
        """One iteration's numeric results at x = ``step`` (env steps sampled so far)."""
        metrics = finite_numbers(flat_result)
        if self.mlflow is not None:
            self.mlflow.log_metrics(metrics, step=step)
        if self.wandb is not None:
            self.wandb.log(metrics, step=step)

    def finish(self, status: str) -> None:
        """Logs the run directory's files (MLflow) and closes every tracker's run with ``status``."""
        if self.mlflow is not None:
            for name in RUN_ARTIFACTS:
                if (self.run_dir / name).exists():
                    self.mlflow.log_artifact(str(self.run_dir / name))
            self.mlflow.end_run(status="FINISHED" if status == "completed" else "KILLED" if status ==
                                "interrupted" else "FAILED")
        if self.wandb is not None:
            self.wandb.finish(exit_code=0 if status == "completed" else 1)


def tune_callbacks(settings: TrackingSettings, experiment: str, run_dir: Path) -> list:
    """Ray Tune's logger callbacks for the asked-for trackers; every trial of a sweep is one tracked run.

    ``experiment``: MLflow's experiment where the settings leave it at its default, and W&B's
    group. ``run_dir``: the sweep's directory (W&B's files go to ``run_dir/wandb``).
    """
    callbacks = []
    if settings.mlflow is not None:
        from ray.air.integrations.mlflow import MLflowLoggerCallback

        name = experiment if "experiment" not in settings.mlflow.model_fields_set else settings.mlflow.experiment
        callbacks.append(MLflowLoggerCallback(
            tracking_uri=settings.mlflow.tracking_uri, experiment_name=name, save_artifact=True,
        ))
    if settings.wandb is not None:
        from ray.air.integrations.wandb import WandbLoggerCallback

        callbacks.append(WandbLoggerCallback(
            project=settings.wandb.project, group=experiment, **_wandb_init_kwargs(settings.wandb, run_dir),
        ))
    return callbacks
