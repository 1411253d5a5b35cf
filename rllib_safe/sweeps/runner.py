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

import contextlib
import importlib.util
import math
import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from ray import tune

from rllib_safe.sweeps.spec import SPEC_FILE_NAME, Axis, SpecError, SweepSpec, load_spec

#: ``rllib-safe sweep --verbose`` -> Tune's own verbosity: 0 and 1 print only our lines.
TUNE_VERBOSITY = {0: 0, 1: 0, 2: 1}

#: Config key of the grid over the points drawn from the random axes.
SAMPLE_POINT_KEY = "sample_point"


class _Pick:
    """Tune ``sample_from`` resolver: ``config[key][i][j]...`` of an already resolved grid value."""

    def __init__(self, key: str, *indices: int):
        self.key, self.indices = key, indices

    def __call__(self, config: dict) -> Any:
        value = config[self.key]
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


def check_settings(spec: SweepSpec, *, local_cpus: float | None = None) -> None:
    """SpecError unless the sweep can start (needs no Ray): every algorithm's fixed settings make
    a valid config, one trial fits in ``local_cpus`` (the embedded Ray instance's CPUs; None: a
    cluster, not checked), the storage path is writable, and the trackers and the searcher asked
    for are installed."""
    from rllib_safe.runs.run_dir import RunDirError, check_writable
    from rllib_safe.trackers import TrackerError, check_installed

    for algorithm in spec.algorithm:
        config = base_config(spec, algorithm)
        if local_cpus is not None:
            _check_trial_fits(config, algorithm, local_cpus)
    try:
        check_writable(Path(spec.storage_path).expanduser(), what="storage_path")
        check_installed(spec.tracking, flags={"mlflow": "tracking.mlflow", "wandb": "tracking.wandb"})
    except (RunDirError, TrackerError) as err:
        raise SpecError(str(err)) from None
    if spec.search is not None and spec.search.algorithm == "optuna" and importlib.util.find_spec("optuna") is None:
        raise SpecError("search.algorithm = 'optuna' needs the optuna package: pip install 'rllib-safe[search]' "
                        "(or give search.algorithm: random)")


def _check_trial_fits(config, algorithm: str, cpus: float) -> None:
    """SpecError where one trial (its main process, EnvRunners and learners) needs more CPUs than
    ``cpus``: Tune would keep every trial pending forever."""
    from rllib_safe.algorithms.validation import cpu_shortfall

    main = config.num_cpus_for_main_process
    shortfall = cpu_shortfall(config, max(cpus - main, 0.0))
    if shortfall is not None:
        raise SpecError(
            f"one {algorithm} trial needs {shortfall.needed + main:g} CPUs ({shortfall.requested}, and "
            f"{main:g} for the trial's main process), but the local Ray instance has {cpus:g}: every trial would "
            f"wait forever. Use env_runners.num_env_runners <= {shortfall.fitting_env_runners} (the spec's "
            "`smoke:` block, or your own), or --address to run on a cluster."
        )


def param_space(spec: SweepSpec, algorithm: str) -> dict[str, Any]:
    """Tune's param_space of one algorithm: its config dict, the search space and the seeds.

    Grid axes, the drawn points of the random axes (``sample_point``, see ``sample_points``)
    and the seeds are grids, so Tune crosses them. Each field of a tied or random axis picks
    its value with ``tune.sample_from``, so values such as ``(inf, 0)`` reach the config
    exactly (the extra keys are ignored by the algorithm). A search's axes are Tune's
    distributions instead, sampled by its searcher, with its one seed.
    """
    space = base_config(spec, algorithm).to_dict()
    if spec.search is not None:
        from rllib_safe.sweeps.search import domain

        return space | {name: domain(axis) for name, axis in spec.search_space.items()} | {"seed": spec.seeds[0]}
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


def console_callbacks(spec: SweepSpec, algorithm: str, verbose: int) -> list:
    """Our per-trial progress lines (``verbose`` >= 1; ``rllib_safe.sweeps.progress``)."""
    if verbose < 1:
        return []
    from rllib_safe.sweeps.progress import TrialProgress
    from rllib_safe.sweeps.search import SCORE_KEY

    (budget_key, budget), = spec.budget.stop_criteria().items()
    return [TrialProgress(algorithm, list(spec.search_space), budget_key, budget,
                          score_key=SCORE_KEY if spec.search is not None else None)]


