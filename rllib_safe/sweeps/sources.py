"""What ``rllib-safe report`` reads: sweep directories and ``rllib-safe train`` run directories.

Both become :class:`TrialResults` records, one per trial or run, each with the label of its
configuration (``group``) and the columns that tell the configurations apart (``point``); the
report aggregates the seeds of each label.

* A sweep directory (``sweep_spec.yaml``, ``<algorithm>/<trial>/{params.json,result.json}``): a
  configuration is an algorithm and a point of the sweep's search space. Trial status:
  "finished", "errored" or "partial" (still running, or killed).
* A train run directory (``config.json``, ``results.jsonl``, ``summary.json`` once it ended):
  train runs are grouped by algorithm, env and *problem settings*: the algorithm config of
  ``config.json`` plus the run's ``timesteps`` budget, less the seed and the settings that say
  how a run is executed rather than which problem it solves (a key containing one of
  :data:`EXECUTION_SETTING_PARTS`: resources, worker counts, compilation, fault tolerance,
  timeouts, logging), with the memory addresses in the reprs of functions removed. A label names
  the settings that differ between the train-run configurations of the same algorithm and env
  (at most :data:`LABEL_SETTINGS` of them; the ``point`` columns hold them all). Status:
  "finished" (``summary.json`` says completed), "interrupted", "failed", or "in progress or
  killed" (no ``summary.json`` yet).

Trials of a sweep are never grouped with train runs nor with another sweep's trials: with more
than one source, a sweep's labels start with its directory name (``tiny/ppo-lag: cost_limit=5``).
A path that holds neither kind of run is refused (:class:`ReportError`) before anything is read.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rllib_safe.metrics import lookup
from rllib_safe.runs.run_dir import CONFIG_FILE, RESULTS_FILE, SUMMARY_FILE, read_iterations, read_results
from rllib_safe.sweeps.spec import SPEC_FILE_NAME, SweepSpec, load_spec

#: A config key that contains one of these says how a run is executed, not which problem it solves.
EXECUTION_SETTING_PARTS = (
    "seed", "num_env_runners", "num_envs_per_env_runner", "num_learners", "num_aggregator", "cpu", "gpu",
    "resources", "placement", "vectorize_mode", "compile", "fast_update", "timeout", "restart", "in_flight",
    "health_probe", "log_level", "log_sys_usage",
)
#: At most this many differing settings are named in a train-run configuration's label.
LABEL_SETTINGS = 4
#: Status of a train run without summary.json (the run writes it when it ends).
RUNNING_OR_KILLED = "in progress or killed"
#: Where the report of a single run goes by default: ``RUN/report``.
DEFAULT_REPORT_DIR = "report"
#: Final values of train runs (no spec to say otherwise): the mean of the last K iterations.
DEFAULT_LAST_K = SweepSpec.model_fields["final_iterations"].default

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


class ReportError(ValueError):
    """A path or an output directory the report cannot use; the message names it and what is allowed."""


@dataclass
class TrialResults:
    """One trial or train run: its config, its results by iteration, how it ended, and its configuration."""

    name: str
    algorithm: str
    config: dict
    results: list[dict]
    status: str  # sweep: "finished", "errored", "partial"; train run: "finished", "interrupted", ...
    group: str = ""  # the configuration's label: the trials of one label are its seeds
    env: str = ""
    point: dict[str, str] = field(default_factory=dict)  # the columns that tell configurations apart
    source: str = ""  # the sweep's label prefix, or TRAIN_RUNS

    def series(self, key: tuple) -> np.ndarray:
        return np.array([lookup(result, key) for result in self.results], dtype=float)

    def final(self, key: tuple, last_k: int) -> float:
        values = self.series(key)[-last_k:]
        values = values[~np.isnan(values)]
        return float(values.mean()) if values.size else math.nan


#: ``TrialResults.source`` of train runs.
TRAIN_RUNS = "train runs"


@dataclass
class Sweep:
    """A sweep directory, its spec and the prefix of its labels ("" when it is the only source)."""

    path: Path
    spec: SweepSpec
    prefix: str


@dataclass
class ReportRuns:
    """Everything a report covers: the paths given, their trials and runs, and the sweeps among them."""

    paths: list[Path]
    trials: list[TrialResults]
    sweeps: list[Sweep]

    @property
    def algorithms(self) -> list[str]:
        names = [name for sweep in self.sweeps for name in sweep.spec.algorithm]
        return list(dict.fromkeys(names + [t.algorithm for t in self.trials]))

    @property
    def envs(self) -> list[str]:
        return list(dict.fromkeys(t.env for t in self.trials))

    @property
    def name(self) -> str:
        """The sweep's name, the train run directory's name, or how many runs are compared."""
        if len(self.paths) > 1:
            return f"comparison of {len(self.paths)} runs"
        return self.sweeps[0].spec.name if self.sweeps else self.paths[0].name

    def default_last_k(self) -> int:
        """K of the first sweep's spec (``final_iterations``), else :data:`DEFAULT_LAST_K`."""
        return self.sweeps[0].spec.final_iterations if self.sweeps else DEFAULT_LAST_K

    def default_out(self) -> Path:
        """``RUN/report`` for a single run; ``./report`` (the working directory's) for several."""
        return Path(DEFAULT_REPORT_DIR) if len(self.paths) > 1 else self.paths[0] / DEFAULT_REPORT_DIR


