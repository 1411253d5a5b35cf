"""Throughput of OmniSafe 0.5 and rllib-safe side by side, at identical hyperparameters, one after the other.

    python -m benchmarks.compare_omnisafe [--algo ppo-lag] [--env SafetyHopperVelocity-v1]
        [--omnisafe-epochs 2] [--iterations 2] [--settings 0x1 2x8] [--tag 2cores] [--smoke]

OmniSafe needs gymnasium 0.28 and cannot share our venv: its own venv (``.venv-omnisafe``) is built
on first use by ``benchmarks/omnisafe/setup_venv.sh``. OmniSafe trains first
(``benchmarks/omnisafe/run_omnisafe.py``, 1 process, 1 env), then ours (``python -m benchmarks.throughput
--omnisafe``, each ``RUNNERSxENVS`` setting), both at OmniSafe's on-policy PPOLag settings
(:data:`HYPERPARAMETERS`) with the same torch thread count. One JSON line per result: OmniSafe's row
(with ``omnisafe_versions``: its venv's packages), our raw-env and training rows as throughput prints
them, and per setting a ratio row (ours / OmniSafe env steps/s, the time split of both, ``mismatched``
hyperparameters if any). Every line carries its provenance (``benchmarks.record``: revision, time,
machine and its load average, versions, command) and is appended to
``benchmarks/results/compare_omnisafe_<tag>.jsonl``. OmniSafe's rate covers its whole run, ours the
timed iterations after one warm-up.

``--smoke`` checks the plumbing in about a minute: OmniSafe 1 epoch of 2000 steps, ours 1 iteration at
our defaults (so ``mismatched`` is not empty), nothing written. It measures nothing.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks import record
from benchmarks.record import REPO, RESULTS

SETUP_VENV = REPO / "benchmarks" / "omnisafe" / "setup_venv.sh"
RUN_OMNISAFE = REPO / "benchmarks" / "omnisafe" / "run_omnisafe.py"
#: Our side: the throughput benchmark, run as a module from the repository root.
THROUGHPUT = "benchmarks.throughput"
#: The OmniSafe venv's packages each OmniSafe row records.
OMNISAFE_PACKAGES = ("omnisafe", "torch", "gymnasium", "safety-gymnasium", "mujoco")
#: Our algorithm names and OmniSafe's.
OMNISAFE_NAMES = {"ppo": "PPO", "ppo-lag": "PPOLag", "crpo": "OnCRPO"}
#: OmniSafe's on-policy PPOLag defaults (configs/on-policy/PPOLag.yaml); also ours under throughput.py --omnisafe
#: (batch, minibatch, epochs) and our defaults (lr, networks, cost limit).
HYPERPARAMETERS = {
    "steps_per_epoch": 20000,
    "batch_size": 64,
    "update_iters": 40,
    "target_kl": 0.02,
    "lr": 3e-4,
    "hidden_sizes": [64, 64],
    "activation": "tanh",
    "cost_limit": 25.0,
}
SMOKE_STEPS_PER_EPOCH = 2000
#: Fields of our throughput.py rows and the OmniSafe row fields they must equal.
OURS_TO_OMNISAFE = {
    "train_batch_size_per_learner": "steps_per_epoch",
    "minibatch_size": "batch_size",
    "num_epochs": "update_iters",
    "target_kl": "target_kl",
}


def omnisafe_argv(python: str, algo: str, env_id: str, epochs: int, torch_threads: int, hp: dict) -> list[str]:
    """The command that trains OmniSafe's ``algo`` for ``epochs`` epochs at hyperparameters ``hp``."""
    return [
        python, str(RUN_OMNISAFE), "--algo", OMNISAFE_NAMES[algo], "--env-id", env_id, "--epochs", str(epochs),
        "--steps-per-epoch", str(hp["steps_per_epoch"]), "--update-iters", str(hp["update_iters"]),
        "--batch-size", str(hp["batch_size"]), "--target-kl", str(hp["target_kl"]), "--lr", str(hp["lr"]),
        "--hidden-sizes", *map(str, hp["hidden_sizes"]), "--activation", hp["activation"],
        "--cost-limit", str(hp["cost_limit"]), "--torch-threads", str(torch_threads), "--vector-env-nums", "1",
    ]


def ours_argv(algo: str, env_id: str, settings: list[str], iterations: int, smoke: bool) -> list[str]:
    """The throughput command for our side: OmniSafe's hyperparameters, or our defaults under ``smoke``."""
    argv = [sys.executable, "-m", THROUGHPUT, "--algos", algo, "--envs", env_id, "--settings", *settings,
            "--iterations", str(iterations)]
    return argv + (["--raw-steps", "500"] if smoke else ["--omnisafe"])


def ensure_venv(venv: Path) -> str:
    """The OmniSafe venv's python, after building the venv if it is missing or unfinished."""
    if not (venv / ".installed").exists():
        print(f"building OmniSafe's venv in {venv} (2-3 minutes)", file=sys.stderr, flush=True)
        subprocess.run(["bash", str(SETUP_VENV), str(venv)], check=True, cwd=REPO)
    return str(venv / "bin" / "python")


def venv_versions(python: str) -> dict[str, str | None]:
    """The versions of :data:`OMNISAFE_PACKAGES` (and python's) in the venv of ``python``."""
    code = (
        "import json, platform, sys\n"
        "from importlib import metadata\n"
        "def version(name):\n"
        "    try:\n"
        "        return metadata.version(name)\n"
        "    except metadata.PackageNotFoundError:\n"
        "        return None\n"
        "print(json.dumps({'python': platform.python_version()} | {name: version(name) for name in sys.argv[1:]}))\n"
    )
    output = subprocess.run([python, "-c", code, *OMNISAFE_PACKAGES], capture_output=True, text=True, check=True)
    return json.loads(output.stdout)


