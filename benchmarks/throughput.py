"""End-to-end training throughput (sampling + learning) per algorithm, env and parallelism setting.

For each env, the raw random-action step rate (``benchmarks/env_speed.py``, resets counted) is
measured in the same run, right before and right after each training run (the mean of the two,
both listed: the machine's speed drifts); each training result reports env steps/s over the timed iterations
(after one warm-up iteration), its ratio to the raw rate, and where each second goes
(``result["timers"]``: sampling, learner update, weight sync, the rest), the SGD steps and epochs
each update ran and the learner's milliseconds per SGD step, and the sampling rate per EnvRunner
(steps per second of sampling time, divided by the EnvRunners; ``sampling_ratio_to_raw``), and,
with several EnvRunners, the same against the raw rate per process of as many processes stepping
the env at once (``sampling_ratio_to_concurrent_raw``: the ceiling when every EnvRunner has a core
but the cores share the machine). One JSON line per result.

    python benchmarks/throughput.py [--algos ppo ppo-lag] [--envs SafetyPointGoal1-v0]
        [--settings 0x1 1x4 2x4] [--iterations 2] [--omnisafe] [--learner-loops fast rllib] [--num-cpus 2]

Settings are ``RUNNERSxENVS``: ``num_env_runners`` x ``num_envs_per_env_runner``. ``--omnisafe``
also runs every setting with OmniSafe's on-policy hyperparameters (``PRESETS["omnisafe"]``:
steps_per_epoch 20000, update_iters 40, batch_size 64, target_kl 0.02): the comparison with
OmniSafe at identical hyperparameters. ``--learner-loops`` picks the learner's update loop: the
fast path (default) and/or RLlib's own loop (``fast_update=False``, which has no target-KL stop:
those rows run every epoch).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from env_runner_rate import vector_step_us  # noqa: E402
from env_speed import steps_per_second  # noqa: E402

from rllib_safe.algorithms import ALGORITHMS  # noqa: E402
from rllib_safe.algorithms.presets import PRESETS  # noqa: E402
from rllib_safe.envs import make_env  # noqa: E402
from rllib_safe.metrics import (  # noqa: E402
    ALL_MODULES,
    EPOCHS_RUN,
    ITERATION_STEPS_KEY,
    LEARNER_UPDATE_TIMER,
    LEARNERS,
    NUM_MODULE_STEPS_TRAINED,
    SAMPLING_STEP_TIMER_KEYS,
    SAMPLING_TIMER,
    TIME_THIS_ITER_S,
    TIMERS,
    WEIGHT_SYNC_TIMER,
    lookup,
)
from rllib_safe.runs.config import build_config  # noqa: E402

DEFAULT_ENVS = ["SafetyHopperVelocity-v1", "SafetyPointGoal1-v0"]
DEFAULT_SETTINGS = ["0x1", "1x4", "2x4"]
#: OmniSafe's on-policy defaults (configs/on-policy/*.yaml): 20000 steps per epoch, 40 update
#: iterations over minibatches of 64 steps, target-KL early stop at 0.02.
OMNISAFE = PRESETS["omnisafe"]
#: ``--learner-loops`` names: the learner's update loop, as training settings.
LEARNER_LOOPS = {"fast": {"fast_update": True}, "rllib": {"fast_update": False, "target_kl": None}}
TIMED_PHASES = {"sampling": SAMPLING_TIMER, "learner_update": LEARNER_UPDATE_TIMER, "weight_sync": WEIGHT_SYNC_TIMER}
#: ``MetricsLogger.log_time`` reduces timers with an EMA of this coefficient across iterations.
TIMER_EMA_COEFF = 0.01


def parse_setting(text: str) -> tuple[int, int]:
    runners, _, envs = text.partition("x")
    if not (runners.isdigit() and envs.isdigit() and int(envs) >= 1):
        raise argparse.ArgumentTypeError(f"setting {text!r} is invalid: use RUNNERSxENVS, e.g. 2x4")
    return int(runners), int(envs)


def raw_env_rate(env_id: str, steps: int) -> float:
    env = make_env(env_id)
    try:
        return steps_per_second(env, steps, count_resets=True)
    finally:
        env.close()


def _raw_rate_in_process(env_id: str, steps: int, start, rates) -> None:
    env = make_env(env_id)
    start.wait()
    rates.put(steps_per_second(env, steps, count_resets=True))
    env.close()


def concurrent_raw_env_rate(env_id: str, steps: int, processes: int) -> float:
    """Mean raw rate per process with ``processes`` processes stepping at the same time.

    The ceiling for an EnvRunner when that many EnvRunners sample at once: on a machine whose
    cores share caches, memory bandwidth or a host, one process per core steps slower than a
    process alone (``raw_env_rate``).
    """
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    start, rates = context.Barrier(processes), context.Queue()
    workers = [
        context.Process(target=_raw_rate_in_process, args=(env_id, steps, start, rates)) for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    measured = [rates.get() for _ in workers]
    for worker in workers:
        worker.join()
    return sum(measured) / processes


def per_iteration(ema_values: list[float], coeff: float = TIMER_EMA_COEFF) -> list[float]:
    """Undoes RLlib's timer EMA (e_t = a x_t + (1 - a) e_{t-1}): the x_t of each iteration after the first."""
    return [(now - (1.0 - coeff) * before) / coeff for before, now in zip(ema_values, ema_values[1:])]


