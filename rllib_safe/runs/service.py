"""A training run as a service: check everything, start Ray, train or resume, summarise.

:func:`train` is what ``rllib-safe train`` runs. Everything a user can get wrong (options,
settings, env id, checkpoint, run directory) is checked by :func:`prepare_run` before Ray
starts, so a bad flag costs no Ray start-up and a run never starts half-way.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rllib_safe.algorithms.validation import cpu_shortfall
from rllib_safe.rllib_private import trainable_default_logdir
from rllib_safe.runs.config import ConfigError, build_config, check_setting_values
from rllib_safe.runs.loop import format_summary, iteration_env_steps, run_loop, timesteps_notice
from rllib_safe.runs.options import TrainOptions
from rllib_safe.runs.run_dir import (
    RLLIB_LOGDIR,
    RunDirError,
    RunFiles,
    check_writable,
    checkpoint_iteration,
    checkpoint_run_dir,
    default_run_dir,
    find_checkpoints,
    remove_empty_dirs,
)
from rllib_safe.trackers import RunTracker, TrackerError, TrackingSettings, check_installed


class UsageError(ValueError):
    """Bad input found while setting a run up (settings, env id, checkpoint, run directory)."""


def ray_address(address: str | None) -> str | None:
    """The cluster a run joins: ``address`` (``--address``), else ``RAY_ADDRESS``; None: an embedded instance."""
    return address or os.environ.get("RAY_ADDRESS")


def say_nothing(line: str) -> None:
    """An ``echo`` that prints nothing."""


def init_ray(address: str | None, *, dashboard: bool = False, verbose: bool = False,
             echo: Callable[[str], None] = say_nothing) -> str | None:
    """Connects to ``address`` / ``RAY_ADDRESS`` if given, else starts Ray on this machine's CPUs.

    ``dashboard``: the embedded instance serves the Ray dashboard on 127.0.0.1 (token auth as
    Ray configures it); returns its URL. Ray's and RLlib's own logs reach the console only
    with ``verbose`` (``rllib_safe.runs.console``). ``echo`` gets one line before Ray starts
    (nothing where Ray is running already): start-up takes seconds.
    """
    import ray

    from rllib_safe.runs.console import quiet_console, ray_init_kwargs

    if ray.is_initialized():
        return None
    quiet_console(verbose)
    address = ray_address(address)
    if address:
        echo(f"Connecting to Ray at {address} ...")
        context = ray.init(address=address, **ray_init_kwargs(verbose))
    else:
        echo(f"Starting Ray (local, {os.cpu_count()} CPUs) ...")
        context = ray.init(
            num_cpus=os.cpu_count(),
            include_dashboard=dashboard,
            **({"dashboard_host": "127.0.0.1"} if dashboard else {}),
            **ray_init_kwargs(verbose),
        )
    url = context.dashboard_url if dashboard or address else None
    return f"http://{url}" if url and "://" not in url else url


def restore_algorithm(checkpoint: Path):
    """The algorithm saved in ``checkpoint``, config, weights and learner state included."""
    from ray.rllib.algorithms.algorithm import Algorithm

    from rllib_safe.envs import register_envs

    register_envs()  # the pickled config does not pass through config.environment()
    return Algorithm.from_checkpoint(str(Path(checkpoint).resolve()))


def restore_latest(checkpoints: list[Path], echo: Callable[[str], None]):
    """The newest checkpoint that restores, and the algorithm; each is announced before it is loaded
    (seconds), a broken one is named and skipped (``runs.fallback.restore_newest``)."""
    from rllib_safe.runs.fallback import restore_newest

    def restore(checkpoint: Path):
        echo(f"Restoring {checkpoint} ...")
        return restore_algorithm(checkpoint)

    return restore_newest(checkpoints, restore, echo)


def rllib_logdir_in(run_dir: Path):
    """While active, an Algorithm built or restored makes its log directory (``algo.logdir``) in
    ``run_dir / RLLIB_LOGDIR`` instead of ~/ray_results, where the new API stack writes nothing into
    it: every run left an empty directory there. :func:`remove_empty_dirs` tidies it up after."""
    return trainable_default_logdir(run_dir / RLLIB_LOGDIR)


@dataclass
class PreparedRun:
    """A run checked and ready to start: a new one (``config``) or a resumed one (``checkpoints``)."""

    options: TrainOptions
    run_dir: Path
    timesteps: int
    config: object | None = None
    checkpoints: list[Path] | None = None

    def timesteps_notice(self) -> str | None:
        """The line that says how many iterations a new run's ``--timesteps`` makes, where it is not a
        whole number of them (None for a resumed run: its config is in the checkpoint)."""
        if self.config is None:
            return None
        steps = iteration_env_steps(self.config)
        return timesteps_notice(self.timesteps, *steps) if steps else None

    def start(self, echo: Callable[[str], None]):
        """The algorithm (built or restored) and the run's files; RLlib's log directory goes into the run
        directory (:func:`rllib_logdir_in`)."""
        with rllib_logdir_in(self.run_dir):
            if self.checkpoints is None:
                return self.build(echo)
            return self.restore(echo)

    def build(self, echo: Callable[[str], None]):
        """A new run's algorithm and files."""
        echo("Building EnvRunners and learners ...")
        algo = self.config.build_algo()
        files = RunFiles(self.run_dir)
        files.write_config(self.options, self.config)
        return algo, files

    def restore(self, echo: Callable[[str], None]):
        """A resumed run's algorithm, from its newest checkpoint that restores, and files."""
        checkpoint, algo = restore_latest(self.checkpoints, echo)
        echo(f"Resuming from {checkpoint} (target {self.timesteps} env steps)")
        files = RunFiles(self.run_dir, resume_from=checkpoint_iteration(checkpoint))
        if RunFiles.saved_options(self.run_dir) is None:
            files.write_config(self.options, algo.config)
        return algo, files


