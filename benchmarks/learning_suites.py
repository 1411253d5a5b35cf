"""The learning benchmark's suites as data: which runs, at which budget, with which settings.

A run is one algorithm on one task with one seed for a fixed number of env steps. Settings
not named here are the algorithm's own defaults (``rllib_safe.algorithms.default_config``);
``settings`` are ``TrainOptions`` fields (``slack_upper``, ``num_env_runners``, ``overrides``, ...).
Also here: OmniSafe's published numbers for the same tasks (docs/algorithms.md, section 5).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
COST_LIMIT = 25.0
#: PCRPO's slacks on Hopper: the authors' setting (docs/algorithms.md section 2).
HOPPER_PCRPO_SLACKS = {"slack_upper": 9.0, "slack_lower": -9.0}


#: What identifies a run in the results file: a changed budget or setting is a different run.
RUN_KEY_FIELDS = ("task", "algo", "seed", "timesteps", "cost_limit", "settings")


def run_key(fields: dict[str, Any]) -> str:
    """The identity of a run (a ``RunSpec``'s fields or a results-file line)."""
    return json.dumps([fields[name] for name in RUN_KEY_FIELDS], sort_keys=True)


def run_label(algo: str, variant: str = "") -> str:
    """How a run's algorithm is shown: with its variant where it has one, ``smpo (normalized)``."""
    return f"{algo} ({variant})" if variant else algo


@dataclass(frozen=True)
class RunSpec:
    """One run of a suite: what is trained, for how long, with what settings differing from the defaults."""

    task: str
    algo: str
    seed: int
    timesteps: int
    cost_limit: float = COST_LIMIT
    settings: dict[str, Any] = field(default_factory=dict)
    tier: str = "minimum"
    #: Names runs of one algorithm that differ in their settings (their directory); not part of the key.
    variant: str = ""

    def key(self) -> str:
        return run_key(vars(self))

    def label(self) -> str:
        return run_label(self.algo, self.variant)

    def name(self) -> str:
        return f"{self.label()} on {self.task}, seed {self.seed}"

    def relative_dir(self) -> Path:
        algo_dir = f"{self.algo}-{self.variant}" if self.variant else self.algo
        return Path(self.task) / algo_dir / f"seed{self.seed}"


@dataclass(frozen=True)
class Suite:
    """Named list of runs; ``results_dir`` holds its JSONL, table and figures."""

    name: str
    runs: tuple[RunSpec, ...]
    results_dir: Path
    checkpoint_every: int

    def results_file(self, out: Path | None = None) -> Path:
        return (out or self.results_dir) / f"learning_{self.name}.jsonl"

    def tasks(self) -> list[str]:
        return list(dict.fromkeys(run.task for run in self.runs))

    def algos(self) -> list[str]:
        return list(dict.fromkeys(run.algo for run in self.runs))


def grid(task: str, algos: list[str], seeds: int, timesteps: int, *, tier: str = "minimum",
         settings: dict[str, dict[str, Any]] | None = None) -> list[RunSpec]:
    """Every algorithm x seeds 0..seeds-1 on one task; ``settings[algo]`` for the algorithms that need any."""
    settings = settings or {}
    return [
        RunSpec(task, algo, seed, timesteps, settings=dict(settings.get(algo, {})), tier=tier)
        for algo in algos
        for seed in range(seeds)
    ]


def interleaved(runs: list[RunSpec]) -> tuple[RunSpec, ...]:
    """Minimum tier first, then seed by seed: a partial suite has every algorithm's first seeds."""
    tiers = list(dict.fromkeys(run.tier for run in runs))
    return tuple(sorted(runs, key=lambda run: (tiers.index(run.tier), run.seed)))


#: SMPO's defaults of 2026-12-07 before and after issue 24 item 6 changed two of them, written out
#: so that a later change of the defaults does not change what a suite measures.
SMPO_BASELINE = {"negative_reward_modulation": "penalise", "min_weight": -1.0, "modulation_units": "absolute"}
SMPO_EPISODE_END_SHIFT = {"overrides": SMPO_BASELINE | {
    "qc_bootstrap_time_limit": False, "reward_shift": "episode_minimum", "threshold_anneal_env_steps": 1_000_000,
}}


STANDARD = Suite(
    name="standard",
    runs=interleaved([
        *grid("SafetyPointCircle1-v0", ["ppo", "ppo-lag", "crpo", "pcrpo", "smpo"], 3, 300_000),
        *grid("SafetyHopperVelocity-v1", ["ppo-lag", "crpo", "pcrpo", "smpo"], 3, 500_000,
              settings={"pcrpo": HOPPER_PCRPO_SLACKS}),
        *grid("SafetyHopperVelocity-v1", ["ppo"], 1, 500_000),
        *grid("SafetyPointGoal1-v0", ["ppo-lag", "pcrpo", "smpo"], 2, 500_000, tier="optional"),
        # Issue 24 item 7: SMPO at the defaults item 6 set; the runs above keep the earlier defaults.
        *(RunSpec("SafetyPointCircle1-v0", "smpo", seed, 300_000, settings=SMPO_EPISODE_END_SHIFT,
                  variant="episode_end_shift", tier="smpo_defaults") for seed in range(3)),
    ]),
    results_dir=REPO / "benchmarks" / "results",
    checkpoint_every=5,
)

#: The standard suite's Hopper runs of the three main algorithms with 8 envs per EnvRunner instead
#: of 4 (the same budget and seeds): does the sampling setting that reaches 60% of the raw env
#: rate on 2 cores learn like the one the standard suite used? (README, Performance.)
EIGHT_ENVS = {"num_envs_per_env_runner": 8}
ENVS8 = Suite(
    name="envs8",
    runs=interleaved(
        grid("SafetyHopperVelocity-v1", ["ppo-lag", "pcrpo", "smpo"], 3, 500_000, settings={
            "ppo-lag": EIGHT_ENVS, "pcrpo": {**HOPPER_PCRPO_SLACKS, **EIGHT_ENVS}, "smpo": EIGHT_ENVS,
        })
    ),
    results_dir=REPO / "benchmarks" / "results",
    checkpoint_every=5,
)

#: Issue 24's diagnosis of SMPO on SafetyPointCircle1-v0 (docs/results.md, "SMPO's mechanisms one
#: at a time"): each variant changes one mechanism of the baseline, the defaults of 2026-12-07
#: written out so that a later change of the defaults does not change what this suite measures.
SMPO_VARIANTS: dict[str, dict[str, Any]] = {
    "baseline": {"overrides": SMPO_BASELINE},
    "unclamped": {"overrides": SMPO_BASELINE | {"min_weight": None}},
    "normalized": {"overrides": SMPO_BASELINE | {"modulation_units": "normalized"}},
    # +0.05 on every reward the learner sees: no reward is negative on Circle, so f cannot turn a
    # penalty into a bonus (the optimum of a task that never ends early is unchanged).
    "offset": {"overrides": SMPO_BASELINE | {"reward_offset": 0.05}},
    # C_t / d appended to the observation: f depends on C_t, which the policy then sees.
    "observed_cost": {"overrides": SMPO_BASELINE | {"env_config": {"observe_episode_cost": COST_LIMIT}}},
    "authors": {"preset": "smpo-authors"},
    # f floored at 0: past d' rewards vanish instead of turning into penalties (the diagnosis's lead).
    "floor0": {"overrides": SMPO_BASELINE | {"min_weight": 0.0}},
    # Q^c's target stops at every episode end (the paper's (1 - done)): on TradeOffEnv this took
    # Q^c's bias from +3.5 to ~0 (benchmarks/results/known_optimum_2cores.jsonl).
    "qc_episode_end": {"overrides": SMPO_BASELINE | {"qc_bootstrap_time_limit": False}},
    # The combination that held the limit in all four TradeOffEnv regimes, with d' reaching d at
    # half of this suite's 300k steps so that the second half is judged against d itself.
    "episode_end_shift_anneal150k": {"overrides": SMPO_BASELINE | {
        "qc_bootstrap_time_limit": False, "reward_shift": "episode_minimum", "threshold_anneal_env_steps": 150_000,
    }},
}
#: Issue 24 item 6: that combination ("lead") with one more change each, aimed at what kept two of
#: its four seeds over d (past d' the clamped f makes further cost free and turns rewards into
#: penalties; the reward critic cannot see C_t).
SMPO_LEAD = SMPO_VARIANTS["episode_end_shift_anneal150k"]["overrides"]
SMPO_LEAD_VARIANTS: dict[str, dict[str, Any]] = {
    # Q^c undiscounted (its target already stops at episode ends): C_t + Q^c then predicts the
    # episode's undiscounted cost; at 0.995 Q^c counts ~200 of Circle's 500 steps (Goal1: 1,000).
    "lead_undiscounted": {"overrides": SMPO_LEAD | {"cost_gamma": 1.0}},
    # f graded over [0, 1.47 d'] (clamp -1 at x = 1.47 d') instead of ~3 cost units around d'.
    "lead_normalized": {"overrides": SMPO_LEAD | {"modulation_units": "normalized"}},
    # The authors' clamp: f' stays non-zero 1.6 cost units further past d'.
    "lead_floor5": {"overrides": SMPO_LEAD | {"min_weight": -5.0}},
    # C_t / d observed: the reward critic and the policy see what f depends on.
    "lead_observed_cost": {"overrides": SMPO_LEAD | {"env_config": {"observe_episode_cost": COST_LIMIT}}},
    # f on the advantage (the authors' target): the critic learns the shifted raw rewards, a Markov target.
    "lead_advantage": {"overrides": SMPO_LEAD | {"modulation_target": "advantage"}},
    # 4 envs per EnvRunner: each env samples 500 steps per update, one whole Circle episode, so no
    # update sees only the first halves of episodes (f near 1) or only the second (f at the clamp).
    "lead_whole_episodes": {"overrides": SMPO_LEAD, "num_envs_per_env_runner": 4},
}
SMPO_CANDIDATES = {
    "normalized": SMPO_VARIANTS["normalized"],
    "normalized_shift": {
        "overrides": SMPO_BASELINE | {"modulation_units": "normalized", "reward_shift": "episode_minimum"},
    },
}
SMPO_DIAGNOSIS = Suite(
    name="smpo_diagnosis",
    runs=interleaved([
        RunSpec("SafetyPointCircle1-v0", "smpo", seed, 300_000, settings=settings, variant=variant)
        for variant, settings in SMPO_VARIANTS.items()
        for seed in range(2)
    ] + [
        # Its two seeds split (J_c 2.2 and 46.8): two more before reading it.
        RunSpec("SafetyPointCircle1-v0", "smpo", seed, 300_000, variant="episode_end_shift_anneal150k",
                settings=SMPO_VARIANTS["episode_end_shift_anneal150k"])
        for seed in (2, 3)
    ] + [
        RunSpec("SafetyPointCircle1-v0", "smpo", seed, 300_000, settings=settings, variant=variant, tier="lead")
        for seed in (0, 3)  # the two seeds the lead kept over d
        for variant, settings in SMPO_LEAD_VARIANTS.items()
    ] + [
        # Seed 3 held d at PPO-Lag's return with whole episodes per update: the lead's other seeds.
        RunSpec("SafetyPointCircle1-v0", "smpo", seed, 300_000, settings=SMPO_LEAD_VARIANTS["lead_whole_episodes"],
                variant="lead_whole_episodes", tier="lead")
        for seed in (1, 2)
    ] + [
        # Candidates for new defaults (issue 24 item 6) on the paper's first task, where today's lose.
        RunSpec("SafetyPointGoal1-v0", "smpo", seed, 500_000, settings=settings, variant=variant, tier="goal")
        for variant, settings in SMPO_CANDIDATES.items()
        for seed in range(2)
    ]),
    results_dir=REPO / "benchmarks" / "results",
    checkpoint_every=5,
)

#: Issue 25 item 5: the J_c the switching algorithms and PPO-Lag steer by, the reported 100-episode
#: window ("window100") against the episodes of the last 20,000 env steps, at least 5 ("steps20k";
#: one OmniSafe epoch). Each arm names its setting, so a later default does not change the suite.
STEERING_ARMS: dict[str, dict[str, Any]] = {
    "window100": {"overrides": {"steering_cost_env_steps": None}},
    "steps20k": {"overrides": {"steering_cost_env_steps": 20_000, "steering_cost_min_episodes": 5}},
}


def steering_runs(task: str, timesteps: int, seeds: range, tier: str, extra: dict[str, dict] | None = None,
                  algos: tuple[str, ...] = ("ppo-lag", "crpo", "pcrpo")):
    """Both arms for each algorithm; ``extra[algo]``: settings besides the arm's (no overrides)."""
    extra = extra or {}
    return [
        RunSpec(task, algo, seed, timesteps, tier=tier, variant=arm, settings={**extra.get(algo, {}), **arm_settings})
        for algo in algos
        for arm, arm_settings in STEERING_ARMS.items()
        for seed in seeds
    ]


STEERING_COST = Suite(
    name="steering_cost",
    runs=interleaved([
        *steering_runs("SafetyPointCircle1-v0", 300_000, range(1), "minimum"),
        *steering_runs("SafetyHopperVelocity-v1", 500_000, range(1), "minimum", {"pcrpo": HOPPER_PCRPO_SLACKS}),
        # Issue 25 item 6: PCRPO on PointGoal1, where it ended with no return (J_c 27.9), with its
        # update modes and gradient angles kept.
        *steering_runs("SafetyPointGoal1-v0", 500_000, range(1), "minimum", algos=("pcrpo",)),
        *steering_runs("SafetyPointCircle1-v0", 300_000, range(1, 3), "optional"),
        *steering_runs("SafetyHopperVelocity-v1", 500_000, range(1, 3), "optional", {"pcrpo": HOPPER_PCRPO_SLACKS}),
    ]),
    results_dir=REPO / "benchmarks" / "results",
    checkpoint_every=5,
)

#: Issue 24 item 7: SMPO's paper's first task at 1M env steps, d = 25, against the baselines at equal
#: steps (OmniSafe's published PPOLag is at 1e7). The authors' preset takes about 3 h per run on one
#: core (256-256 networks, 80 full-batch epochs of 20,000 steps), so it is a tier of its own. SMPO at
#: the defaults item 6 set is written out (``SMPO_EPISODE_END_SHIFT``): a run keyed by empty settings
#: would measure whichever defaults the revision had.
GOAL1_1M = Suite(
    name="goal1_1m",
    runs=interleaved([
        *grid("SafetyPointGoal1-v0", ["ppo-lag"], 3, 1_000_000),
        *grid("SafetyPointGoal1-v0", ["ppo"], 1, 1_000_000),
        *(RunSpec("SafetyPointGoal1-v0", "smpo", seed, 1_000_000, settings=SMPO_EPISODE_END_SHIFT,
                  variant="episode_end_shift") for seed in range(3)),
        *(RunSpec("SafetyPointGoal1-v0", "smpo", seed, 1_000_000, settings={"preset": "smpo-authors"},
                  tier="authors", variant="authors") for seed in range(3)),
    ]),
    results_dir=REPO / "benchmarks" / "results",
    checkpoint_every=5,
)

#: Issue 25 item 4: PCRPO on its paper's own Safety-MuJoCo tasks (the authors' definitions, the
#: ``-v1`` ids), at the authors' setup (``--preset pcrpo-<task>``: their d and slacks), against CRPO
#: with the same optimiser, batch and discounts, and PPO-Lag with the same batch and discounts.
PCRPO_ONLY = ("reward_weight", "conflict_angle", "warmup_env_steps")


def safety_mujoco_runs(task: str, preset: str, cost_limit: float, seeds: range, tier: str) -> list[RunSpec]:
    from rllib_safe.algorithms.presets import PRESETS  # plain data, no Ray

    authors = PRESETS["pcrpo-authors"]
    shared = {key: value for key, value in authors.items() if key not in PCRPO_ONLY}
    discounts = {key: authors[key] for key in ("gamma", "lambda_", "train_batch_size_per_learner")}
    settings = {"pcrpo": {"preset": preset}, "crpo": {"overrides": shared}, "ppo-lag": {"overrides": discounts}}
    return [
        RunSpec(task, algo, seed, 1_000_000, cost_limit=cost_limit, settings=settings[algo], tier=tier)
        for algo in ("pcrpo", "crpo", "ppo-lag")
        for seed in seeds
    ]


SAFETY_MUJOCO = Suite(
    name="safety_mujoco",
    runs=interleaved([
        *safety_mujoco_runs("SafetyMujocoWalker2d-v1", "pcrpo-walker2d", 40.0, range(3), "minimum"),
        *safety_mujoco_runs("SafetyMujocoReacher-v1", "pcrpo-reacher", 40.0, range(3), "minimum"),
        *safety_mujoco_runs("SafetyMujocoHumanoidStandup-v1", "pcrpo-humanoidstandup", 1400.0, range(1), "optional"),
    ]),
    results_dir=REPO / "benchmarks" / "results",
    checkpoint_every=5,
)

#: Seconds, not science: the code path of the standard suite on a budget that tests can afford.
SMOKE_SETTINGS = {
    "num_env_runners": 0,
    "num_envs_per_env_runner": 1,
    "overrides": {"train_batch_size_per_learner": 500, "minibatch_size": 250, "num_epochs": 2},
}
SMOKE = Suite(
    name="smoke",
    runs=interleaved(grid("SafetyPointCircle1-v0", ["ppo-lag", "pcrpo"], 1, 2_000,
                          settings={"ppo-lag": SMOKE_SETTINGS, "pcrpo": SMOKE_SETTINGS})),
    results_dir=REPO / "results" / "learning" / "smoke",
    checkpoint_every=2,
)

SUITES = {
    suite.name: suite
    for suite in (STANDARD, ENVS8, SMPO_DIAGNOSIS, STEERING_COST, SAFETY_MUJOCO, GOAL1_1M, SMOKE)
}

#: OmniSafe's benchmark (docs/algorithms.md section 5): mean final return / cost over seeds,
#: 1e7 env steps, d = 25. Only PPO and PPOLag are also rllib-safe algorithms.
PUBLISHED_LABEL = "published, 1e7 steps"
PUBLISHED_STEPS = 10_000_000
PUBLISHED: dict[str, dict[str, tuple[float, float]]] = {
    "SafetyPointGoal1-v0": {
        "PPO": (25.44, 55.72), "PPOLag": (12.96, 25.80), "TRPOLag": (18.51, 22.98),
        "CPO": (20.46, 28.84), "CUP": (14.42, 19.02), "PCPO": (18.57, 22.98),
    },
    "SafetyHopperVelocity-v1": {
        "PPO": (2337.0, 550.0), "PPOLag": (962.0, 13.96), "TRPOLag": (1392.0, 11.22),
        "CPO": (1714.0, 13.40), "CUP": (1716.0, 7.48), "PCPO": (1551.0, 15.46),
    },
}
#: rllib-safe algorithm -> OmniSafe's name for the same algorithm.
OMNISAFE_NAMES = {"ppo": "PPO", "ppo-lag": "PPOLag"}


def published(task: str, algo: str) -> tuple[float, float] | None:
    """OmniSafe's published (return, cost) of ``algo`` on ``task``, if there is one."""
    return PUBLISHED.get(task, {}).get(OMNISAFE_NAMES.get(algo, ""))
