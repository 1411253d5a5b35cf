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
from rllib_safe.runs.config import ConfigError, build_config, check_setting_values
from rllib_safe.runs.loop import format_summary, run_loop
from rllib_safe.runs.options import TrainOptions
from rllib_safe.runs.run_dir import (
    RunDirError,
    RunFiles,
    check_writable,
    checkpoint_iteration,
    checkpoint_run_dir,
    default_run_dir,
    find_checkpoints,
)


class UsageError(ValueError):
    """Bad input found while setting a run up (settings, env id, checkpoint, run directory)."""


def ray_address(address: str | None) -> str | None:
    """The cluster a run joins: ``address`` (``--address``), else ``RAY_ADDRESS``; None: an embedded instance."""
    return address or os.environ.get("RAY_ADDRESS")


def init_ray(address: str | None, *, dashboard: bool = False, verbose: bool = False) -> str | None:
    """Connects to ``address`` / ``RAY_ADDRESS`` if given, else starts Ray on this machine's CPUs.

    ``dashboard``: the embedded instance serves the Ray dashboard on 127.0.0.1 (token auth as
    Ray configures it); returns its URL. Ray's and RLlib's own logs reach the console only
    with ``verbose`` (``rllib_safe.runs.console``).
    """
    import ray

    from rllib_safe.runs.console import quiet_console, ray_init_kwargs

    if ray.is_initialized():
        return None
    quiet_console(verbose)
    address = ray_address(address)
    if address:
        context = ray.init(address=address, **ray_init_kwargs(verbose))
    else:
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
    """The newest checkpoint that restores, and the algorithm; a broken one is named and skipped."""
    for position, checkpoint in enumerate(checkpoints):
        try:
            return checkpoint, restore_algorithm(checkpoint)
        except Exception as err:  # a truncated or corrupted checkpoint fails in many ways
            reason = f"{type(err).__name__}: {str(err).strip().splitlines()[0][:200] if str(err).strip() else ''}"
            if position + 1 == len(checkpoints):
                raise RunDirError(f"checkpoint {str(checkpoint)!r} cannot be restored ({reason})") from err
            echo(f"Checkpoint {checkpoint} cannot be restored ({reason}); using {checkpoints[position + 1]}")
    raise AssertionError("unreachable: find_checkpoints never returns an empty list")


@dataclass
class PreparedRun:
    """A run checked and ready to start: a new one (``config``) or a resumed one (``checkpoints``)."""

    options: TrainOptions
    run_dir: Path
    timesteps: int
    config: object | None = None
    checkpoints: list[Path] | None = None

    def start(self, echo: Callable[[str], None]):
        """The algorithm (built or restored) and the run's files."""
        if self.checkpoints is None:
            algo = self.config.build_algo()
            files = RunFiles(self.run_dir)
            files.write_config(self.options, self.config)
            return algo, files
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


def set_flag(name: str, value) -> str:
    """How a ``--set`` value is named in a message: ``--set lr='abc'``."""
    return f"--set {name}={value!r}"


def check_set_values(options: TrainOptions) -> None:
    """ConfigError naming the first ``--set`` value of a kind its setting does not take (``--set lr='abc'``)."""
    from rllib_safe.algorithms import default_config

    check_setting_values(default_config(options.algo), options.overrides, describe=set_flag)


def prepare_run(options: TrainOptions) -> PreparedRun:
    """Every check that needs no Ray: the config (new run) or the checkpoints (resume), the run directory.

    Raises UsageError naming what is wrong.
    """
    try:
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
        check_set_values(options)
        config = build_config(
            options.algo, options.env, options.settings(), preset=options.preset, seed=options.seed,
            placement=options.placement(),
        )
        if ray_address(options.address) is None:
            check_local_cpus(config, local_ray_cpus())
        run_dir = Path(options.run_dir or default_run_dir(options.algo, options.env, options.seed))
        check_writable(run_dir)
        return PreparedRun(options, run_dir, options.timesteps, config=config)
    except (ConfigError, RunDirError, ValueError) as err:
        raise UsageError(str(err)) from err


def train(options: TrainOptions, echo: Callable[[str], None] = print) -> dict:
    """``rllib-safe train``: a new run or a resumed one; returns the summary.

    Raises UsageError for bad input, before Ray starts wherever it can be found then.
    """
    from rllib_safe.runs.console import quiet_console

    quiet_console(options.verbose)  # before the config is validated: RLlib logs from validate()
    prepared = prepare_run(options)
    url = init_ray(options.address, dashboard=options.dashboard, verbose=options.verbose)
    if url:
        echo(f"Ray dashboard: {url}")
    try:
        algo, files = prepared.start(echo)
    except (RunDirError, ValueError) as err:
        raise UsageError(str(err)) from err
    echo(f"Run directory: {files.run_dir}")
    try:
        summary = run_loop(algo, files, prepared.timesteps, prepared.options.checkpoint_every, echo)
    finally:
        files.close()
        algo.stop()
    echo(format_summary(summary))
    return summary