def _run_config(spec: SweepSpec, run_dir: Path, algorithm: str, callbacks: list | None, verbose: int):
    """Tune's run config; Tune's own console only with ``verbose`` 2 (``TUNE_VERBOSITY``)."""
    from rllib_safe.trackers import tune_callbacks

    callbacks = [*(callbacks or []), *console_callbacks(spec, algorithm, verbose),
                 *tune_callbacks(spec.tracking, f"{run_dir.name}-{algorithm}", run_dir)]
    return tune.RunConfig(
        name=algorithm,
        storage_path=str(run_dir),
        stop={**spec.budget.stop_criteria(), **spec.stop},
        failure_config=tune.FailureConfig(max_failures=spec.max_failures),
        checkpoint_config=tune.CheckpointConfig(
            checkpoint_frequency=spec.checkpoint_every, checkpoint_at_end=True, num_to_keep=2
        ),
        callbacks=callbacks,
        verbose=TUNE_VERBOSITY[verbose],
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
    names = tune_names(spec, algorithm)
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
        tune_config=tune_config(spec),
        run_config=_run_config(spec, run_dir, algorithm, callbacks, verbose),
    )


def tune_names(spec: SweepSpec, algorithm: str) -> tuple[str, ...]:
    """The Tune names ``algorithm``'s trials may run under: its search trainable in a search."""
    if spec.search is not None:
        from rllib_safe.sweeps.search import search_trainable_name

        return (search_trainable_name(algorithm),)
    from rllib_safe.algorithms import trainable_names

    return trainable_names(algorithm)


def tune_config(spec: SweepSpec) -> tune.TuneConfig:
    """A grid's trials as they come, or a search's: searcher, scheduler and score (``sweeps.search``)."""
    if spec.search is None:
        return tune.TuneConfig(max_concurrent_trials=spec.max_concurrent_trials)
    from rllib_safe.sweeps.search import SCORE_KEY, SCORE_MODE, scheduler, searcher

    return tune.TuneConfig(
        metric=SCORE_KEY, mode=SCORE_MODE, num_samples=spec.num_samples,
        search_alg=searcher(spec.search, spec.sample_seed), scheduler=scheduler(spec.search, spec.budget),
        max_concurrent_trials=spec.max_concurrent_trials,
    )


#: Tune's environment settings below ``--verbose 2``: its console reporter's experiment header (which
#: prints whatever the verbosity) and its advice on checkpoint frequency (about its own overhead).
QUIET_TUNE_ENV = {"RAY_AIR_NEW_OUTPUT": "0", "TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S": "0"}


@contextlib.contextmanager
def quiet_tune(verbose: int) -> Iterator[None]:
    """While fitting, Tune prints nothing of its own unless ``verbose`` is 2 (a user's own setting wins)."""
    if verbose >= 2:
        yield
        return
    saved = {name: os.environ.get(name) for name in QUIET_TUNE_ENV}
    os.environ.update({name: value for name, value in QUIET_TUNE_ENV.items() if saved[name] is None})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)


def _run_algorithms(
    spec: SweepSpec, run_dir: Path, callbacks: list | None, verbose: int, restart_errored: bool = False
) -> SweepSummary:
    """Fits each algorithm's experiment in turn; stops early when one was interrupted."""
    import rllib_safe.algorithms  # noqa: F401  (registers the Tune trainables)

    statuses, errors = {}, {}
    start = time.perf_counter()
    for position, algorithm in enumerate(spec.algorithm):
        tuner = _tuner(spec, run_dir, algorithm, callbacks, verbose, restart_errored)
        with quiet_tune(verbose):
            tuner.fit()
        algorithm_statuses, algorithm_errors = _trial_statuses(tuner, algorithm)
        statuses |= algorithm_statuses
        errors |= algorithm_errors
        if "UNFINISHED" in algorithm_statuses.values():  # interrupted: the rest waits for --resume
            return SweepSummary(run_dir, statuses, errors, time.perf_counter() - start, spec.algorithm[position + 1:])
    return SweepSummary(run_dir, statuses, errors, time.perf_counter() - start, [])


def check_new_sweep(spec: SweepSpec, name: str | None = None) -> Path:
    """The sweep's run directory, or SpecError where it already holds a sweep (no Ray needed)."""
    run_dir = sweep_dir(spec, name)
    if any(tune.Tuner.can_restore(str(run_dir / algorithm)) for algorithm in spec.algorithm):
        raise SpecError(f"{run_dir} already holds this sweep; continue it with --resume {run_dir} or pick --name")
    return run_dir


def run_sweep(
    spec: SweepSpec, *, name: str | None = None, callbacks: list | None = None, verbose: int = 1
) -> SweepSummary:
    """Runs every algorithm x configuration x seed of ``spec`` and returns the trial summary.

    ``callbacks``: extra Tune callbacks (loggers, or a stopper of the whole run).
    """
    run_dir = check_new_sweep(spec, name)
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
