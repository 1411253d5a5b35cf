"""PCRPO: config validation, the learner's modes on crafted batches, learning, two learners."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from ray.rllib.core.columns import Columns
from ray.rllib.evaluation.postprocessing import Postprocessing
from ray.rllib.policy.sample_batch import MultiAgentBatch, SampleBatch
from ray.rllib.utils.metrics import NUM_ENV_STEPS_SAMPLED_LIFETIME

from rllib_safe.algorithms import algorithm_class
from rllib_safe.algorithms.crpo import CRPOConfig
from rllib_safe.algorithms.pcrpo import PCRPO, PCRPOConfig
from rllib_safe.connectors.columns import COST_ADVANTAGES, COST_VALUE_TARGETS, TIMESTEP_EPISODE_COST, TIMESTEP_ITERATION
from rllib_safe.core import flatten_params
from rllib_safe.envs.known_optimum import BudgetEnv, RiskySafeEnv, constrained_optimum_return
from rllib_safe.metrics import LINE_SEARCH_ACCEPTED_METRICS, MODE_METRICS
from tests.algorithms.learning import COST_LIMIT, HORIZON, small_problem_config

MODES = MODE_METRICS  # ("mode_reward", "mode_soft_aligned", "mode_soft_conflict", "mode_cost")
ACCEPTED = LINE_SEARCH_ACCEPTED_METRICS  # ("line_search_accepted_reward", ...)


# --------------------------------------------------------------------------- config


@pytest.mark.parametrize(
    "field, value",
    [
        ("conflict_angle", 0.0),
        ("conflict_angle", 181.0),
        ("slack_upper", -1.0),
        ("slack_lower", 0.5),
        ("slack_lower", float("nan")),
        ("reward_weight", 1.5),
        ("slack_schedule", "linear"),
        ("warmup_iterations", -1),
        ("warmup_iterations", 2.5),
        ("warmup_env_steps", -1),
        ("warmup_env_steps", 1e5),
        ("slack_anneal_env_steps", 0),
        ("slack_anneal_iterations", 0),
        ("actor_step", "sgd"),
        ("max_kl", 0.0),
        ("cg_iterations", 0),
        ("cg_damping", -0.1),
        ("line_search_decay", 1.0),
        ("line_search_max_backtracks", 0),
        ("trust_region_metric", "natural"),
    ],
)
def test_invalid_setting_names_field_and_value(field, value):
    config = PCRPOConfig().training(**{field: value})
    with pytest.raises(ValueError, match=f"`{field}` = {value!r}"):
        config.validate()


def test_anneal_requires_a_duration_in_env_steps():
    with pytest.raises(ValueError, match="`slack_anneal_env_steps` = None is invalid: slack_schedule='anneal'"):
        PCRPOConfig().training(slack_schedule="anneal").validate()
    annealed = PCRPOConfig().training(slack_schedule="anneal", slack_anneal_env_steps=40_000)
    annealed.validate()
    assert annealed.slack_schedule_spec().slacks(4_000) == pytest.approx((4.5, -4.5))
    assert annealed.slack_schedule_spec().slacks(40_000) == (0.0, 0.0)


def test_iteration_counted_durations_convert_with_the_batch():
    config = PCRPOConfig().training(
        train_batch_size_per_learner=16_000, warmup_iterations=40, slack_schedule="anneal", slack_anneal_iterations=10
    )
    with pytest.warns(FutureWarning, match=r"use `warmup_env_steps` = 640000 \(40 iterations x 16000"):
        config.validate()
    assert config.warmup_steps() == 640_000
    assert config.slack_anneal_steps() == 160_000
    config.training(train_batch_size_per_learner=4_000)  # converted with the batch at the time of use
    assert config.warmup_steps() == 160_000
    assert PCRPOConfig().warmup_steps() == 0 and PCRPOConfig().slack_anneal_steps() is None


@pytest.mark.parametrize(
    "old, new", [("warmup_iterations", "warmup_env_steps"), ("slack_anneal_iterations", "slack_anneal_env_steps")]
)
def test_a_duration_set_in_both_units_fails_naming_both(old, new):
    config = PCRPOConfig().training(**{old: 3, new: 1000})
    with pytest.raises(ValueError, match=f"`{old}` = 3 and `{new}` = 1000 are the same duration: set only `{new}`"):
        config.validate()


def test_infinite_slacks_and_registry():
    config = PCRPOConfig().training(slack_upper=math.inf, slack_lower=-math.inf, actor_step="first_order")
    config.validate()
    assert config.to_dict()["slack_upper"] == math.inf
    assert algorithm_class("pcrpo") is PCRPO


# --------------------------------------------------------------------------- learner on crafted batches


def build_learner(env_class=BudgetEnv, **training):
    config = PCRPOConfig().environment(env_class).training(cost_limit=COST_LIMIT, **training).debugging(seed=0)
    return config.build_learner(env=env_class({"horizon": HORIZON}))


def crafted_batch(learner, *, cost_sign: float, noise: float = 0.0, seed: int = 0, size: int = 256) -> MultiAgentBatch:
    """A policy batch sampled from the learner's actor; A_c = cost_sign * A_r + noise * N(0, 1)."""
    module = learner.module["default_policy"].unwrapped()
    generator = torch.Generator().manual_seed(seed)
    obs = torch.rand(size, 2, generator=generator)
    with torch.no_grad(), torch.random.fork_rng():
        torch.manual_seed(seed)
        inputs = module.forward_train({Columns.OBS: obs})[Columns.ACTION_DIST_INPUTS]
        dist = module.get_train_action_dist_cls().from_logits(inputs)
        actions = dist.sample()
        logp = dist.logp(actions)
    advantages = torch.randn(size, generator=generator)
    columns = {
        Columns.OBS: obs,
        Columns.ACTIONS: actions,
        Columns.ACTION_LOGP: logp,
        Columns.ACTION_DIST_INPUTS: inputs,
        Postprocessing.ADVANTAGES: advantages,
        Postprocessing.VALUE_TARGETS: torch.randn(size, generator=generator),
        COST_VALUE_TARGETS: torch.randn(size, generator=generator),
    }
    columns[COST_ADVANTAGES] = cost_sign * advantages + noise * torch.randn(size, generator=generator)
    return MultiAgentBatch({"default_policy": SampleBatch({k: v.numpy() for k, v in columns.items()})}, size)


