"""End-to-end training throughput (sampling + learning) per algorithm, env and parallelism setting.

For each env, the raw random-action step rate (``benchmarks.env_speed``, resets counted) is
measured in the same run, between the training iterations: before the first timed iteration and
after each one, with the training's actors idle (the machine's speed drifts within minutes).
``RawRateProbe`` measures it in one process alone and, for N > 1 EnvRunners, in N processes
stepping at once (the ceiling per EnvRunner when each has a core but the cores share the machine).
Each training result reports env steps/s over the timed iterations (after one warm-up iteration),
its ratio to the raw rate, and where each second goes (``result["timers"]``: sampling, learner
update, weight sync, the rest), the SGD steps and epochs each update ran and the learner's
milliseconds per SGD step, and the sampling rate per EnvRunner (steps per second of sampling time,
divided by the EnvRunners) against the raw rate: per timed iteration, against the raw rates
measured right before and right after it, and their median (``sampling_ratio_to_raw``;
``sampling_ratio_to_concurrent_raw`` against N processes at once). One JSON line per result.

    python -m benchmarks.throughput [--algos ppo ppo-lag] [--envs SafetyPointGoal1-v0]
        [--settings 0x1 1x8 2x8] [--iterations 2] [--omnisafe] [--learner-loops fast rllib] [--num-cpus 2]
        [--torch-threads 1] [--out FILE]

Settings are ``RUNNERSxENVS``: ``num_env_runners`` x ``num_envs_per_env_runner``. ``--omnisafe``
also runs every setting with OmniSafe's on-policy hyperparameters (``PRESETS["omnisafe"]``:
steps_per_epoch 20000, update_iters 40, batch_size 64, target_kl 0.02): the comparison with
OmniSafe at identical hyperparameters. ``--learner-loops`` picks the learner's update loop: the
fast path (default) and/or RLlib's own loop (``fast_update=False``, which has no target-KL stop:
those rows run every epoch).
"""

from __future__ import annotations

import multiprocessing
import queue
import statistics
import time

from benchmarks import record
from benchmarks.env_runner_rate import vector_step_us
from benchmarks.env_speed import steps_per_second
from benchmarks.record import parse_setting
from rllib_safe.algorithms import ALGORITHMS
from rllib_safe.algorithms.presets import PRESETS
from rllib_safe.envs import make_env
from rllib_safe.metrics import (
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
    UPDATE_BATCH_SECONDS,
    UPDATE_SGD_LOOP_SECONDS,
    WEIGHT_SYNC_TIMER,
    lookup,
)
from rllib_safe.runs.config import build_config

DEFAULT_ENVS = ["SafetyHopperVelocity-v1", "SafetyPointGoal1-v0"]
DEFAULT_SETTINGS = ["0x1", "1x8", "2x8"]
#: OmniSafe's on-policy defaults (configs/on-policy/*.yaml): 20000 steps per epoch, 40 update
#: iterations over minibatches of 64 steps, target-KL early stop at 0.02.
OMNISAFE = PRESETS["omnisafe"]
#: ``--learner-loops`` names: the learner's update loop, as training settings.
LEARNER_LOOPS = {"fast": {"fast_update": True}, "rllib": {"fast_update": False, "target_kl": None}}
TIMED_PHASES = {"sampling": SAMPLING_TIMER, "learner_update": LEARNER_UPDATE_TIMER, "weight_sync": WEIGHT_SYNC_TIMER}
#: ``MetricsLogger.log_time`` reduces timers with an EMA of this coefficient across iterations.
TIMER_EMA_COEFF = 0.01


def _step_on_request(env_id: str, start, requests, rates) -> None:
    """A probe process: builds the env, then for each step count requested waits for its peers
    and reports its random-action rate; None ends it."""
    env = make_env(env_id)
    try:
        while (steps := requests.get()) is not None:
            start.wait()
            rates.put(steps_per_second(env, steps, count_resets=True))
    finally:
        env.close()


