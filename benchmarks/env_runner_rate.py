"""One EnvRunner's sampling rate against the raw env rate, in one process, the two interleaved.

    python -m benchmarks.env_runner_rate [--algo ppo-lag] [--envs SafetyHopperVelocity-v1]
        [--num-envs 1 4 8 16] [--rounds 5] [--steps 8000] [--chunk-steps 2000] [--torch-threads 1] [--out FILE]

What "per EnvRunner core" means with Ray, the driver and the learner left out: a local EnvRunner
(the config's ``env_runner_cls``, ``SafeEnvRunner``, with its connector pipelines, module and
vector env, no Ray) samples ``--steps`` env steps per round, and the raw random-action rate of
the same env (one env, ``benchmarks.env_speed.steps_per_second``, resets counted) is measured over as many
steps in the same process, the two alternating in stretches of ``--chunk-steps`` steps: on a
machine whose speed drifts (shared hosts) they see the same minutes. Each setting reports the
median over rounds of the runner's rate, of the raw rate and of their ratio, and the
microseconds per vector step by RLlib's EnvRunner timers (env step, both connector pipelines,
forward pass) and the rest (episode bookkeeping, callbacks, metrics). One JSON line per setting.
"""

from __future__ import annotations

import statistics
import time

from benchmarks import record
from benchmarks.env_speed import steps_per_second
from rllib_safe.envs import make_env
from rllib_safe.metrics import ENV_RUNNER_STEP_TIMER_KEYS


def vector_step_us(timer_seconds: dict[str, float], seconds_per_vector_step: float) -> dict[str, float]:
    """Microseconds per vector step: RLlib's EnvRunner timers (seconds per call) and the rest
    of the time per vector step (``other``)."""
    parts = {name: 1e6 * seconds for name, seconds in timer_seconds.items()}
    parts["other"] = max(0.0, 1e6 * seconds_per_vector_step - sum(parts.values()))
    return parts


def measure(algo: str, env_id: str, num_envs: int, rounds: int, steps: int, chunk_steps: int) -> dict:
    from ray.rllib.env.single_agent_env_runner import SingleAgentEnvRunner

    from rllib_safe.runs.config import build_config

    config = build_config(algo, env_id, {"num_env_runners": 0, "num_envs_per_env_runner": num_envs}, seed=0)
    runner = (config.env_runner_cls or SingleAgentEnvRunner)(config=config)  # None: RLlib's default
    raw_env = make_env(env_id)
    runner.sample(num_timesteps=steps // 4)  # warm-up: first episodes, lazy initialisation
    runner_rates, raw_rates, breakdowns = [], [], []
    chunks = [chunk_steps] * (steps // chunk_steps) + ([steps % chunk_steps] if steps % chunk_steps else [])
    for _ in range(rounds):
        runner_seconds = raw_seconds = 0.0
        for chunk in chunks:  # the two alternate in short stretches: both see the machine's same minutes
            start = time.perf_counter()
            runner.sample(num_timesteps=chunk)
            runner_seconds += time.perf_counter() - start
            raw_seconds += chunk / steps_per_second(raw_env, chunk, count_resets=True)
        timers = {name: runner.metrics.peek(key, default=0.0) for name, key in ENV_RUNNER_STEP_TIMER_KEYS.items()}
        breakdowns.append(vector_step_us(timers, runner_seconds * num_envs / steps))
        runner_rates.append(steps / runner_seconds)
        raw_rates.append(steps / raw_seconds)
    runner.stop()
    raw_env.close()
    ratios = [r / raw for r, raw in zip(runner_rates, raw_rates)]
    median_breakdown = {name: round(statistics.median(b[name] for b in breakdowns), 1) for name in breakdowns[0]}
    return {
        "algo": algo,
        "env_id": env_id,
        "num_envs_per_env_runner": num_envs,
        "rounds": rounds,
        "steps_per_round": steps,
        "chunk_steps": chunk_steps,
        "runner_steps_per_s": round(statistics.median(runner_rates), 1),
        "runner_steps_per_s_range": [round(min(runner_rates), 1), round(max(runner_rates), 1)],
        "raw_env_steps_per_s": round(statistics.median(raw_rates), 1),
        "ratio_to_raw": round(statistics.median(ratios), 3),
        "ratio_to_raw_range": [round(min(ratios), 3), round(max(ratios), 3)],
        "us_per_vector_step": median_breakdown | {"total": round(sum(median_breakdown.values()), 1)},
    }


def main() -> None:
    parser = record.parser(__doc__)
    parser.add_argument("--algo", default="ppo-lag")
    parser.add_argument("--envs", nargs="+", default=["SafetyHopperVelocity-v1"])
    parser.add_argument("--num-envs", nargs="+", type=int, default=[1, 4, 8, 16])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=8000, help="env steps per round (runner and raw env)")
    parser.add_argument(
        "--chunk-steps", type=int, default=2000, help="runner and raw env alternate in stretches of this many steps"
    )
    args = parser.parse_args()
    record.set_torch_threads(args.torch_threads)
    for env_id in args.envs:
        for num_envs in args.num_envs:
            record.emit(measure(args.algo, env_id, num_envs, args.rounds, args.steps, args.chunk_steps), args.out)


if __name__ == "__main__":
    main()
