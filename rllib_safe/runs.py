"""Training runs: the run directory, the iteration loop, checkpoints and resume.

A run directory holds::

    config.json           the CLI options and the algorithm's full config
    results.jsonl         one flattened result dict per iteration ("env_runners/episode_cost_mean", ...)
    tensorboard/          TensorBoard event files (every numeric result, x axis = env steps)
    checkpoints/iter_NNNNNN/   ``algo.save_to_path`` every N iterations, at the end and on Ctrl-C
    summary.json          final return, cost, limit, steps/s, status

:func:`train` is what ``rllib-safe train`` runs; other commands reuse the pieces.
"""

from __future__ import annotations

import inspect
import json
import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rllib_safe.cli.options import TrainOptions, check_known_keys

CONFIG_FILE = "config.json"
RESULTS_FILE = "results.jsonl"
SUMMARY_FILE = "summary.json"
TENSORBOARD_DIR = "tensorboard"
CHECKPOINTS_DIR = "checkpoints"
CHECKPOINT_MARKER = "rllib_checkpoint.json"

RETURN_KEY = "env_runners/episode_return_mean"
COST_KEY = "env_runners/episode_cost_mean"
STEPS_KEY = "num_env_steps_sampled_lifetime"
ITERATION_COST_KEY = "env_runners/episode_cost_iteration_mean"
#: PCRPO's and CRPO's update modes: ``mode_<m>`` is 1.0 for the mode taken, and
#: ``line_search_accepted_<m>`` 1.0 when its trust-region step was accepted; summed over a run.
UPDATE_MODES = ("reward", "soft_aligned", "soft_conflict", "cost")
PCRPO_MODE_KEYS = tuple(f"mode_{mode}" for mode in UPDATE_MODES)


class UsageError(ValueError):
    """Bad input found while setting a run up (config, env id, checkpoint path)."""


def check_env_id(env_id: str) -> None:
    """UnknownEnvError (with close ids) unless ``env_id`` is a registered env (Tune or gymnasium)."""
    import gymnasium as gym
    from ray.tune.registry import ENV_CREATOR, _global_registry

    from rllib_safe.envs import UnknownEnvError, known_env_ids, register_envs

    register_envs()
    if not (_global_registry.contains(ENV_CREATOR, env_id) or env_id in gym.registry):
        raise UnknownEnvError(env_id, [*known_env_ids(), *gym.registry])


def init_ray(address: str | None) -> None:
    """Connects to ``address`` / ``RAY_ADDRESS`` if given, else starts Ray on this machine's CPUs.

    The embedded instance runs without the dashboard (its start-up times out on a busy
    2-core machine); for the dashboard, ``ray start --head`` and train with ``--address auto``.
    """
    import ray

    if ray.is_initialized():
        return
    address = address or os.environ.get("RAY_ADDRESS")
    if address:
        ray.init(address=address)
    else:
        ray.init(num_cpus=os.cpu_count(), include_dashboard=False)


def training_parameters(config) -> set[str]:
    """Every keyword ``config.training(...)`` accepts, across the config's class hierarchy."""
    names = set()
    for cls in type(config).__mro__:
        method = cls.__dict__.get("training")
        if method is not None:
            names |= {
                name for name, p in inspect.signature(method).parameters.items()
                if name != "self" and p.kind is inspect.Parameter.KEYWORD_ONLY
            }
    return names


def build_config(options: TrainOptions):
    """The algorithm config the options describe, validated (``config.validate()``)."""
    from rllib_safe.algorithms import default_config

    check_env_id(options.env)
    config = default_config(options.algo)
    settings = options.training_settings()
    known = sorted(training_parameters(config))
    check_known_keys(settings, known, f"a training setting of --algo {options.algo}")
    runners = {
        name: getattr(options, name)
        for name in ("num_env_runners", "num_envs_per_env_runner")
        if getattr(options, name) is not None
    }
    learners = {
        name: getattr(options, name)
        for name in ("num_learners", "num_gpus_per_learner")
        if getattr(options, name) is not None
    }
    config = (
        config.environment(options.env)
        .env_runners(**runners)
        .learners(**learners)
        .training(**settings)
        .debugging(seed=options.seed)
    )
    if options.cluster_placement:
        from rllib_safe.cluster import Placement, apply_placement

        placement = Placement(config.num_learners, config.num_gpus_per_learner, options.rollouts_on_gpu_nodes)
        apply_placement(config, placement)
    config.validate()
    return config


def find_checkpoint(path: Path) -> Path:
    """``path`` if it is a checkpoint, else the latest checkpoint of the run directory ``path``."""
    path = Path(path)
    if (path / CHECKPOINT_MARKER).exists():
        return path
    checkpoints = sorted((path / CHECKPOINTS_DIR).glob("iter_*"))
    checkpoints = [c for c in checkpoints if (c / CHECKPOINT_MARKER).exists()]
    if not checkpoints:
        raise FileNotFoundError(f"{str(path)!r} is neither a checkpoint nor a run directory with checkpoints")
    return checkpoints[-1]


