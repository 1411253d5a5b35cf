"""Runs a sweep spec with Ray Tune, resumes an interrupted one, and summarises the trials.

Each trial is one configuration x one seed of the algorithm's Tune trainable (its class name,
registered by ``rllib_safe.algorithms``). Tune writes everything (``result.json``,
``progress.csv``, ``params.json``, checkpoints, errors) under ``<storage_path>/<name>``; the
validated spec is saved there too (``sweep_spec.yaml``) so ``--resume`` and ``report`` know
the axes. Nothing else is recorded.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from ray import tune

from rllib_safe.sweeps.spec import SPEC_FILE_NAME, SpecError, SweepSpec, load_spec


class _PickFromAxis:
    """Tune ``sample_from`` resolver: field ``index`` of a tied axis' resolved value."""

    def __init__(self, axis: str, index: int):
        self.axis, self.index = axis, index

    def __call__(self, spec) -> Any:
        return spec.config[self.axis][self.index]


def _domain(axis) -> Any:
    return {
        "grid": tune.grid_search,
        "choice": tune.choice,
        "uniform": lambda bounds: tune.uniform(*bounds),
        "loguniform": lambda bounds: tune.loguniform(*bounds),
    }[axis.kind](axis.values)


def base_config(spec: SweepSpec):
    """The algorithm's config with the spec's env, fixed settings, resources; validated."""
    from rllib_safe.algorithms import default_config

    config = (
        default_config(spec.algorithm)
        .environment(spec.env, env_config=spec.env_config)
        .resources(num_cpus_for_main_process=spec.resources.cpus_for_main_process)
        .learners(num_learners=spec.resources.num_learners, num_gpus_per_learner=spec.resources.gpus_per_learner)
        .env_runners(num_cpus_per_env_runner=spec.resources.cpus_per_env_runner)
    )
    config.update_from_dict({**spec.training, **spec.env_runners})
    try:
        config.validate()
    except ValueError as err:
        raise SpecError(f"invalid fixed settings for {spec.algorithm}: {err}") from None
    return config


def param_space(spec: SweepSpec) -> dict[str, Any]:
    """Tune's param_space: the config dict with the search space and a grid over seeds.

    A tied axis (several fields) is a grid over tuples under the axis name; each field picks
    its element with ``tune.sample_from``, so values such as ``(inf, 0)`` reach the config
    exactly (the extra axis key is ignored by the algorithm).
    """
    space = base_config(spec).to_dict()
    for name, axis in spec.search_space.items():
        space[name] = _domain(axis)
        for index, field in enumerate(axis.fields or ()):
            space[field] = tune.sample_from(_PickFromAxis(name, index))
    space["seed"] = tune.grid_search(list(spec.seeds))
    return space


def save_spec(spec: SweepSpec, run_dir: Path) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / SPEC_FILE_NAME).write_text(yaml.safe_dump(spec.model_dump(exclude_defaults=False), sort_keys=False))


def run_dir_of(spec: SweepSpec, name: str | None = None) -> Path:
    return Path(spec.storage_path).expanduser().resolve() / (name or spec.name)


def _run_config(spec: SweepSpec, name: str, callbacks: list | None, verbose: int) -> tune.RunConfig:
    return tune.RunConfig(
        name=name,
        storage_path=str(Path(spec.storage_path).expanduser().resolve()),
        stop={**spec.budget.stop_criteria(), **spec.stop},
        failure_config=tune.FailureConfig(max_failures=spec.max_failures),
        checkpoint_config=tune.CheckpointConfig(
            checkpoint_frequency=spec.checkpoint_every, checkpoint_at_end=True, num_to_keep=2
        ),
        callbacks=callbacks,
        verbose=verbose,
    )


@dataclass
class SweepSummary:
    """What happened to every trial of a sweep."""

    run_dir: Path
    statuses: dict[str, str]
    errors: dict[str, str]
    wall_s: float

    @property
    def failed(self) -> list[str]:
        return sorted(trial for trial, status in self.statuses.items() if status == "ERROR")

    def __str__(self) -> str:
        counts = Counter(self.statuses.values())
        lines = [
            f"Sweep {self.run_dir}: {len(self.statuses)} trials in {self.wall_s:.1f} s: "
            + ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        ]
        lines += [f"  FAILED {trial}: {self.errors[trial]}" for trial in self.failed]
        if self.failed:
            lines.append(f"  resume and retry them: rllib-safe sweep --resume {self.run_dir} --restart-errored")
        return "\n".join(lines)


def _summarise(tuner: tune.Tuner, run_dir: Path, wall_s: float) -> SweepSummary:
    grid = tuner.get_results()
    statuses, errors = {}, {}
    for result in grid:
        trial = Path(result.path).name
        if result.error is not None:
            statuses[trial] = "ERROR"
            errors[trial] = f"{type(result.error).__name__}: {str(result.error).strip().splitlines()[-1][:200]}"
        else:
            done = bool(result.metrics and result.metrics.get("done"))
            statuses[trial] = "TERMINATED" if done else "UNFINISHED"
    return SweepSummary(run_dir=run_dir, statuses=statuses, errors=errors, wall_s=wall_s)


def run_sweep(
    spec: SweepSpec, *, name: str | None = None, callbacks: list | None = None, verbose: int = 1
) -> SweepSummary:
    """Runs every configuration x seed of ``spec`` and returns the trial summary.

    ``callbacks``: extra Tune callbacks (loggers, or a stopper of the whole run).
    """
    import rllib_safe.algorithms  # noqa: F401  (registers the Tune trainables)

    name = name or spec.name
    run_dir = run_dir_of(spec, name)
    save_spec(spec, run_dir)
    tuner = tune.Tuner(
        spec.tune_trainable,
        param_space=param_space(spec),
        tune_config=tune.TuneConfig(num_samples=spec.num_samples, max_concurrent_trials=spec.max_concurrent_trials),
        run_config=_run_config(spec, name, callbacks, verbose),
    )
    start = time.perf_counter()
    tuner.fit()
    return _summarise(tuner, run_dir, time.perf_counter() - start)


def resume_sweep(run_dir: str | Path, *, restart_errored: bool = False) -> SweepSummary:
    """Continues an interrupted sweep from its run directory.

    Unfinished trials continue from their last checkpoint; errored trials are resumed from
    their last checkpoint, or started again from scratch with ``restart_errored``.
    """
    import rllib_safe.algorithms  # noqa: F401

    run_dir = Path(run_dir).expanduser().resolve()
    spec_file = run_dir / SPEC_FILE_NAME
    if not spec_file.exists():
        raise SpecError(f"{run_dir} is not a sweep run directory: {SPEC_FILE_NAME} is missing")
    spec = load_spec(spec_file)
    param_space(spec)  # registers the env again in this process, as the original run did
    if not tune.Tuner.can_restore(str(run_dir)):
        raise SpecError(f"{run_dir} has no Tune experiment state to resume")
    tuner = tune.Tuner.restore(
        str(run_dir),
        trainable=spec.tune_trainable,
        resume_unfinished=True,
        resume_errored=not restart_errored,
        restart_errored=restart_errored,
    )
    start = time.perf_counter()
    tuner.fit()
    return _summarise(tuner, run_dir, time.perf_counter() - start)
