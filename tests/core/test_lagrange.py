"""PPO-Lagrangian multiplier and advantages, OmniSafe semantics (docs/algorithms.md, section 4)."""

from __future__ import annotations

import copy
import json
import math

import pytest
import torch

from rllib_safe.core.lagrange import LagrangeMultiplier, lagrangian_advantages

LIMIT = 25.0
#: OmniSafe's multiplier settings (PPOLagConfig's defaults).
OMNISAFE = {"initial_value": 0.001, "lr": 0.035}


def test_first_update_moves_by_the_learning_rate_like_omnisafe():
    multiplier = LagrangeMultiplier(**OMNISAFE)
    assert math.isclose(multiplier.update(30.0, LIMIT), 0.036, rel_tol=1e-5)


def test_multiplier_rises_while_cost_exceeds_the_limit():
    multiplier = LagrangeMultiplier(**OMNISAFE)
    values = [multiplier.update(40.0, LIMIT) for _ in range(20)]
    assert all(b > a for a, b in zip(values, values[1:]))


def test_multiplier_falls_to_the_zero_floor_while_cost_is_below_the_limit():
    multiplier = LagrangeMultiplier(**OMNISAFE | {"initial_value": 0.5})
    values = [multiplier.update(10.0, LIMIT) for _ in range(40)]
    assert values[1] < values[0] < 0.5
    assert values[-1] == 0.0 and min(values) >= 0.0


def test_multiplier_is_clamped_to_the_upper_bound():
    multiplier = LagrangeMultiplier(**OMNISAFE, upper_bound=0.1)
    for _ in range(20):
        multiplier.update(100.0, LIMIT)
    assert multiplier.value == pytest.approx(0.1)


def _trained(updates=(30.0, 40.0, 10.0, 28.0)):
    multiplier = LagrangeMultiplier(**OMNISAFE | {"initial_value": 0.2})
    for cost in updates:
        multiplier.update(cost, LIMIT)
    return multiplier


@pytest.mark.parametrize("updates", [(), (30.0, 40.0, 10.0, 28.0)])
def test_state_dict_round_trip_reproduces_the_next_update(updates):
    original = _trained(updates)
    saved = copy.deepcopy(original.state_dict())
    restored = LagrangeMultiplier(**OMNISAFE | {"initial_value": 0.7})
    restored.load_state_dict(saved)
    assert restored.value == original.value
    for cost in (35.0, 12.0, 26.0):
        assert restored.update(cost, LIMIT) == original.update(cost, LIMIT)


@pytest.mark.parametrize("updates", [(), (30.0, 40.0, 10.0, 28.0)])
def test_plain_state_round_trip_reproduces_the_next_update(updates):
    original = _trained(updates)
    state = json.loads(json.dumps(original.get_state()))  # plain Python, checkpoint-friendly
    restored = _trained((50.0, 50.0))  # a different history is overwritten entirely
    restored.set_state(state)
    assert restored.get_state() == original.get_state()
    for cost in (35.0, 12.0, 26.0):
        assert restored.update(cost, LIMIT) == original.update(cost, LIMIT)


def test_fresh_multiplier_has_no_optimizer_state():
    state = LagrangeMultiplier(**OMNISAFE | {"initial_value": 0.3}).get_state()
    assert state == {"value": pytest.approx(0.3), "adam": None}


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"initial_value": -0.1}, "initial_value"),
        ({"initial_value": math.nan}, "initial_value"),
        ({"lr": 0.0}, "lr"),
        ({"initial_value": 1.0, "upper_bound": 0.5}, "upper_bound"),
    ],
)
def test_constructor_validates(kwargs, name):
    with pytest.raises(ValueError, match=name):
        LagrangeMultiplier(**OMNISAFE | kwargs)


@pytest.mark.parametrize(
    ("args", "name"), [((math.nan, LIMIT), "episode_cost"), ((1.0, math.inf), "cost_limit")]
)
def test_update_rejects_non_finite_inputs_without_changing_lambda(args, name):
    multiplier = LagrangeMultiplier(**OMNISAFE)
    with pytest.raises(ValueError, match=name):
        multiplier.update(*args)
    assert multiplier.value == pytest.approx(0.001)


def test_lagrangian_advantages():
    a_r = torch.tensor([1.0, -2.0, 3.0])
    a_c = torch.tensor([0.5, 1.0, -1.0])
    torch.testing.assert_close(lagrangian_advantages(a_r, a_c, 0.0), a_r)
    torch.testing.assert_close(lagrangian_advantages(a_r, a_c, 1.0), (a_r - a_c) / 2)
    torch.testing.assert_close(
        lagrangian_advantages(a_r, a_c, torch.tensor(3.0)), (a_r - 3.0 * a_c) / 4
    )
    with pytest.raises(ValueError, match="multiplier"):
        lagrangian_advantages(a_r, a_c, -0.5)
