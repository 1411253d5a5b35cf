"""Raw random-action env throughput, single process: the ceiling for training throughput.

Prints one JSON line per env: steps/s without resets (pure ``step``) and with resets counted,
and, for navigation tasks, the reset time with and without the skybox texture
(``render_mode="rgb_array"`` compiles it; ``None`` skips it, see ``rllib_safe.envs.skybox``).

    python -m benchmarks.env_speed [--env-ids ID ...] [--steps N] [--resets N] [--out FILE]
"""

from __future__ import annotations

import time

from benchmarks import record
from rllib_safe.envs import make_env

DEFAULT_IDS = [
    "SafetyPointGoal1-v0",
    "SafetyCarGoal1-v0",
    "SafetyHopperVelocity-v1",
    "SafetyWalker2dVelocity-v1",
    "SafetyMujocoHopper-v0",
]


#: Untimed steps before the timed ones (first-call caches, the CPU's clock ramping up).
WARMUP_STEPS = 500


def steps_per_second(env, steps: int, count_resets: bool) -> float:
    """Random-action steps/s after ``WARMUP_STEPS`` untimed ones; with ``count_resets`` the
    episode resets are timed too."""
    env.reset(seed=0)
    env.action_space.seed(0)
    for _ in range(WARMUP_STEPS):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            env.reset()
    elapsed, done = 0.0, 0
    while done < steps:
        start = time.perf_counter()
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        done += 1
        if terminated or truncated:
            reset_start = time.perf_counter()
            env.reset()
            if not count_resets:
                start += time.perf_counter() - reset_start
        elapsed += time.perf_counter() - start
    return done / elapsed


def mean_reset_seconds(env_id: str, resets: int, render_mode: str | None) -> float:
    """Mean time of ``resets`` resets after the first (which builds the world twice)."""
    env = make_env(env_id, render_mode=render_mode)
    env.reset(seed=0)
    start = time.perf_counter()
    for seed in range(1, resets + 1):
        env.reset(seed=seed)
    env.close()
    return (time.perf_counter() - start) / resets


def measure(env_id: str, steps: int, resets: int) -> dict:
    env = make_env(env_id)
    row = {
        "env_id": env_id,
        "steps": steps,
        "steps_per_s_no_resets": round(steps_per_second(env, steps, count_resets=False), 1),
        "steps_per_s_with_resets": round(steps_per_second(env, steps, count_resets=True), 1),
    }
    if hasattr(env.unwrapped, "task"):  # navigation tasks rebuild their world at each reset
        row["reset_s_no_skybox"] = round(mean_reset_seconds(env_id, resets, None), 4)
        row["reset_s_with_skybox"] = round(mean_reset_seconds(env_id, resets, "rgb_array"), 4)
    env.close()
    return row


def main() -> None:
    parser = record.parser(__doc__, torch_threads=None)
    parser.add_argument("--env-ids", nargs="+", default=DEFAULT_IDS)
    parser.add_argument("--steps", type=int, default=5000, help="steps per measurement")
    parser.add_argument("--resets", type=int, default=3, help="resets timed per skybox setting")
    args = parser.parse_args()
    for env_id in args.env_ids:
        record.emit(measure(env_id, args.steps, args.resets), args.out)


if __name__ == "__main__":
    main()