def format_value(value: Any) -> str:
    """A config value as a label shows it: floats short, tuples and lists in parentheses."""
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(format_value(v) for v in value) + ")"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


# -- Sweep directories -----------------------------------------------------------------------


def load_trials(run_dir: Path, algorithms: list[str]) -> list[TrialResults]:
    """Every trial directory (one with a ``params.json``) of each algorithm's Tune experiment."""
    trials = []
    for params in [path for name in algorithms for path in sorted((run_dir / name).glob("*/params.json"))]:
        trial_dir = params.parent
        results = read_iterations(trial_dir / "result.json")
        if results and results[-1].get("done"):  # error.txt stays after a failure Tune retried
            status = "finished"
        elif (trial_dir / "error.txt").exists():
            status = "errored"
        else:
            status = "partial"
        config = json.loads(params.read_text())
        trials.append(TrialResults(trial_dir.name, trial_dir.parent.name, config, results, status))
    return trials


def axis_values(spec: SweepSpec, config: dict) -> dict[str, str]:
    """The trial's point of the search space, one label per axis (tied fields as a tuple; "-" if missing)."""
    return {
        name: format_value([config.get(f, "-") for f in axis.fields] if axis.fields else config.get(name, "-"))
        for name, axis in spec.search_space.items()
    }


def configuration_label(spec: SweepSpec, trial: TrialResults, prefix: str = "") -> str:
    """``[prefix/]algorithm: axis=value, ...``; the algorithm is left out of a one-algorithm sweep
    without a prefix (the only source of its report)."""
    point = ", ".join(f"{name}={value}" for name, value in axis_values(spec, trial.config).items())
    if len(spec.algorithm) == 1 and not prefix:
        return point or trial.algorithm
    head = f"{prefix}/{trial.algorithm}" if prefix else trial.algorithm
    return f"{head}: {point}" if point else head


def read_sweep(sweep: Sweep) -> list[TrialResults]:
    """The sweep's trials, labelled by algorithm and search-space point (after ``prefix/`` if any)."""
    trials = load_trials(sweep.path, sweep.spec.algorithm)
    if not trials:
        raise ReportError(f"{sweep.path} has no trial results yet (no <algorithm>/*/params.json)")
    for trial in trials:
        trial.group = configuration_label(sweep.spec, trial, sweep.prefix)
        trial.env, trial.source = sweep.spec.env, sweep.prefix
        trial.point = axis_values(sweep.spec, trial.config)
    return trials


# -- Train run directories -------------------------------------------------------------------


def train_run_status(run_dir: Path) -> str:
    """"finished", "interrupted" or "failed" from summary.json; :data:`RUNNING_OR_KILLED` without one."""
    try:
        status = json.loads((run_dir / SUMMARY_FILE).read_text()).get("status")
    except (OSError, ValueError, AttributeError):  # none yet, or cut short by a kill
        return RUNNING_OR_KILLED
    return "finished" if status == "completed" else str(status)


def _read_run_config(run_dir: Path) -> dict:
    """The run's config.json: ``{"options": ..., "algorithm": ..., "config": ...}``."""
    try:
        payload = json.loads((run_dir / CONFIG_FILE).read_text())
    except (OSError, ValueError) as err:
        raise ReportError(f"{run_dir / CONFIG_FILE} cannot be read as a train run's config: {err}") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("options"), dict):
        raise ReportError(f"{run_dir / CONFIG_FILE} is not a train run's config (no \"options\" mapping)")
    return payload


def read_train_run(run_dir: Path) -> tuple[TrialResults, dict]:
    """The run (its algorithm config, results and status) and its problem settings."""
    payload = _read_run_config(run_dir)
    options, config = payload["options"], dict(payload.get("config") or {})
    if config.get("cost_limit") is None:
        config["cost_limit"] = options.get("cost_limit")
    algorithm = str(options.get("algo") or payload.get("algorithm"))
    run = TrialResults(run_dir.name, algorithm, config, read_results(run_dir), train_run_status(run_dir),
                       env=str(options.get("env") or config.get("env")), source=TRAIN_RUNS)
    return run, problem_settings(config, options.get("timesteps"))


