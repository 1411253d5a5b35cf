"""`rllib-safe train`: train one algorithm on one env into a run directory."""

from __future__ import annotations

import argparse
import sys

from rllib_safe.cli.errors import usage_error
from rllib_safe.runs.options import TrainOptions, parse_overrides


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train an algorithm (progress per iteration, checkpoints, results.jsonl, TensorBoard)",
        description="Train on a local embedded Ray instance, or on the cluster named by --address / "
        "RAY_ADDRESS. Writes config.json, results.jsonl, tensorboard/, checkpoints/ and summary.json "
        "into the run directory.",
    )
    parser.add_argument("--algo", help="ppo, ppo-lag, crpo, pcrpo, smpo (default ppo)")
    parser.add_argument("--env", help="env id (default SafetyPointGoal1-v0)")
    parser.add_argument("--cost-limit", type=float,
                        help="episode cost budget d (default: the algorithm config's, docs/algorithms.md)")
    parser.add_argument("--timesteps", type=int, help="total env steps (default 200000)")
    parser.add_argument("--seed", type=int, help="random seed (default 0)")
    parser.add_argument("--run-dir", help="run directory (default runs/<algo>-<env>-seed<seed>-<time>)")
    parser.add_argument("--address", help="Ray cluster address ('auto' for a running one)")
    parser.add_argument("--dashboard", action="store_true", default=None,
                        help="serve the Ray dashboard of the local Ray instance on 127.0.0.1 and print its URL")
    parser.add_argument("--verbose", action="store_true", default=None,
                        help="show Ray's and RLlib's own log lines and warnings too")
    parser.add_argument("--num-env-runners", type=int)
    parser.add_argument("--num-envs-per-env-runner", type=int)
    parser.add_argument("--num-learners", type=int)
    parser.add_argument("--num-gpus-per-learner", type=float)
    parser.add_argument("--allow-gpu-fallback", action="store_true", default=None,
                        help="train the learners on CPU when the requested GPUs are missing")
    cluster = parser.add_argument_group("cluster placement (cluster/README.md)")
    cluster.add_argument("--cluster-placement", action="store_true", default=None,
                         help="EnvRunners only on 'rollout' nodes, GPU learners only on 'learner_gpu' nodes")
    cluster.add_argument("--rollouts-on-gpu-nodes", action="store_true", default=None,
                         help="with --cluster-placement: let EnvRunners use GPU nodes' CPUs too")
    parser.add_argument("--checkpoint-every", type=int,
                        help="iterations between checkpoints (default 10; 0: at the end only; "
                        "--resume keeps the run's own)")
    parser.add_argument("--resume", help="run directory or checkpoint to continue from, up to --timesteps")
    parser.add_argument("--preset", help="named training settings, e.g. omnisafe (OmniSafe's on-policy "
                        "schedule, rllib_safe/algorithms/presets.py); flags and --set override it")
    parser.add_argument("--set", dest="overrides", action="append", metavar="KEY=VALUE",
                        help="any config setting (training, env_runners, learners, resources ...: "
                        "lr, num_epochs, num_env_runners), value parsed as YAML (repeatable)")
    pcrpo = parser.add_argument_group("PCRPO")
    pcrpo.add_argument("--slack-upper", type=float)
    pcrpo.add_argument("--slack-lower", type=float)
    pcrpo.add_argument("--conflict-angle", type=float, help="degrees")
    pcrpo.add_argument("--reward-weight", type=float)
    pcrpo.add_argument("--actor-step", "--update", dest="actor_step",
                       help="PCRPO and CRPO: trust_region or first_order (default: the config's, trust_region)")
    parser.add_argument_group("SMPO").add_argument("--modulation-base", type=float)
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