def local_ray_cpus() -> float:
    """The CPUs of the Ray instance a run without ``--address`` uses: the running one, else this machine's."""
    import ray

    return float(ray.cluster_resources().get("CPU", 0.0)) if ray.is_initialized() else float(os.cpu_count() or 1)


def check_local_cpus(config, cpus: float) -> None:
    """Raises ConfigError where the EnvRunners and learners ask for more CPUs than ``cpus``: on the
    embedded Ray instance they would wait for them forever, and the run would hang without a word."""
    shortfall = cpu_shortfall(config, cpus)
    if shortfall is not None:
        raise ConfigError(
            f"{shortfall.describe('the local Ray instance')}: they would wait for CPUs forever. Use "
            f"num_env_runners <= {shortfall.fitting_env_runners} here (--set num_env_runners=...), or --address "
            "to train on a cluster."
        )


def check_warmup_fits(config, timesteps: int) -> None:
    """ConfigError where the algorithm's warm-up (``warmup_steps()``, env steps) is not shorter than the
    run: every update would be a warm-up one."""
    warmup_steps = getattr(config, "warmup_steps", None)
    if not callable(warmup_steps):
        return
    steps = warmup_steps()
    if steps >= timesteps:
        name = getattr(config, "warmup_setting", "warmup_env_steps")  # the setting the user gives
        old = getattr(config, "warmup_iterations", None)
        given = f"`{name}` = {steps!r}"
        if old is not None:
            given = f"`warmup_iterations` = {old!r} (= {steps} env steps)"
        raise ConfigError(
            f"{given} is invalid: the warm-up must be shorter than the run (--timesteps {timesteps}): "
            f"use {name} < {timesteps} (0: no warm-up), or a longer --timesteps."
        )


def set_flag(name: str, value) -> str:
    """How a ``--set`` value is named in a message: ``--set lr='abc'``."""
    return f"--set {name}={value!r}"


def check_set_values(options: TrainOptions) -> None:
    """ConfigError naming the first ``--set`` value of a kind its setting does not take (``--set lr='abc'``)."""
    from rllib_safe.algorithms import default_config

    check_setting_values(default_config(options.algo), options.overrides, describe=set_flag)