def run_dir_of(checkpoint: Path) -> Path | None:
    """The run directory a checkpoint was written into, if it sits in one."""
    parent = checkpoint.resolve().parent
    return parent.parent if parent.name == CHECKPOINTS_DIR else None


def default_run_dir(options: TrainOptions) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{options.algo}-{options.env}-seed{options.seed}-{stamp}"


def flatten_result(result: dict, prefix: str = "") -> dict[str, float | int | bool | str]:
    """Nested result dict -> ``{"a/b/c": scalar}``; the config and non-scalars are left out."""
    flat = {}
    for key, value in result.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            if name != "config":
                flat |= flatten_result(value, name + "/")
        elif isinstance(value, (bool, int, float, str)):
            flat[name] = value
        elif hasattr(value, "item") and getattr(value, "size", 2) == 1:  # numpy / torch scalars
            flat[name] = value.item()
    return flat


def format_duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"


def format_number(value: float | None) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.2f}"


def progress_line(flat: dict, timesteps: int, cost_limit: float, steps_per_s: float, eta_s: float) -> str:
    """``iter 3 | steps 12000/200000 | return 1.23 | cost 30.10/25 | 2150 steps/s | ETA 1m27s``."""
    return (
        f"iter {flat['training_iteration']} | steps {int(flat.get(STEPS_KEY, 0))}/{timesteps} | "
        f"return {format_number(flat.get(RETURN_KEY))} | "
        f"cost {format_number(flat.get(COST_KEY))}/{cost_limit:g} "
        f"(this iter {format_number(flat.get(ITERATION_COST_KEY))}) | "
        f"{steps_per_s:.0f} steps/s | ETA {format_duration(eta_s)}"
    )


def json_default(value: Any) -> Any:
    return value if isinstance(value, (int, float, str, bool)) else repr(value)


class RunFiles:
    """Writers of one run directory: results.jsonl, TensorBoard, checkpoints, summary."""

    def __init__(self, run_dir: Path):
        from tensorboardX import SummaryWriter

        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.results = open(self.run_dir / RESULTS_FILE, "a", encoding="utf-8")  # noqa: SIM115 (closed in close())
        self.tensorboard = SummaryWriter(str(self.run_dir / TENSORBOARD_DIR))

    def write_config(self, options: TrainOptions, config) -> None:
        payload = {
            "options": options.model_dump(mode="json"),
            "algorithm": config.algo_class.__name__,
            "config": config.to_dict(),
        }
        (self.run_dir / CONFIG_FILE).write_text(json.dumps(payload, indent=2, default=json_default))

    @staticmethod
    def saved_options(run_dir: Path) -> dict | None:
        """The options a run directory was started with, if it has a config.json."""
        path = Path(run_dir) / CONFIG_FILE
        return json.loads(path.read_text())["options"] if path.exists() else None

    def write_result(self, flat: dict) -> None:
        self.results.write(json.dumps(flat, default=json_default) + "\n")
        self.results.flush()
        step = int(flat.get(STEPS_KEY, 0))
        for key, value in flat.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
                self.tensorboard.add_scalar(key, value, step)
        self.tensorboard.flush()

    def save_checkpoint(self, algo) -> Path:
        path = self.run_dir / CHECKPOINTS_DIR / f"iter_{algo.iteration:06d}"
        algo.save_to_path(str(path.resolve()))
        return path

    def write_summary(self, summary: dict) -> None:
        (self.run_dir / SUMMARY_FILE).write_text(json.dumps(summary, indent=2, default=json_default))

    def close(self) -> None:
        self.results.close()
        self.tensorboard.close()


def summarise(results: list[dict], cost_limit: float, steps_per_s: float, files: RunFiles, status: str,
              checkpoint: Path | None) -> dict:
    """The end-of-run summary; PCRPO's mode counts are summed over this session's iterations."""
    last = results[-1] if results else {}
    summary = {
        "status": status,
        "iterations": last.get("training_iteration", 0),
        "env_steps": int(last.get(STEPS_KEY, 0)),
        "final_return": last.get(RETURN_KEY),
        "final_cost": last.get(COST_KEY),
        "cost_limit": cost_limit,
        "steps_per_s": round(steps_per_s, 1),
        "run_dir": str(files.run_dir),
        "results": str(files.run_dir / RESULTS_FILE),
        "tensorboard": str(files.run_dir / TENSORBOARD_DIR),
        "checkpoint": str(checkpoint) if checkpoint else None,
    }
    def run_sum(metric: str) -> float:
        return sum(value for r in results for key, value in r.items() if key.endswith("/" + metric))

    if any(key.endswith("/" + PCRPO_MODE_KEYS[0]) for r in results for key in r):
        summary["update_mode_counts"] = {name: run_sum(name) for name in PCRPO_MODE_KEYS}
    if any(key.endswith("/line_search_accepted_reward") for r in results for key in r):
        summary["line_search_accepted"] = {
            mode: [run_sum(f"line_search_accepted_{mode}"), run_sum(f"mode_{mode}")] for mode in UPDATE_MODES
        }
    return summary


