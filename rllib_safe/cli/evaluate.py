"""`rllib-safe evaluate`: deterministic episodes from a run directory or checkpoint.

Everything that can be wrong is found before the episodes run: the options, the checkpoint
(a run directory's newest one that loads; a checkpoint given by path must load), and whether
``--video`` and ``--json-out`` can be written. A file that still cannot be written at the end
is named; the report is printed all the same (exit 1).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pydantic import ValidationError

from rllib_safe.cli.errors import usage_error
from rllib_safe.runs.options import EvaluateOptions, flag


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="run a trained policy deterministically: mean/std return, cost, cost rate",
        description="Evaluate the latest checkpoint of a run directory (or a checkpoint path) with "
        "deterministic actions and the checkpoint's observation normalisation.",
    )
    parser.add_argument("checkpoint", metavar="RUN_DIR_OR_CHECKPOINT")
    parser.add_argument("--episodes", type=int, help="number of episodes (default 10)")
    parser.add_argument("--seed", type=int, help="seed of the first episode's reset (default 0)")
    parser.add_argument("--video", help="write the first episode to this .mp4 (MUJOCO_GL=egl unless set)")
    parser.add_argument("--json-out", help="also write the report as JSON to this file")
    parser.set_defaults(func=run)


def check_outputs(options: EvaluateOptions) -> None:
    """ValueError naming the flag, the path and why, unless ``--video`` and ``--json-out`` can be written."""
    from rllib_safe.runs.evaluation import check_writable_file

    for field in ("video", "json_out"):
        path = getattr(options, field)
        if path is None:
            continue
        try:
            check_writable_file(path)
        except OSError as err:
            where = f"{str(err.filename)!r}: " if err.filename else ""
            raise ValueError(f"{flag(field)} = {str(path)!r} cannot be written ({where}{err.strerror})") from None


def warn(message: str) -> None:
    """A note on stderr: stdout holds the report (its last line is JSON)."""
    print(message, file=sys.stderr)


def write_outputs(report: dict, json_out: Path | None) -> list[str]:
    """Writes the JSON report if asked; what could not be written (the video included), one line each."""
    from rllib_safe.runs.evaluation import write_report

    unwritten = [f"the video could not be written ({report['video_error']})"] if "video_error" in report else []
    if json_out is not None:
        try:
            write_report(report, json_out)
        except OSError as err:
            unwritten.append(f"the JSON report could not be written ({json_out}: {err.strerror or err})")
    return unwritten


def run(args: argparse.Namespace) -> int:
    """Checks everything, loads the newest policy that loads, runs the episodes, prints and writes the report."""
    from rllib_safe.runs.evaluation import evaluate_policy, format_report, load_newest_policy
    from rllib_safe.runs.run_dir import RunDirError, find_checkpoints

    given = {k: v for k, v in vars(args).items() if v is not None and k in EvaluateOptions.model_fields}
    try:
        options = EvaluateOptions(**given)
        checkpoints = find_checkpoints(options.checkpoint)
        check_outputs(options)
        policy = load_newest_policy(checkpoints, warn)
    except (ValidationError, RunDirError, ValueError) as err:
        return usage_error("evaluate", err)
    report = evaluate_policy(policy, options.episodes, options.seed, options.video)
    print(format_report(report))
    print(json.dumps(report))
    unwritten = write_outputs(report, options.json_out)
    for line in unwritten:
        print(f"rllib-safe evaluate: {line}; the report above is complete.", file=sys.stderr)
    return 1 if unwritten else 0
