"""Training runs as a service: options, the one config builder, the run directory, the loop, evaluation.

``cli/`` parses arguments and prints errors; everything a command does lives here:

* ``options``: ``TrainOptions`` / ``EvaluateOptions`` (pydantic), what the user asked for.
* ``config``: ``build_config``, the only place a config is built from settings (CLI, sweeps,
  benchmarks), cluster placement included.
* ``run_dir``: the run directory's files, checkpoints, and the checks before writing.
* ``loop``: the iteration loop, progress lines, the summary.
* ``service``: ``train`` (check everything, start Ray, train or resume).
* ``evaluation``: deterministic episodes from a checkpoint.
* ``console``: what Ray and RLlib may print to the console.
"""

from rllib_safe.runs.config import ConfigError, Placement, apply_placement, build_config, setting_names
from rllib_safe.runs.loop import format_summary, progress_line, run_loop, summarise
from rllib_safe.runs.options import EvaluateOptions, TrainOptions, parse_overrides
from rllib_safe.runs.run_dir import RunDirError, RunFiles, find_checkpoint, flatten_result
from rllib_safe.runs.service import UsageError, init_ray, prepare_run, restore_algorithm, train

__all__ = [
    "ConfigError",
    "EvaluateOptions",
    "Placement",
    "RunDirError",
    "RunFiles",
    "TrainOptions",
    "UsageError",
    "apply_placement",
    "build_config",
    "find_checkpoint",
    "flatten_result",
    "format_summary",
    "init_ray",
    "parse_overrides",
    "prepare_run",
    "progress_line",
    "restore_algorithm",
    "run_loop",
    "setting_names",
    "summarise",
    "train",
]