def run_loop(algo, files: RunFiles, timesteps: int, checkpoint_every: int,
             echo: Callable[[str], None] = print) -> dict:
    """Trains until ``timesteps`` env steps, writing results and checkpoints; returns the summary.

    Ctrl-C saves a checkpoint and ends with status "interrupted"; an error ends with status
    "failed" (what was written stays) and is re-raised.
    """
    results, checkpoint, status = [], None, "completed"
    start_time = time.perf_counter()
    start_steps = steps = int(algo.metrics.peek(("env_runners", STEPS_KEY), default=0))
    cost_limit = algo.config.cost_limit
    try:
        while steps < timesteps:
            flat = flatten_result(algo.train())
            steps = int(flat.get(STEPS_KEY, steps))
            results.append(flat)
            files.write_result(flat)
            elapsed = time.perf_counter() - start_time
            rate = (steps - start_steps) / elapsed if elapsed > 0 else 0.0
            sampled = flat.get("env_runners/num_env_steps_sampled", 0)
            iteration_rate = sampled / max(flat["time_this_iter_s"], 1e-9)
            eta = (timesteps - steps) / rate if rate > 0 else math.inf
            echo(progress_line(flat, timesteps, cost_limit, iteration_rate, max(eta, 0.0)))
            if checkpoint_every and algo.iteration % checkpoint_every == 0:
                checkpoint = files.save_checkpoint(algo)
        if checkpoint is None or checkpoint.name != f"iter_{algo.iteration:06d}":
            checkpoint = files.save_checkpoint(algo)
    except KeyboardInterrupt:
        status = "interrupted"
        echo("Interrupted: saving a checkpoint ...")
        checkpoint = files.save_checkpoint(algo)
    except BaseException:
        status = "failed"
        raise
    finally:
        elapsed = time.perf_counter() - start_time
        rate = (steps - start_steps) / elapsed if elapsed > 0 else 0.0
        summary = summarise(results, cost_limit, rate, files, status, checkpoint)
        files.write_summary(summary)
    return summary


def format_summary(summary: dict) -> str:
    lines = [
        (f"Training {summary['status']}: {summary['iterations']} iterations, "
         f"{summary['env_steps']} env steps, {summary['steps_per_s']} steps/s"),
        (f"  final return {format_number(summary['final_return'])}, "
        f"episode cost {format_number(summary['final_cost'])} (limit {summary['cost_limit']:g})"),
    ]
    if "update_mode_counts" in summary:
        counts = ", ".join(f"{k} {v:g}" for k, v in summary["update_mode_counts"].items())
        lines.append(f"  update modes: {counts}")
    if "line_search_accepted" in summary:
        accepted = ", ".join(
            f"{mode} {ok:g}/{total:g}" for mode, (ok, total) in summary["line_search_accepted"].items() if total
        )
        lines.append(f"  trust-region steps accepted per mode: {accepted}")
    lines += [
        f"  run dir     {summary['run_dir']}",
        f"  results     {summary['results']}",
        f"  tensorboard {summary['tensorboard']}",
        f"  checkpoint  {summary['checkpoint']}",
    ]
    return "\n".join(lines)


def restore_algorithm(checkpoint: Path):
    """The algorithm saved in ``checkpoint``, config, weights and learner state included."""
    from ray.rllib.algorithms.algorithm import Algorithm

    from rllib_safe.envs import register_envs

    register_envs()  # the pickled config does not pass through config.environment()
    return Algorithm.from_checkpoint(str(Path(checkpoint).resolve()))


def train(options: TrainOptions, echo: Callable[[str], None] = print) -> dict:
    """``rllib-safe train``: new run or resumed run; returns the summary.

    Raises UsageError for bad input found while setting up (config checks, env id, paths).
    """
    init_ray(options.address)
    try:
        algo, files, timesteps = start_run(options, echo)
    except (ValueError, FileNotFoundError) as err:
        raise UsageError(str(err)) from err
    echo(f"Run directory: {files.run_dir}")
    try:
        summary = run_loop(algo, files, timesteps, options.checkpoint_every, echo)
    finally:
        files.close()
        algo.stop()
    echo(format_summary(summary))
    return summary


def start_run(options: TrainOptions, echo: Callable[[str], None]):
    """The algorithm (new or restored), the run's files and the target env steps."""
    if options.resume is not None:
        checkpoint = find_checkpoint(options.resume)
        run_dir = options.run_dir or run_dir_of(checkpoint) or default_run_dir(options)
        saved = RunFiles.saved_options(run_dir)
        timesteps = options.timesteps
        if "timesteps" not in options.model_fields_set and saved:
            timesteps = saved["timesteps"]
        echo(f"Resuming from {checkpoint} (target {timesteps} env steps)")
        algo = restore_algorithm(checkpoint)
        files = RunFiles(run_dir)
        if saved is None:
            files.write_config(options, algo.config)
        return algo, files, timesteps
    config = build_config(options)
    algo = config.build_algo()
    files = RunFiles(options.run_dir or default_run_dir(options))
    files.write_config(options, config)
    return algo, files, options.timesteps
