"""Runs a sweep spec with Ray Tune, resumes an interrupted one, and summarises the trials.

Each algorithm of the spec is one Tune experiment, run one after the other under
``RUN_DIR/<algorithm>`` (``RUN_DIR = <storage_path>/<name>``); its trials are the
configurations x seeds of the algorithm's Tune trainable (its class name, registered by
``rllib_safe.algorithms``). Tune writes everything (``result.json``, ``progress.csv``,
``params.json``, checkpoints, errors) there; the validated spec is saved as
``RUN_DIR/sweep_spec.yaml`` so ``--resume`` and ``report`` know the algorithms and axes.
Nothing else is recorded.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from ray import tune

from rllib_safe.sweeps.spec import SPEC_FILE_NAME, Axis, SpecError, SweepSpec, load_spec

#: Config key of the grid over the points drawn from the random axes.
SAMPLE_POINT_KEY = "sample_point"


class _Pick:
    """Tune ``sample_from`` resolver: ``config[key][i][j]...`` of an already resolved grid value."""

    def __init__(self, key: str, *indices: int):
        self.key, self.indices = key, indices

    def __call__(self, spec) -> Any:
        value = spec.config[self.key]
        for index in self.indices:
            value = value[index]
        return value


def _draw(axis: Axis, rng: np.random.Generator) -> Any:
    """One value of a random axis."""
    if axis.kind == "choice":
        return axis.values[int(rng.integers(len(axis.values)))]
    low, high = axis.values
    if axis.kind == "loguniform":
        return float(math.exp(rng.uniform(math.log(low), math.log(high))))
    return float(rng.uniform(low, high))


def sample_points(spec: SweepSpec) -> list[list[Any]]:
    """``num_samples`` points of the random axes (in search-space order), seeded by ``sample_seed``."""
    rng = np.random.default_rng(spec.sample_seed)
    random_axes = [axis for axis in spec.search_space.values() if axis.is_random]
    return [[_draw(axis, rng) for axis in random_axes] for _ in range(spec.num_samples)] if random_axes else []


def base_config(spec: SweepSpec, algorithm: str):
    """The algorithm's config with the spec's env, resources and fixed settings (``build_config``); validated."""
    from rllib_safe.runs.config import ConfigError, build_config

    try:
        return build_config(
            algorithm, spec.env, spec.resources.settings() | spec.settings(algorithm),
            preset=spec.preset, env_config=spec.env_config,
        )
    except ConfigError as err:
        raise SpecError(f"invalid fixed settings for {algorithm}: {err}") from None


def check_settings(spec: SweepSpec) -> None:
    """SpecError unless every algorithm's fixed settings make a valid config (needs no Ray)."""
    for algorithm in spec.algorithm:
        base_config(spec, algorithm)


def param_space(spec: SweepSpec, algorithm: str) -> dict[str, Any]:
    """Tune's param_space of one algorithm: its config dict, the search space and the seeds.

    Grid axes, the drawn points of the random axes (``sample_point``, see ``sample_points``)
    and the seeds are grids, so Tune crosses them. Each field of a tied or random axis picks
    its value with ``tune.sample_from``, so values such as ``(inf, 0)`` reach the config
    exactly (the extra keys are ignored by the algorithm).
    """
    space = base_config(spec, algorithm).to_dict()
    points = sample_points(spec)
    if points:
        space[SAMPLE_POINT_KEY] = tune.grid_search(points)
    random_index = 0
    for name, axis in spec.search_space.items():
        if axis.is_random:
            space[name] = tune.sample_from(_Pick(SAMPLE_POINT_KEY, random_index))
            pick = (SAMPLE_POINT_KEY, random_index)
            random_index += 1
        else:
            space[name] = tune.grid_search(axis.values)
            pick = (name,)
        for index, field in enumerate(axis.fields or ()):
            space[field] = tune.sample_from(_Pick(*pick, index))
    space["seed"] = tune.grid_search(list(spec.seeds))
    return space


def save_spec(spec: SweepSpec, run_dir: Path) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / SPEC_FILE_NAME).write_text(yaml.safe_dump(spec.model_dump(exclude_defaults=False), sort_keys=False))


def sweep_dir(spec: SweepSpec, name: str | None = None) -> Path:
    return Path(spec.storage_path).expanduser().resolve() / (name or spec.name)