def update(learner, batch, *, episode_cost: float | None, iteration: int = 0, env_steps: int = 0) -> dict:
    """One update; the module's metrics plus the learner-wide ones (``cost_measured``, ...)."""
    timesteps = {NUM_ENV_STEPS_SAMPLED_LIFETIME: env_steps, TIMESTEP_ITERATION: iteration}
    if episode_cost is not None:  # None: no finished episode measured yet
        timesteps[TIMESTEP_EPISODE_COST] = episode_cost
    results = learner.update(batch=batch, timesteps=timesteps, num_epochs=1, minibatch_size=128)
    flat = {key: stats for key, stats in results.items() if not isinstance(stats, dict)}
    return {key: float(stats.peek()) for key, stats in (flat | results["default_policy"]).items()}


@pytest.mark.parametrize(
    "update_kind, metric", [("trust_region", "fisher"), ("trust_region", "euclidean"), ("first_order", "fisher")]
)
@pytest.mark.parametrize(
    "episode_cost, cost_sign, expected",
    [
        (0.0, 1.0, "mode_reward"),  # J_c < d + h-
        (20.0, 1.0, "mode_cost"),  # J_c > d + h+
        (5.0, 1.0, "mode_soft_conflict"),  # reward = cost: g_c = -g_r, 180 degrees
        (5.0, -1.0, "mode_soft_aligned"),  # g_c = g_r, 0 degrees
        (None, -1.0, "mode_soft_aligned"),  # no J_c measured yet: the soft region
    ],
)
def test_mode_selection_and_metrics(update_kind, metric, episode_cost, cost_sign, expected):
    learner = build_learner(actor_step=update_kind, trust_region_metric=metric, slack_upper=1.0, slack_lower=-1.0)
    metrics = update(learner, crafted_batch(learner, cost_sign=cost_sign), episode_cost=episode_cost)
    assert {mode: metrics[mode] for mode in MODES} == {mode: float(mode == expected) for mode in MODES}
    assert metrics["pcrpo_mode"] == MODES.index(expected)
    assert metrics["cos_angle"] == pytest.approx(cost_sign * -1.0, abs=1e-4)
    assert metrics["reward_grad_norm"] > 0 and metrics["cost_grad_norm"] > 0
    assert (metrics["slack_upper"], metrics["slack_lower"]) == (1.0, -1.0)
    assert metrics["cost_measured"] == float(episode_cost is not None)
    if update_kind == "trust_region":  # every step here is accepted, and counted under its mode
        assert metrics["line_search_accepted"] == 1.0
        assert {name: metrics[name] for name in ACCEPTED} == {
            name: float(name == "line_search_accepted_" + expected.removeprefix("mode_")) for name in ACCEPTED
        }


