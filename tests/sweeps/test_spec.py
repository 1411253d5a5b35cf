"""Sweep spec validation: good files load, bad ones name the YAML line and the field."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from ray import tune

from rllib_safe.sweeps import SpecError, load_spec
from rllib_safe.sweeps.runner import param_space

REPO = Path(__file__).resolve().parents[2]
SHIPPED = sorted((REPO / "tune_configs").glob("*.yaml"))
TINY = Path(__file__).parent / "specs" / "tiny.yaml"


@pytest.mark.parametrize("smoke", [False, True])
@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_specs_validate(path, smoke):
    spec = load_spec(path, smoke=smoke)
    assert spec.seeds and spec.search_space


def test_smoke_overrides_are_merged():
    full, smoke = (load_spec(REPO / "tune_configs/pcrpo_sensitivity.yaml", smoke=s) for s in (False, True))
    assert full.budget.timesteps == 1_000_000 and smoke.budget.iterations == 2
    assert smoke.training["cost_limit"] == full.training["cost_limit"] == 25.0  # kept from the base
    assert smoke.training["train_batch_size_per_learner"] == 400


def test_inf_slack_survives_into_trial_configs():
    spec = load_spec(REPO / "tune_configs/pcrpo_sensitivity.yaml", smoke=True)
    space = param_space(spec)
    assert space["slack"] == tune.grid_search([[0, 0], [math.inf, 0]])
    resolver = space["slack_upper"].func
    assert resolver(type("Spec", (), {"config": {"slack": [math.inf, 0]}})) == math.inf


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_unknown_config_field_names_line_and_close_match(tmp_path):
    path = tmp_path / "spec.yaml"
    typo = "search_space:\n  lagrangian_multplier_init: {grid: [0.1]}\n"
    path.write_text(TINY.read_text().replace("search_space:\n", typo, 1))
    with pytest.raises(SpecError) as err:
        load_spec(path)
    line = _line_of(path, "lagrangian_multplier_init")
    assert f"spec.yaml:{line}: search_space.lagrangian_multplier_init" in str(err.value)
    assert "did you mean lagrangian_multiplier_init" in str(err.value)


def test_bad_values_name_line_and_field(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(
        TINY.read_text()
        .replace("seeds: [0, 1]", "seeds: [0, zero]")
        .replace("budget: {iterations: 3}", "budget: {iterations: 3, timesteps: 100}")
        .replace("{grid: [0.035]}", "{loguniform: [0.0, 1.0]}")
    )
    with pytest.raises(SpecError) as err:
        load_spec(path)
    message = str(err.value)
    assert f"spec.yaml:{_line_of(path, 'seeds:')}: seeds.1" in message
    assert f"spec.yaml:{_line_of(path, 'budget:')}: budget: " in message
    assert f"spec.yaml:{_line_of(path, 'loguniform')}: search_space.lagrangian_multiplier_lr" in message


def test_unknown_top_level_key_and_algorithm(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(TINY.read_text().replace("algorithm: ppo-lag", "algorithm: ppo-lagrange\nseed: 3"))
    with pytest.raises(SpecError) as err:
        load_spec(path)
    assert f"spec.yaml:{_line_of(path, 'algorithm:')}: algorithm" in str(err.value)
    assert "ppo-lag" in str(err.value)
    assert f"spec.yaml:{_line_of(path, 'seed: 3')}: seed: Extra inputs are not permitted" in str(err.value)


def test_tied_axis_needs_one_value_per_field(tmp_path):
    path = tmp_path / "spec.yaml"
    tied = (
        "  lag:\n    fields: [lagrangian_multiplier_lr, lagrangian_multiplier_init]\n"
        "    grid: [[0.1, 0.0], [0.2]]\n"
    )
    path.write_text(TINY.read_text().replace("search_space:\n", "search_space:\n" + tied, 1))
    with pytest.raises(SpecError, match=r"spec.yaml:\d+: search_space.lag: .*list of 2"):
        load_spec(path)


def test_smoke_errors_point_into_the_smoke_block(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(TINY.read_text() + "smoke:\n  budget: {iterations: -1}\n")
    with pytest.raises(SpecError, match=rf"spec.yaml:{_line_of(path, 'iterations: -1')}: budget.iterations"):
        load_spec(path, smoke=True)
    assert load_spec(path).budget.iterations == 3