def prepare_config(options: TrainOptions):
    """A new run's validated config, from the options alone (no CPUs, run directory or Ray looked at).

    Raises ConfigError or ValueError naming what is wrong.
    """
    check_set_values(options)
    config = build_config(
        options.algo, options.env, options.settings(), preset=options.preset, seed=options.seed,
        placement=options.placement(),
    )
    check_warmup_fits(config, options.timesteps)
    return config


def prepare_run(options: TrainOptions) -> PreparedRun:
    """Every check that needs no Ray: the config (new run) or the checkpoints (resume), the run directory.

    Raises UsageError naming what is wrong.
    """
    try:
        check_installed(options.tracking(), flags={"mlflow": "--mlflow", "wandb": "--wandb"})
        if options.resume is not None:
            checkpoints = find_checkpoints(options.resume)
            run_dir = Path(options.run_dir or checkpoint_run_dir(checkpoints[0]) or default_run_dir(
                options.algo, options.env, options.seed))
            saved = RunFiles.saved_options(run_dir)
            timesteps = options.timesteps
            if "timesteps" not in options.model_fields_set and saved:
                timesteps = saved["timesteps"]
            if "checkpoint_every" not in options.model_fields_set and saved and "checkpoint_every" in saved:
                options = options.model_copy(update={"checkpoint_every": saved["checkpoint_every"]})
            check_writable(run_dir)
            return PreparedRun(options, run_dir, timesteps, checkpoints=checkpoints)
        config = prepare_config(options)
        if ray_address(options.address) is None:
            check_local_cpus(config, local_ray_cpus())
        run_dir = Path(options.run_dir or default_run_dir(options.algo, options.env, options.seed))
        check_writable(run_dir)
        return PreparedRun(options, run_dir, options.timesteps, config=config)
    except (ConfigError, RunDirError, TrackerError, ValueError) as err:
        raise UsageError(str(err)) from err


def train(options: TrainOptions, echo: Callable[[str], None] = print) -> dict:
    """``rllib-safe train``: a new run or a resumed one; returns the summary.

    Raises UsageError for bad input, before Ray starts wherever it can be found then. Says what it
    does while Ray starts and the algorithm is built or restored (seconds each) through ``echo``.
    """
    from rllib_safe.runs.console import quiet_console

    quiet_console(options.verbose)  # before the config is validated: RLlib logs from validate()
    prepared = prepare_run(options)
    notice = prepared.timesteps_notice()
    if notice:
        echo(notice)
    url = init_ray(options.address, dashboard=options.dashboard, verbose=options.verbose, echo=echo)
    if url:
        echo(f"Ray dashboard: {url}")
    try:
        summary = start_and_run(prepared, echo)
    finally:
        remove_empty_dirs(prepared.run_dir / RLLIB_LOGDIR)
    echo(format_summary(summary))
    return summary


def start_and_run(prepared: PreparedRun, echo: Callable[[str], None]) -> dict:
    """Builds or restores the algorithm, trains it to the run's timesteps and stops it; returns the summary."""
    try:
        algo, files = prepared.start(echo)
    except (RunDirError, ValueError) as err:
        raise UsageError(str(err)) from err
    echo(f"Run directory: {files.run_dir}")
    try:
        tracker = start_tracker(prepared.options.tracking(), files.run_dir, algo.config, echo)
        return run_loop(algo, files, prepared.timesteps, prepared.options.checkpoint_every, echo, tracker)
    finally:
        files.close()
        algo.stop()


def start_tracker(settings: TrackingSettings, run_dir: Path, config, echo: Callable[[str], None]) -> RunTracker | None:
    """The run's experiment trackers (``--mlflow``, ``--wandb``), named for the run directory; None if none."""
    if not settings.names:
        return None
    echo(f"Logging to {' and '.join(settings.names)} ...")
    return RunTracker(settings, run_dir, run_dir.name, config.to_dict())
