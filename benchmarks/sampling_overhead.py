"""Where a training run's sampling time goes beyond the EnvRunners' own ``sample()`` calls.

    python -m benchmarks.sampling_overhead [--algo ppo-lag] [--env SafetyHopperVelocity-v1]
        [--settings 2x8] [--iterations 10] [--num-cpus 2] [--out FILE]

RLlib's synchronous sampling asks every EnvRunner for its share of the batch at once and waits
for all of them. Per training iteration this times, on each EnvRunner, its ``sample()`` call
and its ``get_metrics()`` call, and on the driver the whole remote call, and splits the
driver's sampling time into three parts:

* ``sampling``: the mean EnvRunner's ``sample()`` (stepping the envs, connectors, forward pass);
* ``waiting_for_slowest``: how much longer the slowest EnvRunner's ``sample()`` + ``get_metrics()``
  took than the mean one's (the others idle meanwhile);
* ``transfer``: the rest of the driver's call (episodes and metrics serialised, sent and
  deserialised, Ray's call overhead).

Each EnvRunner's rate inside ``sample()`` is its env steps over its own ``sample()`` time. The
first iteration warms up and is not reported. One JSON line per setting (medians over the
timed iterations, and the per-iteration values).
"""

from __future__ import annotations

import statistics
import time

from benchmarks import record
from rllib_safe.algorithms.safe_ppo import safe_ppo
from rllib_safe.runs.config import build_config


def timed_sample(env_runner) -> tuple[list, dict, dict]:
    """One EnvRunner's episodes and metrics, as RLlib's synchronous sampling asks for them, timed."""
    start = time.perf_counter()
    episodes = env_runner.sample()
    sampled = time.perf_counter()
    metrics = env_runner.get_metrics()
    timings = {
        "sample_s": sampled - start,
        "get_metrics_s": time.perf_counter() - sampled,
        "steps": sum(len(episode) for episode in episodes),
    }
    return episodes, metrics, timings


def split_driver_time(driver_s: float, runners: list[dict]) -> dict[str, float]:
    """The driver's sampling call split into the mean EnvRunner's ``sample()``, the wait for the
    slowest one beyond the mean, and the transfer (the rest), in seconds."""
    busy = [runner["sample_s"] + runner["get_metrics_s"] for runner in runners]
    mean_sample = statistics.mean(runner["sample_s"] for runner in runners)
    mean_busy = statistics.mean(busy)
    return {
        "sampling": mean_sample,
        "get_metrics": mean_busy - mean_sample,
        "waiting_for_slowest": max(busy) - mean_busy,
        "transfer": max(0.0, driver_s - max(busy)),
        "driver": driver_s,
    }


class SamplingRecorder:
    """Stands in for ``safe_ppo.sample_episodes``: samples as it does, and records the timings."""

    def __init__(self) -> None:
        self.iterations: list[dict] = []

    def __call__(self, algorithm):
        start = time.perf_counter()
        results = algorithm.env_runner_group.foreach_env_runner(timed_sample, local_env_runner=False)
        driver_s = time.perf_counter() - start
        runners = [timings for _, _, timings in results]
        self.iterations.append({"driver_s": driver_s, "runners": runners})
        return [episode for episodes, _, _ in results for episode in episodes], [metrics for _, metrics, _ in results]


def summarise(iterations: list[dict]) -> dict:
    """Medians over the iterations of each part (seconds and share of the driver's time), and
    the EnvRunners' rate inside ``sample()``."""
    parts = [split_driver_time(it["driver_s"], it["runners"]) for it in iterations]
    rates = [runner["steps"] / runner["sample_s"] for it in iterations for runner in it["runners"]]
    return {
        "seconds": {name: round(statistics.median(p[name] for p in parts), 4) for name in parts[0]},
        "share_of_driver_time": {
            name: round(statistics.median(p[name] / p["driver"] for p in parts), 3)
            for name in parts[0]
            if name != "driver"
        },
        "env_runner_steps_per_s_in_sample": round(statistics.median(rates), 1),
        "per_iteration": [{name: round(value, 4) for name, value in p.items()} for p in parts],
    }


def main() -> None:
    parser = record.parser(__doc__, torch_threads=None, num_cpus=True)
    parser.add_argument("--algo", default="ppo-lag")
    parser.add_argument("--env", default="SafetyHopperVelocity-v1")
    parser.add_argument("--settings", nargs="+", type=record.parse_setting, default=[record.parse_setting("2x8")],
                        help="RUNNERSxENVS, 1 or more EnvRunners")
    parser.add_argument("--iterations", type=int, default=10, help="timed iterations per setting")
    args = parser.parse_args()
    record.start_ray(args.num_cpus)
    for runners, envs in args.settings:
        if runners < 1:
            parser.error(f"--settings {runners}x{envs}: needs at least 1 remote EnvRunner (the local one is not timed)")
        recorder = SamplingRecorder()
        safe_ppo.sample_episodes = recorder
        settings = {"num_env_runners": runners, "num_envs_per_env_runner": envs}
        algorithm = build_config(args.algo, args.env, settings, seed=0).build_algo()
        try:
            for _ in range(args.iterations + 1):
                algorithm.train()
        finally:
            algorithm.stop()
        row = {"algo": args.algo, "env_id": args.env, "num_env_runners": runners, "num_envs_per_env_runner": envs}
        record.emit(row | {"timed_iterations": args.iterations} | summarise(recorder.iterations[1:]), args.out)


if __name__ == "__main__":
    main()