def json_object(line: str) -> dict[str, Any] | None:
    """The JSON object a line holds, or None for any other line."""
    try:
        row = json.loads(line)
    except json.JSONDecodeError:
        return None
    return row if isinstance(row, dict) else None


def run_json_lines(argv: list[str], env: dict[str, str]) -> list[dict[str, Any]]:
    """The JSON-object lines a command prints on stdout; its other lines go to stderr as progress."""
    rows = []
    with subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=env, cwd=REPO) as process:
        for line in process.stdout:
            row = json_object(line)
            if row is None:
                sys.stderr.write(line)
            else:
                rows.append(row)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:2])} failed with exit status {process.returncode}")
    return rows


def mismatches(ours: dict[str, Any], omnisafe: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Hyperparameters where our row differs from OmniSafe's (a field our row lacks counts as None)."""
    return {
        field: {"ours": ours.get(field), "omnisafe": omnisafe[omnisafe_field]}
        for field, omnisafe_field in OURS_TO_OMNISAFE.items()
        if ours.get(field) != omnisafe[omnisafe_field]
    }


def ours_epochs_run(ours: dict[str, Any]) -> float | None:
    """Epochs per update: the row's ``epochs_run``, else every epoch without a target-KL stop, else unknown."""
    if "epochs_run" in ours:
        return ours["epochs_run"]
    return ours["num_epochs"] if ours.get("target_kl") is None else None


def ours_ms_per_sgd_step(ours: dict[str, Any]) -> float | None:
    """Learner milliseconds per minibatch step; None where the epochs run are unknown."""
    epochs = ours_epochs_run(ours)
    if epochs is None:
        return None
    steps = epochs * math.ceil(ours["train_batch_size_per_learner"] / ours["minibatch_size"])
    return round(1000.0 * ours["seconds_per_iteration"]["learner_update"] / steps, 3)


def ratio_row(ours: dict[str, Any], omnisafe: dict[str, Any]) -> dict[str, Any]:
    """Ours against OmniSafe for one of our settings: env steps/s, their ratio, and where the seconds go."""
    seconds = ours["seconds_per_iteration"]
    return {
        "comparison": "rllib-safe/omnisafe",
        "algo": ours["algo"],
        "omnisafe_algo": omnisafe["algo"],
        "env_id": ours["env_id"],
        "setting": f"{ours['num_env_runners']}x{ours['num_envs_per_env_runner']}",
        "ours_steps_per_s": ours["train_steps_per_s"],
        "omnisafe_steps_per_s": omnisafe["train_steps_per_s"],
        "ratio": round(ours["train_steps_per_s"] / omnisafe["train_steps_per_s"], 3),
        "ours_s_per_iteration": {"sampling": seconds["sampling"], "learner_update": seconds["learner_update"]},
        "omnisafe_s_per_epoch": {key: omnisafe["seconds_per_epoch"][key] for key in ("rollout", "update")},
        "ms_per_sgd_step": {"ours": ours_ms_per_sgd_step(ours),
                            "omnisafe": omnisafe["seconds_per_epoch"]["ms_per_sgd_step"]},
        "epochs_run": {"ours": ours_epochs_run(ours), "omnisafe": omnisafe["seconds_per_epoch"]["update_iters_done"]},
        "mismatched": mismatches(ours, omnisafe),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algo", default="ppo-lag", choices=sorted(OMNISAFE_NAMES))
    parser.add_argument("--env", default="SafetyHopperVelocity-v1")
    parser.add_argument("--omnisafe-epochs", type=int, default=2, help="OmniSafe epochs (iterations), all timed")
    parser.add_argument("--iterations", type=int, default=2, help="our timed iterations after one warm-up")
    parser.add_argument("--settings", nargs="+", default=["0x1", "2x8"], help="our RUNNERSxENVS settings")
    parser.add_argument("--torch-threads", type=int, default=1, help="torch threads per process, both sides")
    parser.add_argument("--omnisafe-venv", type=Path, default=REPO / ".venv-omnisafe")
    parser.add_argument("--tag", default=f"{os.cpu_count()}cores", help="results file suffix")
    parser.add_argument("--smoke", action="store_true", help="plumbing check at a tiny budget; writes nothing")
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()
    python = ensure_venv(args.omnisafe_venv)
    hp = HYPERPARAMETERS | ({"steps_per_epoch": SMOKE_STEPS_PER_EPOCH} if args.smoke else {})
    record.set_torch_threads(args.torch_threads)  # this process's, as its provenance says; both sides get OMP's
    env = os.environ | {"OMP_NUM_THREADS": str(args.torch_threads)}
    results = None if args.smoke else RESULTS / f"compare_omnisafe_{args.tag}.jsonl"
    run = {"tag": args.tag, "smoke": args.smoke, "torch_threads": args.torch_threads}

    def emit(row: dict[str, Any]) -> None:
        record.emit(row | run, results)

    epochs = 1 if args.smoke else args.omnisafe_epochs
    (omnisafe,) = run_json_lines(omnisafe_argv(python, args.algo, args.env, epochs, args.torch_threads, hp), env)
    emit(omnisafe | {"omnisafe_versions": venv_versions(python)})
    iterations = 1 if args.smoke else args.iterations
    wanted = "default" if args.smoke else "omnisafe"
    for row in run_json_lines(ours_argv(args.algo, args.env, args.settings, iterations, args.smoke), env):
        emit(row)
        if row.get("setting") == wanted:
            emit(ratio_row(row, omnisafe))


if __name__ == "__main__":
    main()