def time_breakdown(results: list[dict]) -> dict:
    """Mean seconds per timed iteration spent sampling, updating, syncing weights, and the rest.

    ``results`` starts with the warm-up iteration, whose timers only seed the EMA.
    """
    seconds = {
        name: sum(per_iteration([lookup(r, (TIMERS, key), 0.0) for r in results])) / (len(results) - 1)
        for name, key in TIMED_PHASES.items()
    }
    total = sum(r[TIME_THIS_ITER_S] for r in results[1:]) / (len(results) - 1)
    seconds["other"] = max(0.0, total - sum(seconds.values()))
    return {name: round(value, 3) for name, value in seconds.items()} | {"iteration": round(total, 3)}


def sgd_work(results: list[dict], config) -> dict:
    """Mean SGD steps and epochs per timed update, from the learner results (``results`` as above).

    Each learner takes the same number of steps; ``num_module_steps_trained`` adds up their rows.
    ``epochs_run`` is logged by the fast path only (RLlib's loop runs every epoch).
    """
    timed = [r[LEARNERS][ALL_MODULES] for r in results[1:]]
    rows_per_step = config.minibatch_size * max(1, config.num_learners)
    steps = sum(learner[NUM_MODULE_STEPS_TRAINED] for learner in timed) / len(timed) / rows_per_step
    epochs = sum(learner.get(EPOCHS_RUN, config.num_epochs) for learner in timed) / len(timed)
    return {"sgd_steps_per_iteration": round(steps, 1), EPOCHS_RUN: round(epochs, 2)}


def vector_step_breakdown(result: dict, sampling_s: float, steps: float, runners: int, envs: int) -> dict:
    """Microseconds per vector step of one EnvRunner: RLlib's EnvRunner timers (env step, the two
    connector pipelines, the forward pass) and the rest of the sampling time (episode bookkeeping,
    callbacks, metrics, the remote call and returning the episodes)."""
    seconds_per_vector_step = sampling_s / (steps / max(1, runners) / envs)
    timers = {name: lookup(result, key, 0.0) for name, key in SAMPLING_STEP_TIMER_KEYS.items()}
    parts = vector_step_us(timers, seconds_per_vector_step)
    return {name: round(value, 1) for name, value in parts.items()} | {"total": round(1e6 * seconds_per_vector_step, 1)}