@pytest.mark.parametrize(
    "setting", [{"warmup_env_steps": 2_000}, {"warmup_iterations": 2, "train_batch_size_per_learner": 1_000}]
)
def test_warmup_steps_on_reward_only_for_its_env_steps(setting):
    learner = build_learner(**setting)  # 2 iterations of 1,000 env steps = 2,000
    batch = crafted_batch(learner, cost_sign=1.0)
    assert update(learner, batch, episode_cost=20.0, env_steps=2_000)["mode_reward"] == 1.0
    assert update(learner, batch, episode_cost=20.0, env_steps=3_000)["mode_cost"] == 1.0


def test_slacks_anneal_on_env_steps():
    learner = build_learner(slack_schedule="anneal", slack_anneal_env_steps=10_000, slack_upper=1.0, slack_lower=-1.0)
    batch = crafted_batch(learner, cost_sign=1.0)
    metrics = update(learner, batch, episode_cost=0.0, env_steps=5_000)
    assert (metrics["slack_upper"], metrics["slack_lower"]) == pytest.approx((0.5, -0.5))


def surrogates_and_kl(module, batch) -> tuple[torch.Tensor, float]:
    """[mean(ratio A_r), mean(ratio (-A_c))] and the mean KL of the module's policy vs the batch's."""
    columns = {k: torch.as_tensor(v) for k, v in batch.policy_batches["default_policy"].items()}
    dist_cls = module.get_train_action_dist_cls()
    with torch.no_grad():
        new = dist_cls.from_logits(module.forward_train(columns)[Columns.ACTION_DIST_INPUTS])
        old = dist_cls.from_logits(columns[Columns.ACTION_DIST_INPUTS])
        ratio = torch.exp(new.logp(columns[Columns.ACTIONS]) - columns[Columns.ACTION_LOGP])
    advantages = torch.stack([columns[Postprocessing.ADVANTAGES], -columns[COST_ADVANTAGES]])
    return (ratio * advantages).mean(dim=1), float(old.kl(new).mean())


def test_trust_region_step_improves_reward_within_kl():
    max_kl = 0.01
    learner = build_learner(max_kl=max_kl, slack_lower=-1.0)
    module = learner.module["default_policy"].unwrapped()
    batch = crafted_batch(learner, cost_sign=1.0)
    before = flatten_params(module.actor_parameters())
    metrics = update(learner, batch, episode_cost=0.0)
    assert metrics["line_search_accepted"] == 1.0

    surrogates, kl = surrogates_and_kl(module, batch)
    advantages = batch.policy_batches["default_policy"][Postprocessing.ADVANTAGES]
    assert float(surrogates[0]) > float(advantages.mean())
    assert 0.0 < kl <= max_kl * 1.0001
    assert not torch.equal(before, flatten_params(module.actor_parameters()))


#: A soft-region batch on which the Euclidean manipulation d has d.g_r, d.g_c >= 0 but its
#: natural step F^-1 d lowers the cost surrogate to first order (found by a seed search).
CONFLICT_SEED = 3


@pytest.mark.parametrize("metric", [None, "euclidean"])  # None: the default (Fisher)
def test_soft_step_is_accepted_when_the_euclidean_direction_lowers_a_surrogate(metric):
    settings = {} if metric is None else {"trust_region_metric": metric}
    learner = build_learner(slack_upper=1.0, slack_lower=-1.0, **settings)
    module = learner.module["default_policy"].unwrapped()
    batch = crafted_batch(learner, cost_sign=1.0, noise=1.0, seed=CONFLICT_SEED)
    start, _ = surrogates_and_kl(module, batch)
    metrics = update(learner, batch, episode_cost=5.0)
    print({k: metrics.get(k) for k in ("pcrpo_mode", "cos_angle", "line_search_accepted", "line_search_tries")})
    assert metrics["line_search_accepted"] == 1.0  # before the fix: 0.0, the actor did not move
    change = surrogates_and_kl(module, batch)[0] - start
    if metric is None:  # Fisher metric: the step raises both surrogates, to first order and here
        assert metrics["mode_soft_conflict"] == 1.0 and metrics["cos_angle"] < 0
        assert metrics["expected_reward_gain"] > 0 and metrics["expected_cost_gain"] > 0
        assert float(change.min()) >= 0
    else:  # the premise: this step lowers L_c to first order; accepted on 0.5 L_r + 0.5 L_c
        assert metrics["mode_soft_conflict"] == 1.0
        assert metrics["expected_cost_gain"] < 0 < metrics["expected_improvement"]
        assert float(change.mean()) >= 0


