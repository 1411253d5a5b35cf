"""Trains one OmniSafe 0.5 on-policy algorithm for a fixed budget and prints its throughput as one JSON line.

Runs INSIDE the OmniSafe venv (``benchmarks/omnisafe/setup_venv.sh``), never in ours: OmniSafe needs
gymnasium 0.28. ``benchmarks/compare_omnisafe.py`` calls it; by hand:

    .venv-omnisafe/bin/python benchmarks/omnisafe/run_omnisafe.py --algo PPOLag \\
        --env-id SafetyHopperVelocity-v1 --steps-per-epoch 20000 --epochs 2

The JSON line: env steps/s of the whole ``learn()`` call, and from OmniSafe's progress.csv the mean
seconds per epoch spent in rollout (``Time/Rollout``) and update (``Time/Update``), the update
iterations done (``Train/StopIter``: fewer than ``update_iters`` after a target-KL early stop) and
the milliseconds per SGD step (update seconds / (iterations done x minibatches)). Only the standard
library is imported at module level, so our tests import this file from our venv.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import tempfile
import time
from pathlib import Path
from typing import Any

#: OmniSafe's progress.csv columns read per epoch.
ROLLOUT_S, UPDATE_S, EPOCH_S, STOP_ITER = "Time/Rollout", "Time/Update", "Time/Epoch", "Train/StopIter"


def custom_cfgs(hp: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """OmniSafe's ``custom_cfgs`` for the hyperparameters ``hp``, shaped after the algorithm's ``defaults``.

    ``defaults`` is the algorithm's default config (its configs/on-policy/<ALGO>.yaml): the cost limit
    goes where that algorithm reads it (``lagrange_cfgs`` for Lagrangian methods, ``algo_cfgs`` for
    CRPO, CPO, ...), and the actor's learning rate is left alone where it is None (TRPO-style
    natural-gradient steps have none). ``target_kl=None`` turns the KL early stop off.
    """
    target_kl = hp["target_kl"]
    algo_cfgs = {
        "steps_per_epoch": hp["steps_per_epoch"],
        "update_iters": hp["update_iters"],
        "batch_size": hp["batch_size"],
        "kl_early_stop": target_kl is not None,
    }
    if target_kl is not None:
        algo_cfgs["target_kl"] = target_kl
    if "cost_limit" in defaults["algo_cfgs"]:
        algo_cfgs["cost_limit"] = hp["cost_limit"]
    network = {"hidden_sizes": list(hp["hidden_sizes"]), "activation": hp["activation"]}
    actor = dict(network) if defaults["model_cfgs"]["actor"]["lr"] is None else network | {"lr": hp["lr"]}
    cfgs = {
        "seed": hp["seed"],
        "train_cfgs": {
            "device": "cpu",
            "torch_threads": hp["torch_threads"],
            "vector_env_nums": hp["vector_env_nums"],
            "parallel": 1,
            "total_steps": hp["epochs"] * hp["steps_per_epoch"],
        },
        "algo_cfgs": algo_cfgs,
        "model_cfgs": {"actor": actor, "critic": network | {"lr": hp["lr"]}},
        "logger_cfgs": {"use_wandb": False, "use_tensorboard": False, "log_dir": hp["log_dir"]},
    }
    if "lagrange_cfgs" in defaults:
        cfgs["lagrange_cfgs"] = {"cost_limit": hp["cost_limit"]}
    return cfgs


def read_progress(path: Path) -> list[dict[str, float]]:
    """The rows of OmniSafe's progress.csv, one per epoch, as numbers."""
    with path.open(newline="") as file:
        return [{key: float(value) for key, value in row.items()} for row in csv.DictReader(file)]


