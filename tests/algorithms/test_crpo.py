"""CRPO: PCRPO's actor step with hard switching at d + cost_tolerance (docs/algorithms.md, section 4)."""

from __future__ import annotations

import math

import pytest
from ray.tune.registry import get_trainable_cls

from rllib_safe.algorithms import algorithm_class
from rllib_safe.algorithms.crpo import CRPO, CRPOConfig
from rllib_safe.algorithms.pcrpo import PCRPOConfig
from rllib_safe.algorithms.switching.switching import ACTOR_STEP_DEFAULTS
from rllib_safe.envs.known_optimum import BudgetEnv, RiskySafeEnv
from tests.algorithms.learning import COST_LIMIT, HORIZON
from tests.algorithms.test_pcrpo import ACCEPTED, MODES, crafted_batch, surrogates_and_kl, update

TOLERANCE = 2.0


def build_learner(env_class=BudgetEnv, **training):
    config = (
        CRPOConfig()
        .environment(env_class)
        .training(cost_limit=COST_LIMIT, cost_tolerance=TOLERANCE, **training)
        .debugging(seed=0)
    )
    return config.build_learner(env=env_class({"horizon": HORIZON}))


# --------------------------------------------------------------------------- config


def test_defaults_are_pcrpos_actor_step():
    crpo, pcrpo = CRPOConfig(), PCRPOConfig()
    assert crpo.actor_step == "trust_region" and crpo.cost_tolerance == 2.0
    for name in ACTOR_STEP_DEFAULTS:
        assert getattr(crpo, name) == getattr(pcrpo, name), name
    assert algorithm_class("crpo") is CRPO and get_trainable_cls("CRPO") is CRPO


@pytest.mark.parametrize(
    "field, value",
    [
        ("cost_tolerance", -1.0),
        ("cost_tolerance", math.nan),
        ("actor_step", "sgd"),
        ("max_kl", 0.0),
        ("cg_iterations", 0),
    ],
)
def test_invalid_setting_names_field_and_value(field, value):
    config = CRPOConfig().training(**{field: value})
    with pytest.raises(ValueError, match=f"`{field}` = {value!r}"):
        config.validate()


@pytest.mark.parametrize("field", ["slack_upper", "conflict_angle", "trust_region_metric"])
def test_soft_region_settings_are_not_crpos(field):
    with pytest.raises(TypeError, match=field):
        CRPOConfig().training(**{field: 1.0})


# --------------------------------------------------------------------------- learner on crafted batches


@pytest.mark.parametrize("update_kind", ["trust_region", "first_order"])
@pytest.mark.parametrize(
    "episode_cost, expected",
    [
        (0.0, "mode_reward"),
        (COST_LIMIT + TOLERANCE, "mode_reward"),  # J_c <= d + tolerance: still a reward step
        (COST_LIMIT + TOLERANCE + 0.5, "mode_cost"),
        (None, "mode_reward"),  # no J_c measured yet: a reward step, not a cost step on a made-up 0
    ],
)
def test_hard_switching_steps_on_one_objective(update_kind, episode_cost, expected):
    learner = build_learner(actor_step=update_kind)
    module = learner.module["default_policy"].unwrapped()
    batch = crafted_batch(learner, cost_sign=1.0)  # A_c = A_r: the two objectives conflict
    start, _ = surrogates_and_kl(module, batch)
    metrics = update(learner, batch, episode_cost=episode_cost)
    assert {mode: metrics[mode] for mode in MODES} == {mode: float(mode == expected) for mode in MODES}
    assert "cost_step" not in metrics  # CRPO's old name of mode_cost
    assert metrics["cost_measured"] == float(episode_cost is not None)
    change = surrogates_and_kl(module, batch)[0] - start
    stepped = 1 if expected == "mode_cost" else 0  # the objective of the step rises, the other falls
    assert float(change[stepped]) > 0 > float(change[1 - stepped])
    if update_kind == "trust_region":
        assert metrics["line_search_accepted"] == 1.0
        assert {name: metrics[name] for name in ACCEPTED} == {
            name: float(name == "line_search_accepted_" + expected.removeprefix("mode_")) for name in ACCEPTED
        }


def test_trust_region_cost_step_stays_within_the_kl_radius():
    max_kl = 0.005
    learner = build_learner(max_kl=max_kl)
    module = learner.module["default_policy"].unwrapped()
    batch = crafted_batch(learner, cost_sign=1.0)
    metrics = update(learner, batch, episode_cost=50.0)
    assert metrics["mode_cost"] == 1.0 and metrics["line_search_accepted"] == 1.0
    _, kl = surrogates_and_kl(module, batch)
    assert 0.0 < kl <= max_kl * 1.0001
    assert metrics["expected_improvement"] == pytest.approx(metrics["expected_cost_gain"])


def test_discrete_policy_cost_step():
    learner = build_learner(RiskySafeEnv)
    metrics = update(learner, crafted_batch(learner, cost_sign=1.0), episode_cost=20.0)
    assert metrics["mode_cost"] == 1.0 and metrics["line_search_accepted"] == 1.0