def test_discrete_policy_trust_region_step():
    learner = build_learner(RiskySafeEnv)
    metrics = update(learner, crafted_batch(learner, cost_sign=1.0), episode_cost=20.0)
    assert metrics["mode_cost"] == 1.0 and metrics["line_search_accepted"] == 1.0


# --------------------------------------------------------------------------- learning


def train_tail(config, iterations: int, tail: int = 3) -> dict:
    """Trains; mean J_c and return over the last ``tail`` iterations, and the mode counts."""
    algo = config.build_algo()
    costs, returns, modes = [], [], dict.fromkeys(MODES, 0.0)
    try:
        for _ in range(iterations):
            result = algo.train()
            costs.append(result["env_runners"]["episode_cost_mean"])
            returns.append(result["env_runners"]["episode_return_mean"])
            learner = result["learners"].get("default_policy", {})
            for mode in MODES:
                modes[mode] += float(learner.get(mode, 0.0))
    finally:
        algo.stop()
    return {"cost": float(np.mean(costs[-tail:])), "return": float(np.mean(returns[-tail:])), "modes": modes}


PCRPO_SMALL = {"slack_upper": 0.0, "slack_lower": -0.5}  # soft region [4.5, 5]


@pytest.mark.slow
def test_budget_env_within_limit_and_matches_crpo(ray_session):
    iterations = 20
    crpo = train_tail(small_problem_config(CRPOConfig()).training(cost_tolerance=0.0), iterations)
    pcrpo = train_tail(small_problem_config(PCRPOConfig()).training(**PCRPO_SMALL), iterations)
    print(f"BudgetEnv trust_region: CRPO {crpo} PCRPO {pcrpo}")
    assert pcrpo["cost"] <= COST_LIMIT + 0.5
    assert pcrpo["return"] >= crpo["return"] - 0.75
    assert pcrpo["modes"]["mode_cost"] >= 1  # started above the limit, corrected it
    assert sum(pcrpo["modes"].values()) == pytest.approx(iterations)


@pytest.mark.slow
def test_budget_env_first_order_within_limit(ray_session):
    config = small_problem_config(PCRPOConfig()).training(actor_step="first_order", **PCRPO_SMALL)
    result = train_tail(config, 15)
    print(f"BudgetEnv first_order: {result}")
    assert result["cost"] <= COST_LIMIT + 0.5
    assert result["return"] >= COST_LIMIT - 1.5


@pytest.mark.slow
def test_risky_safe_env_discrete(ray_session):
    env = RiskySafeEnv({"horizon": HORIZON})
    all_safe_return = HORIZON * env.safe_reward
    optimum = constrained_optimum_return(env, COST_LIMIT)
    config = small_problem_config(PCRPOConfig(), "RiskySafeEnv").training(**PCRPO_SMALL)
    result = train_tail(config, 20)
    print(f"RiskySafeEnv: {result}, all-safe {all_safe_return}, optimum {optimum}")
    assert result["cost"] <= COST_LIMIT + 0.5
    assert result["return"] >= all_safe_return + 0.5 * (optimum - all_safe_return)


# --------------------------------------------------------------------------- several learners


def test_two_learners_stay_identical(ray_session):
    config = (
        small_problem_config(PCRPOConfig())
        .training(actor_step="first_order", train_batch_size_per_learner=200, minibatch_size=100, num_epochs=1)
        .learners(num_learners=2, num_cpus_per_learner=0.5)
    )
    algo = config.build_algo()
    try:
        algo.train()
        weights = algo.learner_group.foreach_learner(
            lambda learner: flatten_params(learner.module["default_policy"].unwrapped().parameters()).numpy()
        )
    finally:
        algo.stop()
    first, second = (result.get() for result in weights)
    np.testing.assert_array_equal(first, second)
