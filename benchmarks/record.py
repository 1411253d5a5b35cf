"""What every benchmark shares: its common options, how it starts torch and Ray, and its JSON writer.

Every JSON line a benchmark prints or appends (:func:`emit`, :func:`append`) carries a
``"provenance"`` object that says where the figures come from, written by the script itself:

* ``git``: the revision (``HEAD``, 12 digits) and ``dirty`` (tracked files differ from it);
  ``unknown`` / ``null`` outside a git checkout;
* ``started_at``: when the script started, ``recorded_at``: when the line was written (UTC, ISO 8601);
* ``machine``: host name, CPUs (``os.cpu_count()``) and those this process may use (its
  affinity), platform, and the 1-minute load average when the line was written (a busy machine shows);
* ``torch_threads``: ``torch.get_num_threads()`` of the writing process;
* ``versions``: python, ray, torch, mujoco, gymnasium, safety-gymnasium, rllib-safe;
* ``command``: the command line that ran the script (``python -m benchmarks.throughput --iterations 4``).

Only the standard library is imported here (torch and Ray inside the functions that use them).
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import platform
import shlex
import socket
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
#: Distributions whose versions each line records (python's own is added).
PACKAGES = ("ray", "torch", "mujoco", "gymnasium", "safety-gymnasium", "rllib-safe")
PROVENANCE = "provenance"


def finite_or_none(value) -> float | None:
    """A finite number as a float, or None (RLlib reports NaN or nothing before the first finished episode)."""
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def utc_now() -> str:
    """The current time in UTC, ISO 8601 to the second (``2026-12-03T14:05:09+00:00``)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


STARTED_AT = utc_now()


def git_state() -> tuple[str, bool | None]:
    """``HEAD``'s 12-digit hash and whether tracked files differ from it; ``("unknown", None)`` without git."""

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, check=True).stdout

    try:
        revision = git("rev-parse", "--short=12", "HEAD").strip()
        return revision, bool(git("status", "--porcelain", "--untracked-files=no").strip())
    except (OSError, subprocess.CalledProcessError):
        return "unknown", None


def git_revision() -> str:
    """``HEAD``'s 12-digit hash, ``-dirty`` when tracked files differ from it; ``unknown`` without git."""
    revision, dirty = git_state()
    return revision + ("-dirty" if dirty else "")


def versions(packages: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    """Python's version and each installed distribution's (None where it is not installed)."""

    def version(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    return {"python": platform.python_version()} | {name: version(name) for name in packages}


def main_module() -> str | None:
    """The module this process runs with ``python -m`` (None: a script path, ``-c``, an interpreter)."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    name = getattr(spec, "name", None)
    return name.removesuffix(".__main__") if name else None


def command_line(argv: list[str] | None = None) -> str:
    """The command that ran this process: ``python -m PACKAGE.MODULE ARGS`` when started with ``-m``."""
    argv = sys.argv if argv is None else argv
    module = main_module()
    if module is not None:
        return shlex.join(["python", "-m", module, *argv[1:]])
    return shlex.join(["python", *argv])


@functools.cache
def _fixed() -> dict[str, Any]:
    """The parts that do not change while the process runs."""
    revision, dirty = git_state()
    return {
        "git": {"revision": revision, "dirty": dirty},
        "machine": {"hostname": socket.gethostname(), "cpus": os.cpu_count(),
                    "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
                    "platform": platform.platform()},
        "versions": versions(),
        "command": command_line(),
    }


def torch_threads() -> int | None:
    """The writing process's torch threads (None without torch)."""
    try:
        import torch
    except ImportError:
        return None
    return torch.get_num_threads()


def provenance() -> dict[str, Any]:
    """Where a line's figures come from (module docstring), at the moment it is written."""
    fixed = _fixed()
    machine = fixed["machine"] | {"load_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None}
    return {
        "git": fixed["git"], "started_at": STARTED_AT, "recorded_at": utc_now(), "machine": machine,
        "torch_threads": torch_threads(), "versions": fixed["versions"], "command": fixed["command"],
    }


def stamped(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with this process's provenance (replacing any it had: the writer answers for the line)."""
    return {key: value for key, value in row.items() if key != PROVENANCE} | {PROVENANCE: provenance()}


def append(path: Path, row: dict[str, Any]) -> None:
    """Appends ``row`` as one JSON line to ``path`` (its folder made if missing), as it is."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as file:
        file.write(json.dumps(row) + "\n")


def emit(row: dict[str, Any], out: Path | None = None) -> dict[str, Any]:
    """Prints ``row`` with its provenance as one JSON line, appends it to ``out`` if given; returns it."""
    row = stamped(row)
    print(json.dumps(row), flush=True)
    if out is not None:
        append(out, row)
    return row


def parser(doc: str, *, torch_threads: int | None = 1, num_cpus: bool = False) -> argparse.ArgumentParser:
    """A benchmark's parser (description: its docstring's first line) with the common options:
    ``--out`` (also append each line to a file), ``--torch-threads`` (default ``torch_threads``;
    None: no such option) and, for benchmarks that start Ray, ``--num-cpus``."""
    module = main_module()
    result = argparse.ArgumentParser(prog=f"python -m {module}" if module else None, description=doc.splitlines()[0])
    result.add_argument("--out", type=Path, help="also append each JSON line to this file (e.g. "
                        "benchmarks/results/NAME_TAG.jsonl)")
    if torch_threads is not None:
        result.add_argument("--torch-threads", type=int, default=torch_threads,
                            help="torch threads of this process (and OMP_NUM_THREADS of the processes it starts)")
    if num_cpus:
        result.add_argument("--num-cpus", type=int, default=os.cpu_count(), help="CPUs given to Ray")
    return result


def set_torch_threads(threads: int) -> None:
    """Sets this process's torch threads, and ``OMP_NUM_THREADS`` for the processes it starts (Ray's workers)."""
    import torch

    torch.set_num_threads(threads)
    os.environ["OMP_NUM_THREADS"] = str(threads)


def start_ray(num_cpus: int | None, *, log_to_driver: bool = True, **kwargs: Any) -> None:
    """A local Ray instance for a benchmark: ``num_cpus`` logical CPUs (None: all), no dashboard.
    ``log_to_driver=False`` keeps the workers' output off the console (it interleaves with the lines)."""
    import ray

    ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=log_to_driver, **kwargs)


def parse_setting(text: str) -> tuple[int, int]:
    """``RUNNERSxENVS`` (``2x8``): ``num_env_runners`` and ``num_envs_per_env_runner``."""
    runners, _, envs = text.partition("x")
    if not (runners.isdigit() and envs.isdigit() and int(envs) >= 1):
        raise argparse.ArgumentTypeError(f"setting {text!r} is invalid: use RUNNERSxENVS, e.g. 2x4")
    return int(runners), int(envs)