def measure(algo: str, env_id: str, runners: int, envs: int, iterations: int, training: dict) -> dict:
    """Env steps/s of ``iterations`` timed iterations after one warm-up iteration."""
    settings = {"num_env_runners": runners, "num_envs_per_env_runner": envs, **training}
    config = build_config(algo, env_id, settings, seed=0)
    start = time.perf_counter()
    algorithm = config.build_algo()
    build_s = time.perf_counter() - start
    try:
        # The first iteration warms up (first episodes, lazy initialisation) and is not timed.
        results = [algorithm.train() for _ in range(iterations + 1)]
    finally:
        algorithm.stop()
    steps = sum(lookup(r, ITERATION_STEPS_KEY) for r in results[1:])
    seconds = sum(r[TIME_THIS_ITER_S] for r in results[1:])
    breakdown, work = time_breakdown(results), sgd_work(results, config)
    return {
        "algo": algo,
        "env_id": env_id,
        "num_env_runners": runners,
        "num_envs_per_env_runner": envs,
        "train_batch_size_per_learner": config.train_batch_size_per_learner,
        "minibatch_size": config.minibatch_size,
        "num_epochs": config.num_epochs,
        "target_kl": config.target_kl,
        "learner_loop": "fast" if config.fast_update else "rllib",
        "timed_iterations": iterations,
        "build_s": round(build_s, 2),
        "train_steps_per_s": round(steps / seconds, 1),
        # Sampling alone, per EnvRunner (the local one with 0 runners): env steps per second of
        # sampling time, the rate each EnvRunner core reaches (issue 11 compares it with raw).
        "sampling_steps_per_s_per_env_runner": round(
            steps / iterations / max(breakdown["sampling"], 1e-9) / max(1, runners), 1
        ),
        "seconds_per_iteration": breakdown,
        "sampling_us_per_vector_step": vector_step_breakdown(
            results[-1], breakdown["sampling"], steps / iterations, runners, envs
        ),
        **work,
        "learner_ms_per_sgd_step": round(1000.0 * breakdown["learner_update"] / work["sgd_steps_per_iteration"], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algos", nargs="+", default=sorted(ALGORITHMS), choices=sorted(ALGORITHMS))
    parser.add_argument("--envs", nargs="+", default=DEFAULT_ENVS)
    parser.add_argument(
        "--settings", nargs="+", type=parse_setting, default=[parse_setting(text) for text in DEFAULT_SETTINGS]
    )
    parser.add_argument("--iterations", type=int, default=2, help="timed iterations after one warm-up")
    parser.add_argument("--omnisafe", action="store_true", help="also run each setting with OmniSafe's hyperparameters")
    parser.add_argument(
        "--learner-loops",
        nargs="+",
        default=["fast"],
        choices=sorted(LEARNER_LOOPS),
        help="the learner's update loop(s): our fast path, RLlib's own loop",
    )
    parser.add_argument("--raw-steps", type=int, default=10000, help="steps of the raw env measurement")
    parser.add_argument("--num-cpus", type=int, default=os.cpu_count(), help="CPUs given to Ray")
    parser.add_argument(
        "--torch-threads",
        type=int,
        default=1,
        help="torch threads of the driver (local EnvRunner, local learner) and of Ray's workers",
    )
    args = parser.parse_args()

    import ray
    import torch

    torch.set_num_threads(args.torch_threads)
    os.environ["OMP_NUM_THREADS"] = str(args.torch_threads)  # inherited by Ray's workers
    ray.init(num_cpus=args.num_cpus, include_dashboard=False, log_to_driver=False)
    presets = [("default", {})] + ([("omnisafe", OMNISAFE)] if args.omnisafe else [])
    runs = [
        (runners, envs, setting, training | LEARNER_LOOPS[loop])
        for setting, training in presets
        for loop in args.learner_loops
        for runners, envs in args.settings
    ]
    try:
        for env_id in args.envs:
            raw = raw_env_rate(env_id, args.raw_steps)
            concurrent = {
                runners: concurrent_raw_env_rate(env_id, args.raw_steps, runners)
                for runners in sorted({runners for runners, *_ in runs if runners > 1})
            }
            print(
                json.dumps(
                    {
                        "env_id": env_id,
                        "raw_env_steps_per_s": round(raw, 1),
                        "raw_env_steps_per_s_per_process_concurrent": {n: round(r, 1) for n, r in concurrent.items()},
                    }
                ),
                flush=True,
            )
            raw_before = raw
            for algo in args.algos:
                for runners, envs, setting, training in runs:
                    row = measure(algo, env_id, runners, envs, args.iterations, training)
                    # The raw rate right before and right after the run: the machine's speed drifts.
                    raw_after = raw_env_rate(env_id, args.raw_steps)
                    raw = (raw_before + raw_after) / 2
                    row["raw_env_steps_per_s"] = round(raw, 1)
                    row["raw_env_steps_per_s_before_after"] = [round(raw_before, 1), round(raw_after, 1)]
                    raw_before = raw_after
                    row["ratio_to_raw"] = round(row["train_steps_per_s"] / raw, 3)
                    row["sampling_ratio_to_raw"] = round(row["sampling_steps_per_s_per_env_runner"] / raw, 3)
                    if runners in concurrent:  # against the raw rate with as many processes stepping at once
                        row["raw_env_steps_per_s_concurrent"] = round(concurrent[runners], 1)
                        row["sampling_ratio_to_concurrent_raw"] = round(
                            row["sampling_steps_per_s_per_env_runner"] / concurrent[runners], 3
                        )
                    row["setting"] = setting
                    print(json.dumps(row), flush=True)
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
