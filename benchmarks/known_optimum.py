"""An algorithm on TradeOffEnv, whose constrained optimum is known: final return and J_c per regime.

TradeOffEnv (``rllib_safe.envs.known_optimum``): 10-step episodes, reward u1 + 0.5 u2, cost u1;
with d = 4 the optimum is return 9 at cost 4. Regimes: ``default``; ``zero_reward_cost`` (the
costly effort earns nothing: optimum 5 at cost 0); ``signed`` (every reward minus 1: the same
policy, optimum -1); ``units100`` (costs and d times 100: optimum 9 at cost 400). Settings are the
learning tests' small-problem ones (``SMALL_PROBLEM_TRAINING``): 4 envs sampled locally, 1,600
env steps per iteration, minibatches of 400, 5 epochs, lr 1e-3, no observation normalisation;
SMPO's d' anneals over 16,000 env steps (10 iterations). One JSON line per run, with the return,
J_c and the algorithm's diagnostics after every 10th and the last iteration, and the optimum.

    python -m benchmarks.known_optimum --algo smpo --regime default signed --variant normalized
    python -m benchmarks.known_optimum --algo ppo-lag --variant lagrangian_fast --iterations 100
"""

from __future__ import annotations

import sys
from typing import Any

from benchmarks.record import emit, finite_or_none, parser, set_torch_threads, start_ray

#: env_config and d of each regime.
REGIMES: dict[str, tuple[dict[str, Any], float]] = {
    "default": ({}, 4.0),
    "zero_reward_cost": ({"costly_reward": 0.0}, 4.0),
    "signed": ({"reward_offset": -1.0}, 4.0),
    "units100": ({"cost_scale": 100.0}, 400.0),
}
#: Named training settings beside the algorithm's defaults ("defaults": none).
VARIANTS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "normalized": {"modulation_units": "normalized"},
    "normalized_shift": {"modulation_units": "normalized", "reward_shift": "episode_minimum"},
    "no_term_through_qc": {"critic_gradient_coeff": 0.0},
    # A sharper curve: f stays near 1 until about 1 cost unit before d' (docs/algorithms.md 3c).
    "base30": {"modulation_base": 30.0},
    # Q^c's target stops at every episode end (the paper's (1 - done)): C_t + Q^c is the episode's cost.
    "qc_episode_end": {"qc_bootstrap_time_limit": False},
    "qc_episode_end_shift": {"qc_bootstrap_time_limit": False, "reward_shift": "episode_minimum"},
    "lagrangian_fast": {"lagrangian_multiplier_init": 0.1, "lagrangian_multiplier_lr": 0.1},
}
HORIZON = 10
ITERATIONS = 30


def config_for(algo: str, regime: str, variant: str, seed: int):
    from rllib_safe.algorithms import default_config
    from rllib_safe.envs import register_envs
    from rllib_safe.envs.known_optimum import SMALL_PROBLEM_TRAINING

    register_envs()
    env_config, limit = REGIMES[regime]
    settings = dict(SMALL_PROBLEM_TRAINING) | ({"threshold_anneal_env_steps": 16_000} if algo == "smpo" else {})
    return (
        default_config(algo)
        .environment("TradeOffEnv", env_config={"horizon": HORIZON, **env_config})
        .env_runners(num_env_runners=0, num_envs_per_env_runner=4)
        .training(cost_limit=limit, **settings, **VARIANTS[variant])
        .debugging(seed=seed)
    )


def rounded(value) -> float | None:
    """Three decimals, or None where RLlib reported nothing finite."""
    value = finite_or_none(value)
    return None if value is None else round(value, 3)


def measured(result: dict) -> dict[str, float | None]:
    """Return and J_c, and the diagnostics the algorithm logged (``rllib_safe.metrics.DIAGNOSTIC_KEYS``)."""
    from rllib_safe.metrics import DIAGNOSTIC_KEYS, lookup

    runners = result["env_runners"]
    figures = {"return": rounded(runners.get("episode_return_window_mean")),
               "cost": rounded(runners.get("episode_cost_mean"))}
    diagnostics = {name: rounded(lookup(result, key, None)) for name, key in DIAGNOSTIC_KEYS.items()}
    return figures | {name: value for name, value in diagnostics.items() if value is not None}


def run(algo: str, regime: str, variant: str, seed: int, iterations: int = ITERATIONS) -> dict:
    from rllib_safe.envs.known_optimum import SMALL_PROBLEM_TRAINING, TradeOffEnv, constrained_optimum_return

    env_config, limit = REGIMES[regime]
    algo_instance = config_for(algo, regime, variant, seed).build_algo()
    checkpoints = {}
    try:
        for iteration in range(1, iterations + 1):
            result = algo_instance.train()
            if iteration % 10 == 0 or iteration == iterations:
                checkpoints[iteration] = measured(result)
    finally:
        algo_instance.stop()
    final = checkpoints[iterations]
    return {
        "benchmark": "known_optimum", "env": "TradeOffEnv", "algo": algo, "variant": variant, "regime": regime,
        "settings": VARIANTS[variant], "seed": seed, "cost_limit": limit, "iterations": iterations,
        "env_steps": iterations * SMALL_PROBLEM_TRAINING["train_batch_size_per_learner"],
        "optimum_return": constrained_optimum_return(TradeOffEnv({"horizon": HORIZON, **env_config}), limit),
        "final_return": final["return"], "final_cost": final["cost"],
        "at_iteration": {str(k): v for k, v in checkpoints.items()},
    }


def main(argv: list[str] | None = None) -> int:
    args_parser = parser(__doc__, num_cpus=True)
    args_parser.add_argument("--algo", default="smpo", help="an rllib-safe algorithm (default smpo)")
    args_parser.add_argument("--variant", nargs="+", default=["defaults"], choices=sorted(VARIANTS))
    args_parser.add_argument("--regime", nargs="+", default=sorted(REGIMES), choices=sorted(REGIMES))
    args_parser.add_argument("--seed", type=int, nargs="+", default=[0])
    args_parser.add_argument("--iterations", type=int, default=ITERATIONS,
                             help=f"training iterations of 1,600 env steps per run (default {ITERATIONS})")
    args = args_parser.parse_args(argv)
    set_torch_threads(args.torch_threads)
    start_ray(min(args.num_cpus, 2), log_to_driver=False)
    for variant in args.variant:
        for regime in args.regime:
            for seed in args.seed:
                emit(run(args.algo, regime, variant, seed, args.iterations), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
