"""`rllib-safe evaluate`: deterministic episodes from a run directory or checkpoint."""

from __future__ import annotations

import argparse
import json

from pydantic import ValidationError

from rllib_safe.cli.errors import usage_error
from rllib_safe.runs.options import EvaluateOptions


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


def run(args: argparse.Namespace) -> int:
    from rllib_safe.runs.evaluation import evaluate, format_report
    from rllib_safe.runs.run_dir import RunDirError, find_checkpoint

    given = {k: v for k, v in vars(args).items() if v is not None and k in EvaluateOptions.model_fields}
    try:
        options = EvaluateOptions(**given)
        checkpoint = find_checkpoint(options.checkpoint)
    except (ValidationError, RunDirError) as err:
        return usage_error("evaluate", err)
    report = evaluate(checkpoint, options.episodes, options.seed, options.video)
    print(format_report(report))
    print(json.dumps(report))
    if options.json_out is not None:
        options.json_out.write_text(json.dumps(report, indent=2))
    return 0
