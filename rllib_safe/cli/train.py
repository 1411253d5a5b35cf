"""`rllib-safe train`: train one algorithm on one env into a run directory."""

from __future__ import annotations

import argparse
import sys

from rllib_safe.cli.errors import usage_error
from rllib_safe.renamed import old_flags
from rllib_safe.runs.options import TRACKER_FLAGS, TrainOptions, flag, parse_overrides


def add_option(parser, name: str, *flags: str, **kwargs) -> None:
    """Adds the flag of ``TrainOptions`` field ``name`` (``flag(name)`` unless ``flags`` are given), its help
    text generated from the model (``TrainOptions.help_text``); unset flags stay None, so the model knows
    which were given."""
    parser.add_argument(*(flags or (flag(name),)), dest=name, help=TrainOptions.help_text(name), **kwargs)


def add_switch(parser, name: str) -> None:
    """Adds the on/off flag of the boolean ``TrainOptions`` field ``name``."""
    add_option(parser, name, action="store_true", default=None)


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train an algorithm (progress per iteration, checkpoints, results.jsonl, TensorBoard)",
        description="Train on a local embedded Ray instance, or on the cluster named by --address / "
        "RAY_ADDRESS. Writes config.json, results.jsonl, tensorboard/, checkpoints/ and summary.json "
        "into the run directory.",
    )
    for name, kind in (("algo", str), ("env", str), ("cost_limit", float), ("timesteps", int), ("seed", int),
                       ("run_dir", str), ("address", str)):
        add_option(parser, name, type=kind)
    add_switch(parser, "dashboard")
    add_switch(parser, "verbose")
    for name, kind in (("num_env_runners", int), ("num_envs_per_env_runner", int), ("num_learners", int),
                       ("num_gpus_per_learner", float)):
        add_option(parser, name, type=kind)
    add_switch(parser, "allow_gpu_fallback")
    cluster = parser.add_argument_group("cluster placement (cluster/README.md)")
    add_switch(cluster, "cluster_placement")
    add_switch(cluster, "rollouts_on_gpu_nodes")
    add_option(parser, "checkpoint_every", type=int)
    add_option(parser, "resume")
    add_option(parser, "preset")
    add_option(parser, "overrides", "--set", action="append", metavar="KEY=VALUE")
    pcrpo = parser.add_argument_group("PCRPO")
    for name in ("slack_upper", "slack_lower", "conflict_angle", "reward_weight"):
        add_option(pcrpo, name, type=float)
    add_option(pcrpo, "actor_step", "--actor-step", *old_flags("--actor-step"))
    add_option(parser.add_argument_group("SMPO"), "modulation_base", type=float)
    trackers = parser.add_argument_group("experiment trackers")
    for tracker, settings in TRACKER_FLAGS.items():
        add_switch(trackers, tracker)
        for name in settings:
            add_option(trackers, name)
    parser.set_defaults(func=run)


def options_from_args(args: argparse.Namespace) -> TrainOptions:
    """Only the flags given reach the model, so it knows which were set (``model_fields_set``)."""
    given = {k: v for k, v in vars(args).items() if v is not None and k in TrainOptions.model_fields}
    if "overrides" in given:
        given["overrides"] = parse_overrides(given["overrides"])
    return TrainOptions(**given)


def run(args: argparse.Namespace) -> int:
    from rllib_safe.runs.service import UsageError, train

    try:
        options = options_from_args(args)  # pydantic's ValidationError is a ValueError
    except ValueError as err:
        return usage_error("train", err)
    try:
        summary = train(options)
    except UsageError as err:
        return usage_error("train", err)
    except KeyboardInterrupt:  # before the first iteration: nothing to checkpoint yet
        print("rllib-safe train: interrupted before training started; nothing was saved", file=sys.stderr)
        return 130
    return 130 if summary["status"] == "interrupted" else 0