def _without_addresses(value: Any) -> Any:
    """``value`` with ``" at 0x7f..."`` removed from its strings (reprs of functions differ per process)."""
    if isinstance(value, str):
        return _ADDRESS.sub("", value)
    if isinstance(value, dict):
        return {key: _without_addresses(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_addresses(item) for item in value]
    return value


def problem_settings(config: dict, timesteps: Any) -> dict[str, Any]:
    """The settings that define a train run's problem (see the module docstring), by name."""
    settings = {
        key: _without_addresses(value) for key, value in config.items()
        if not any(part in key for part in EXECUTION_SETTING_PARTS)
    }
    return settings | {"timesteps": timesteps}


def _differing(settings: list[dict[str, Any]]) -> list[str]:
    """The setting names whose values are not the same in all of ``settings``."""
    names = dict.fromkeys(name for entry in settings for name in entry)
    return [name for name in names
            if len({json.dumps(entry.get(name), sort_keys=True, default=str) for entry in settings}) > 1]


def _unique(labels: list[str]) -> list[str]:
    """``labels`` with a repeated one numbered (``label [2]``), so distinct configurations never merge."""
    seen: Counter = Counter()
    unique = []
    for label in labels:
        seen[label] += 1
        unique.append(label if seen[label] == 1 else f"{label} [{seen[label]}]")
    return unique


def label_train_runs(runs: list[TrialResults], settings: list[dict[str, Any]]) -> None:
    """Groups the runs by algorithm, env and settings; sets each run's ``group`` and ``point``."""
    configurations: dict[str, tuple[TrialResults, dict]] = {}
    members: dict[str, list[TrialResults]] = {}
    for run, entry in zip(runs, settings):
        key = json.dumps([run.algorithm, run.env, entry], sort_keys=True, default=str)
        configurations.setdefault(key, (run, entry))
        members.setdefault(key, []).append(run)
    several_envs = len({run.env for run in runs}) > 1
    labels, points = [], []
    for run, entry in configurations.values():
        alike = [e for r, e in configurations.values() if (r.algorithm, r.env) == (run.algorithm, run.env)]
        point = {name: format_value(entry.get(name, "-")) for name in _differing(alike)}
        shown = [f"{name}={value}" for name, value in list(point.items())[:LABEL_SETTINGS]]
        if len(point) > LABEL_SETTINGS:
            shown.append(f"+{len(point) - LABEL_SETTINGS} more")
        head = f"{run.algorithm} on {run.env}" if several_envs else run.algorithm
        labels.append(f"{head}: {', '.join(shown)}" if shown else head)
        points.append(point)
    for key, label, point in zip(members, _unique(labels), points):
        for run in members[key]:
            run.group, run.point = label, point


def read_train_runs(run_dirs: list[Path]) -> list[TrialResults]:
    """The train runs, grouped and labelled together (:func:`label_train_runs`)."""
    pairs = [read_train_run(run_dir) for run_dir in run_dirs]
    runs = [run for run, _ in pairs]
    label_train_runs(runs, [settings for _, settings in pairs])
    return runs


# -- Any mix ---------------------------------------------------------------------------------


def is_sweep_dir(path: Path) -> bool:
    return (path / SPEC_FILE_NAME).is_file()


def check_holds_a_run(path: Path) -> None:
    """ReportError unless ``path`` is a sweep directory or a train run directory."""
    if is_sweep_dir(path) or (path / CONFIG_FILE).is_file():
        return
    what = "does not exist" if not path.exists() else "holds no run"
    raise ReportError(
        f"{path} {what}: give a `rllib-safe train` run directory (with {CONFIG_FILE} and {RESULTS_FILE}) "
        f"or a sweep directory (with {SPEC_FILE_NAME})"
    )


def _sweep_prefixes(sweep_dirs: list[Path], several_sources: bool) -> list[str]:
    """Each sweep's label prefix: "" for the only source, else its directory name (numbered if repeated)."""
    if not several_sources:
        return [""] * len(sweep_dirs)
    return _unique([path.name for path in sweep_dirs])


def read_runs(paths: list[str | Path]) -> ReportRuns:
    """Every trial and run of ``paths`` (sweep and train run directories, any mix), labelled.

    Raises:
        ReportError: a path holds no run (checked for every path before any is read), a sweep
            has no trials yet, or a train run's config.json cannot be read.
        SpecError: a sweep's saved spec does not load.
    """
    resolved = list(dict.fromkeys(Path(path).expanduser().resolve() for path in paths))
    for path in resolved:
        check_holds_a_run(path)
    sweep_dirs = [path for path in resolved if is_sweep_dir(path)]
    run_dirs = [path for path in resolved if not is_sweep_dir(path)]
    prefixes = _sweep_prefixes(sweep_dirs, len(sweep_dirs) + bool(run_dirs) > 1)
    sweeps = [Sweep(path, load_spec(path / SPEC_FILE_NAME), prefix) for path, prefix in zip(sweep_dirs, prefixes)]
    trials = [trial for sweep in sweeps for trial in read_sweep(sweep)]
    return ReportRuns(resolved, trials + read_train_runs(run_dirs), sweeps)
