"""The run directory: its files, its checkpoints, and the checks before anything is written.

A run directory holds::

    config.json           the options and the algorithm's full config
    results.jsonl         one flattened result dict per iteration ("env_runners/episode_cost_mean", ...)
    tensorboard/          TensorBoard event files (every numeric result, x axis = env steps)
    checkpoints/iter_NNNNNN/   ``algo.save_to_path`` every N iterations, at the end and on Ctrl-C
    summary.json          final return, cost, limit, steps/s, status
    rllib_logdir/         RLlib's own log directory while the algorithm runs (``algo.logdir``; removed
                          at the end while empty, as it stays on the new API stack)
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import time
from pathlib import Path
from typing import Any

from rllib_safe.metrics import STEPS_KEY, TRAINING_ITERATION, finite_numbers, flat

CONFIG_FILE = "config.json"
RESULTS_FILE = "results.jsonl"
SUMMARY_FILE = "summary.json"
TENSORBOARD_DIR = "tensorboard"
CHECKPOINTS_DIR = "checkpoints"
CHECKPOINT_MARKER = "rllib_checkpoint.json"
RLLIB_LOGDIR = "rllib_logdir"
#: A run needs room for its checkpoints; below this many free bytes it does not start.
MIN_FREE_BYTES = int(os.environ.get("RLLIB_SAFE_MIN_FREE_MB", "64")) * 2**20


class RunDirError(ValueError):
    """A run directory or checkpoint that cannot be used; the message names the path."""


def json_default(value: Any) -> Any:
    return value if isinstance(value, (int, float, str, bool)) else repr(value)


def strict_json(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by None (JSON's null): a bare NaN is not
    JSON, and strict readers reject the file."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: strict_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(item) for item in value]
    return value


def check_writable(run_dir: Path, what: str = "run directory") -> None:
    """RunDirError unless ``run_dir`` can be created and written, with room for checkpoints; the
    message calls it ``what`` (a sweep's ``storage_path``)."""
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe = run_dir / f".write_check_{os.getpid()}"
        with open(probe, "w", encoding="utf-8") as file:
            file.write("ok")
            file.flush()
            os.fsync(file.fileno())
        probe.unlink()
    except OSError as err:
        raise RunDirError(f"{what} {str(run_dir)!r} is not writable: {err.strerror or err}") from None
    free = shutil.disk_usage(run_dir).free
    if free < MIN_FREE_BYTES:
        raise RunDirError(
            f"{what} {str(run_dir)!r} has {free / 2**20:.1f} MiB free; a run needs at least "
            f"{MIN_FREE_BYTES / 2**20:.0f} MiB for its checkpoints (RLLIB_SAFE_MIN_FREE_MB)."
        )


def remove_empty_dirs(path: Path) -> None:
    """Removes ``path`` and the directories under it that hold no file (deepest first); keeps any with a file.

    Tidying only: a directory that cannot be removed (a read-only disk) is left as it is.
    """
    path = Path(path)
    if not path.is_dir():
        return
    directories = sorted((d for d in path.rglob("*") if d.is_dir()), key=lambda d: len(d.parts), reverse=True)
    for directory in [*directories, path]:
        with contextlib.suppress(OSError):
            directory.rmdir()  # fails on a directory that is not empty


def default_run_dir(algo: str, env: str, seed: int) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{algo}-{env}-seed{seed}-{stamp}"


def checkpoint_iteration(checkpoint: Path) -> int:
    """The training iteration a checkpoint was saved at (its ``iter_NNNNNN`` name)."""
    return int(Path(checkpoint).name.removeprefix("iter_"))


def run_checkpoints(run_dir: Path) -> list[Path]:
    """The checkpoints of a run directory (those with a marker file), newest first. RLlib writes the
    marker first: one cut short by a crash is found out by ``restore_latest``, which falls back."""
    found = sorted(Path(run_dir, CHECKPOINTS_DIR).glob("iter_*"), reverse=True)
    return [path for path in found if (path / CHECKPOINT_MARKER).exists()]


def find_checkpoints(path: Path) -> list[Path]:
    """``[path]`` if it is a checkpoint, else the run directory's checkpoints, newest first."""
    path = Path(path)
    if (path / CHECKPOINT_MARKER).exists():
        return [path]
    checkpoints = run_checkpoints(path)
    if not checkpoints:
        raise RunDirError(f"{str(path)!r} is neither a checkpoint nor a run directory with checkpoints")
    return checkpoints


def find_checkpoint(path: Path) -> Path:
    """``path`` if it is a checkpoint, else the latest checkpoint of the run directory ``path``."""
    return find_checkpoints(path)[0]


def checkpoint_run_dir(checkpoint: Path) -> Path | None:
    """The run directory a checkpoint was written into, if it sits in one."""
    parent = Path(checkpoint).resolve().parent
    return parent.parent if parent.name == CHECKPOINTS_DIR else None


def flatten_result(result: dict, prefix: str = "") -> dict[str, float | int | bool | str]:
    """Nested result dict -> ``{"a/b/c": scalar}``; the config and non-scalars are left out."""
    flat_result = {}
    for key, value in result.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            if name != "config":
                flat_result |= flatten_result(value, name + "/")
        elif isinstance(value, (bool, int, float, str)):
            flat_result[name] = value
        elif hasattr(value, "item") and getattr(value, "size", 2) == 1:  # numpy / torch scalars
            flat_result[name] = value.item()
    return flat_result


def read_results(run_dir: Path) -> list[dict]:
    """The iterations of the run directory's ``results.jsonl`` (:func:`read_iterations`)."""
    return read_iterations(Path(run_dir) / RESULTS_FILE)


def read_iterations(path: Path) -> list[dict]:
    """The iterations of a JSON-lines result file (ours or Tune's ``result.json``) in order, each
    once (the last line written for it); a line cut short by a crash is skipped."""
    path = Path(path)
    by_iteration: dict[int, dict] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                result = json.loads(line)
            except json.JSONDecodeError:
                continue
            by_iteration[result.get(TRAINING_ITERATION, len(by_iteration) + 1)] = result
    return [by_iteration[iteration] for iteration in sorted(by_iteration)]


def result_step(flat_result: dict) -> int:
    """The x axis of a result in TensorBoard: its lifetime env steps."""
    return int(flat_result.get(flat(STEPS_KEY), 0))


def keep_results_until(run_dir: Path, iteration: int) -> list[dict]:
    """Rewrites the run directory's results.jsonl with the iterations up to ``iteration`` only; returns them."""
    kept = [r for r in read_results(run_dir) if r.get(TRAINING_ITERATION, 0) <= iteration]
    (Path(run_dir) / RESULTS_FILE).write_text(
        "".join(json.dumps(r, default=json_default) + "\n" for r in kept), encoding="utf-8"
    )
    return kept


def tensorboard_writer(run_dir: Path, kept: list[dict] | None):
    """The run's TensorBoard writer; for a resumed run (``kept``: the results it keeps) one that purges the
    events after the last kept result.

    The purge step (TensorBoard drops the events with step >= it that were written before) is one
    env step past the last kept result, so the discarded iterations vanish from TensorBoard as from
    results.jsonl. A resumed writer gets a file of its own (event files are named by the second).
    """
    from tensorboardX import SummaryWriter

    if kept is None:
        return SummaryWriter(str(run_dir / TENSORBOARD_DIR))
    purge_step = result_step(kept[-1]) + 1 if kept else 0
    return SummaryWriter(str(run_dir / TENSORBOARD_DIR), purge_step=purge_step,
                         filename_suffix=f".resumed_at_step_{purge_step}")


class RunFiles:
    """Writers of one run directory: results.jsonl, TensorBoard, checkpoints, summary.

    ``resume_from``: the iteration of the checkpoint a resumed run continues from; results of
    later iterations (written before a crash, then lost with the algorithm's state) are
    dropped, from results.jsonl and from TensorBoard, so each holds every iteration once.
    """

    def __init__(self, run_dir: Path, resume_from: int | None = None):
        self.run_dir = Path(run_dir)
        check_writable(self.run_dir)
        kept = None if resume_from is None else keep_results_until(self.run_dir, resume_from)
        self.previous_results = kept or []
        self.results = open(self.run_dir / RESULTS_FILE, "a", encoding="utf-8")  # noqa: SIM115 (closed in close())
        self.tensorboard = tensorboard_writer(self.run_dir, kept)

    def write_config(self, options, config) -> None:
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

    def write_result(self, flat_result: dict) -> None:
        self.results.write(json.dumps(flat_result, default=json_default) + "\n")
        self.results.flush()
        step = result_step(flat_result)
        for key, value in finite_numbers(flat_result).items():
            self.tensorboard.add_scalar(key, value, step)
        self.tensorboard.flush()

    def save_checkpoint(self, algo) -> Path:
        path = self.run_dir / CHECKPOINTS_DIR / f"iter_{algo.iteration:06d}"
        algo.save_to_path(str(path.resolve()))
        return path

    def write_summary(self, summary: dict) -> None:
        text = json.dumps(strict_json(summary), indent=2, default=json_default, allow_nan=False)
        (self.run_dir / SUMMARY_FILE).write_text(text)

    def close(self) -> None:
        self.results.close()
        self.tensorboard.close()