def _run_config(spec: SweepSpec, run_dir: Path, algorithm: str, callbacks: list | None, verbose: int):
    return tune.RunConfig(
        name=algorithm,
        storage_path=str(run_dir),
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
    """What happened to every trial (``<algorithm>/<trial>``) of a sweep."""

    run_dir: Path
    statuses: dict[str, str]
    errors: dict[str, str]
    wall_s: float
    not_started: list[str]

    @property
    def failed(self) -> list[str]:
        return sorted(trial for trial, status in self.statuses.items() if status == "ERROR")

    @property
    def incomplete(self) -> bool:
        """Stopped before the end: unfinished trials or algorithms not started yet."""
        return bool(self.not_started) or "UNFINISHED" in self.statuses.values()

    def __str__(self) -> str:
        counts = Counter(self.statuses.values())
        lines = [
            f"Sweep {self.run_dir}: {len(self.statuses)} trials in {self.wall_s:.1f} s: "
            + ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        ]
        if self.not_started:
            lines.append(f"  not started: {', '.join(self.not_started)}")
        lines += [f"  FAILED {trial}: {self.errors[trial]}" for trial in self.failed]
        if self.failed:
            lines.append(f"  resume and retry them: rllib-safe sweep --resume {self.run_dir} --restart-errored")
        elif self.incomplete:
            lines.append(f"  continue it: rllib-safe sweep --resume {self.run_dir}")
        return "\n".join(lines)


def _trial_statuses(tuner: tune.Tuner, algorithm: str) -> tuple[dict[str, str], dict[str, str]]:
    statuses, errors = {}, {}
    for result in tuner.get_results():
        trial = f"{algorithm}/{Path(result.path).name}"
        if result.error is not None:
            statuses[trial] = "ERROR"
            errors[trial] = f"{type(result.error).__name__}: {str(result.error).strip().splitlines()[-1][:200]}"
        else:
            done = bool(result.metrics and result.metrics.get("done"))
            statuses[trial] = "TERMINATED" if done else "UNFINISHED"
    return statuses, errors


def _tuner(spec: SweepSpec, run_dir: Path, algorithm: str, callbacks, verbose: int, restart_errored: bool):
    """A Tuner for one algorithm: restored from ``run_dir/<algorithm>`` if it started before."""
    from rllib_safe.algorithms import trainable_names

    names = trainable_names(algorithm)
    space = param_space(spec, algorithm)  # also registers the env in this process
    experiment = run_dir / algorithm
    if tune.Tuner.can_restore(str(experiment)):
        # Trial directories start with the Tune name the experiment was started under.
        started_as = next((name for name in names if any(experiment.glob(f"{name}_*"))), names[0])
        return tune.Tuner.restore(
            str(experiment),
            trainable=started_as,
            resume_unfinished=True,
            resume_errored=not restart_errored,
            restart_errored=restart_errored,
        )
    return tune.Tuner(
        names[0],
        param_space=space,
        tune_config=tune.TuneConfig(max_concurrent_trials=spec.max_concurrent_trials),
        run_config=_run_config(spec, run_dir, algorithm, callbacks, verbose),
    )


def _run_algorithms(
    spec: SweepSpec, run_dir: Path, callbacks: list | None, verbose: int, restart_errored: bool = False
) -> SweepSummary:
    """Fits each algorithm's experiment in turn; stops early when one was interrupted."""
    import rllib_safe.algorithms  # noqa: F401  (registers the Tune trainables)

    statuses, errors = {}, {}
    start = time.perf_counter()
    for position, algorithm in enumerate(spec.algorithm):
        tuner = _tuner(spec, run_dir, algorithm, callbacks, verbose, restart_errored)
        tuner.fit()
        algorithm_statuses, algorithm_errors = _trial_statuses(tuner, algorithm)
        statuses |= algorithm_statuses
        errors |= algorithm_errors
        if "UNFINISHED" in algorithm_statuses.values():  # interrupted: the rest waits for --resume
            return SweepSummary(run_dir, statuses, errors, time.perf_counter() - start, spec.algorithm[position + 1:])
    return SweepSummary(run_dir, statuses, errors, time.perf_counter() - start, [])


def run_sweep(
    spec: SweepSpec, *, name: str | None = None, callbacks: list | None = None, verbose: int = 1
) -> SweepSummary:
    """Runs every algorithm x configuration x seed of ``spec`` and returns the trial summary.

    ``callbacks``: extra Tune callbacks (loggers, or a stopper of the whole run).
    """
    run_dir = sweep_dir(spec, name)
    if any(tune.Tuner.can_restore(str(run_dir / algorithm)) for algorithm in spec.algorithm):
        raise SpecError(f"{run_dir} already holds this sweep; continue it with --resume {run_dir} or pick --name")
    save_spec(spec, run_dir)
    return _run_algorithms(spec, run_dir, callbacks, verbose)


def resume_sweep(
    run_dir: str | Path, *, restart_errored: bool = False, callbacks: list | None = None, verbose: int = 1
) -> SweepSummary:
    """Continues an interrupted sweep from its run directory.

    Unfinished trials continue from their last checkpoint; errored trials are resumed from
    their last checkpoint, or started again from scratch with ``restart_errored``;
    algorithms that had not started yet are started.
    """
    run_dir = Path(run_dir).expanduser().resolve()
    spec_file = run_dir / SPEC_FILE_NAME
    if not spec_file.exists():
        raise SpecError(f"{run_dir} is not a sweep run directory: {SPEC_FILE_NAME} is missing")
    return _run_algorithms(load_spec(spec_file), run_dir, callbacks, verbose, restart_errored)