class RawRateProbe:
    """``processes`` processes that step the env with random actions at the same time, on request.

    They live through the training runs, so the raw rate is measured between iterations with no
    process start in between. With one process it is the env's rate alone; with N, the mean
    rate per process when N step at once: the ceiling for each of N EnvRunners on a machine
    whose cores share caches, memory bandwidth or a host.
    """

    def __init__(self, env_id: str, processes: int):
        context = multiprocessing.get_context("spawn")
        # Held here: the processes receive handles to the barrier's semaphores, which die with it.
        self._start = context.Barrier(processes)
        self._rates = context.Queue()
        self._requests = [context.Queue() for _ in range(processes)]
        self._workers = [
            context.Process(target=_step_on_request, args=(env_id, self._start, requests, self._rates), daemon=True)
            for requests in self._requests
        ]
        for worker in self._workers:
            worker.start()

    def rate(self, steps: int) -> float:
        """Mean env steps/s per process over ``steps`` timed steps each (after the warm-up steps)."""
        for requests in self._requests:
            requests.put(steps)
        rates = []
        while len(rates) < len(self._requests):
            try:
                rates.append(self._rates.get(timeout=5.0))
            except queue.Empty:
                dead = [worker.exitcode for worker in self._workers if not worker.is_alive()]
                if dead:
                    raise RuntimeError(
                        f"a raw-rate probe process exited (exit codes {dead}); see its traceback above"
                    ) from None
        return sum(rates) / len(rates)

    def close(self) -> None:
        for requests in self._requests:
            requests.put(None)
        for worker in self._workers:
            worker.join()


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
    With the fast path, also the mean seconds per update spent building the train batch and in
    the SGD steps, and the milliseconds per SGD step of the loop alone (per-update work left out).
    """
    timed = [r[LEARNERS][ALL_MODULES] for r in results[1:]]
    rows_per_step = config.minibatch_size * max(1, config.num_learners)
    steps = sum(learner[NUM_MODULE_STEPS_TRAINED] for learner in timed) / len(timed) / rows_per_step
    epochs = sum(learner.get(EPOCHS_RUN, config.num_epochs) for learner in timed) / len(timed)
    work = {"sgd_steps_per_iteration": round(steps, 1), EPOCHS_RUN: round(epochs, 2)}
    if all(UPDATE_SGD_LOOP_SECONDS in learner for learner in timed):
        batch_s, loop_s = (
            statistics.mean(learner[name] for learner in timed)
            for name in (UPDATE_BATCH_SECONDS, UPDATE_SGD_LOOP_SECONDS)
        )
        work["learner_seconds_per_update"] = {"batch": round(batch_s, 3), "sgd_loop": round(loop_s, 3)}
        work["learner_ms_per_sgd_step_in_loop"] = round(1000.0 * loop_s / steps, 3)
    return work


def vector_step_breakdown(result: dict, sampling_s: float, steps: float, runners: int, envs: int) -> dict:
    """Microseconds per vector step of one EnvRunner: RLlib's EnvRunner timers (env step, the two
    connector pipelines, the forward pass) and the rest of the sampling time (episode bookkeeping,
    callbacks, metrics, the remote call and returning the episodes)."""
    seconds_per_vector_step = sampling_s / (steps / max(1, runners) / envs)
    timers = {name: lookup(result, key, 0.0) for name, key in SAMPLING_STEP_TIMER_KEYS.items()}
    parts = vector_step_us(timers, seconds_per_vector_step)
    return {name: round(value, 1) for name, value in parts.items()} | {"total": round(1e6 * seconds_per_vector_step, 1)}


def sampling_ratios(
    steps: list[float], sampling_seconds: list[float], runners: int, raw_rates: list[float]
) -> list[float]:
    """Per timed iteration: its sampling env steps/s per EnvRunner over the mean of the raw rates
    measured right before and right after it (``raw_rates`` has one entry more than ``steps``)."""
    return [
        iteration_steps / seconds / max(1, runners) / ((before + after) / 2)
        for iteration_steps, seconds, before, after in zip(steps, sampling_seconds, raw_rates, raw_rates[1:])
    ]


def measure(
    algo: str,
    env_id: str,
    runners: int,
    envs: int,
    iterations: int,
    training: dict,
    probes: dict[str, RawRateProbe],
    raw_steps: int,
) -> dict:
    """Env steps/s of ``iterations`` timed iterations after one warm-up iteration, and the raw
    rate of every probe (``alone``, ``concurrent``) before the first and after each timed one."""
    settings = {"num_env_runners": runners, "num_envs_per_env_runner": envs, **training}
    config = build_config(algo, env_id, settings, seed=0)
    start = time.perf_counter()
    algorithm = config.build_algo()
    build_s = time.perf_counter() - start
    try:
        # The first iteration warms up (first episodes, lazy initialisation) and is not timed.
        results = [algorithm.train()]
        raw = {name: [probe.rate(raw_steps)] for name, probe in probes.items()}
        for _ in range(iterations):
            results.append(algorithm.train())
            for name, probe in probes.items():
                raw[name].append(probe.rate(raw_steps))
    finally:
        algorithm.stop()
    steps = [lookup(r, ITERATION_STEPS_KEY) for r in results[1:]]
    seconds = sum(r[TIME_THIS_ITER_S] for r in results[1:])
    sampling_seconds = per_iteration([lookup(r, (TIMERS, SAMPLING_TIMER), 0.0) for r in results])
    breakdown, work = time_breakdown(results), sgd_work(results, config)
    train_steps_per_s = sum(steps) / seconds
    raw_alone = statistics.mean(raw["alone"])
    row = {
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
        "train_steps_per_s": round(train_steps_per_s, 1),
        # Sampling alone, per EnvRunner (the local one with 0 runners): env steps per second of
        # sampling time, the rate each EnvRunner core reaches (issue 11 compares it with raw).
        "sampling_steps_per_s_per_env_runner": round(sum(steps) / sum(sampling_seconds) / max(1, runners), 1),
        "seconds_per_iteration": breakdown,
        "sampling_us_per_vector_step": vector_step_breakdown(
            results[-1], breakdown["sampling"], sum(steps) / iterations, runners, envs
        ),
        **work,
        "learner_ms_per_sgd_step": round(1000.0 * breakdown["learner_update"] / work["sgd_steps_per_iteration"], 3),
        "raw_env_steps_per_s": round(raw_alone, 1),
        "ratio_to_raw": round(train_steps_per_s / raw_alone, 3),
    }
    for name, field in (("alone", "sampling_ratio_to_raw"), ("concurrent", "sampling_ratio_to_concurrent_raw")):
        if name not in raw:
            continue
        ratios = sampling_ratios(steps, sampling_seconds, runners, raw[name])
        row[field] = round(statistics.median(ratios), 3)
        row[f"{field}_per_iteration"] = [round(ratio, 3) for ratio in ratios]
        rates = "raw_env_steps_per_s" + ("" if name == "alone" else "_concurrent")
        row[f"{rates}_between_iterations"] = [round(rate, 1) for rate in raw[name]]
    return row


def main() -> None:
    parser = record.parser(__doc__, num_cpus=True)
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
    parser.add_argument(
        "--raw-steps", type=int, default=4000, help="timed steps per process of each raw env measurement"
    )
    args = parser.parse_args()

    import ray

    # The driver's threads (local EnvRunner, local learner); Ray's workers inherit OMP_NUM_THREADS.
    record.set_torch_threads(args.torch_threads)
    record.start_ray(args.num_cpus, log_to_driver=False)
    presets = [("default", {})] + ([("omnisafe", OMNISAFE)] if args.omnisafe else [])
    runs = [
        (runners, envs, setting, training | LEARNER_LOOPS[loop])
        for setting, training in presets
        for loop in args.learner_loops
        for runners, envs in args.settings
    ]
    try:
        for env_id in args.envs:
            # Started once per env; they wait for requests between the training iterations.
            alone = RawRateProbe(env_id, 1)
            concurrent = {n: RawRateProbe(env_id, n) for n in sorted({runners for runners, *_ in runs if runners > 1})}
            try:
                for algo in args.algos:
                    for runners, envs, setting, training in runs:
                        probes = {"alone": alone} | ({"concurrent": concurrent[runners]} if runners > 1 else {})
                        row = measure(algo, env_id, runners, envs, args.iterations, training, probes, args.raw_steps)
                        row["setting"] = setting
                        record.emit(row, args.out)
            finally:
                for probe in [alone, *concurrent.values()]:
                    probe.close()
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