def epoch_figures(rows: list[dict[str, float]], steps_per_epoch: int, batch_size: int) -> dict[str, float]:
    """Mean seconds per epoch in rollout, update and in all, update iterations done, and ms per SGD step.

    One update iteration is a pass over the epoch's data in ``ceil(steps_per_epoch / batch_size)``
    minibatches (OmniSafe's DataLoader keeps the last, short one); each minibatch is one SGD step
    of the reward critic, the cost critic and the actor.
    """
    if not rows:
        raise ValueError("progress.csv has no epoch rows: OmniSafe finished no epoch")
    minibatches = math.ceil(steps_per_epoch / batch_size)
    sgd_steps = sum(row[STOP_ITER] for row in rows) * minibatches
    update_s = sum(row[UPDATE_S] for row in rows)
    return {
        "rollout": round(sum(row[ROLLOUT_S] for row in rows) / len(rows), 3),
        "update": round(update_s / len(rows), 3),
        "epoch": round(sum(row[EPOCH_S] for row in rows) / len(rows), 3),
        "update_iters_done": round(sum(row[STOP_ITER] for row in rows) / len(rows), 2),
        "sgd_steps": round(sgd_steps / len(rows), 1),
        "ms_per_sgd_step": round(1000.0 * update_s / sgd_steps, 3),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algo", default="PPOLag", help="OmniSafe's algorithm name (PPOLag, OnCRPO, PPO, ...)")
    parser.add_argument("--env-id", default="SafetyHopperVelocity-v1")
    parser.add_argument("--steps-per-epoch", type=int, default=20000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--update-iters", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--target-kl", type=float, default=0.02, help="KL early stop; a negative value turns it off")
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--hidden-sizes", type=int, nargs="+", default=[64, 64])
    parser.add_argument("--activation", default="tanh")
    parser.add_argument("--cost-limit", type=float, default=25.0)
    parser.add_argument("--torch-threads", type=int, default=1)
    parser.add_argument("--vector-env-nums", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--log-dir", default=None, help="OmniSafe's run directory (default: a temporary one)")
    args = parser.parse_args(argv)
    if args.target_kl < 0:
        args.target_kl = None
    return args


def train(args: argparse.Namespace, log_dir: str) -> dict[str, Any]:
    """Builds and trains the agent; the JSON row of the run."""
    import omnisafe
    from omnisafe.algorithms import ALGORITHM2TYPE
    from omnisafe.utils.config import get_default_kwargs_yaml

    hp = vars(args) | {"log_dir": log_dir}
    defaults = get_default_kwargs_yaml(args.algo, args.env_id, ALGORITHM2TYPE[args.algo]).todict()
    start = time.perf_counter()
    agent = omnisafe.Agent(args.algo, args.env_id, custom_cfgs=custom_cfgs(hp, defaults))
    build_s = time.perf_counter() - start
    start = time.perf_counter()
    agent.learn()
    learn_s = time.perf_counter() - start
    rows = read_progress(Path(agent.agent.logger.log_dir) / "progress.csv")
    return {
        "side": "omnisafe",
        "algo": args.algo,
        "env_id": args.env_id,
        "steps_per_epoch": args.steps_per_epoch,
        "epochs": len(rows),
        "update_iters": args.update_iters,
        "batch_size": args.batch_size,
        "target_kl": args.target_kl,
        "lr": args.lr,
        "hidden_sizes": args.hidden_sizes,
        "activation": args.activation,
        "cost_limit": args.cost_limit,
        "torch_threads": args.torch_threads,
        "vector_env_nums": args.vector_env_nums,
        "build_s": round(build_s, 2),
        "learn_s": round(learn_s, 2),
        "train_steps_per_s": round(len(rows) * args.steps_per_epoch / learn_s, 1),
        "seconds_per_epoch": epoch_figures(rows, args.steps_per_epoch, args.batch_size),
    }


def main() -> None:
    args = parse_args()
    if args.log_dir is not None:
        row = train(args, args.log_dir)
    else:
        with tempfile.TemporaryDirectory(prefix="omnisafe-") as log_dir:
            row = train(args, log_dir)
    print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
