"""Sweep spec validation: good files load, bad ones name the YAML line and the field."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from ray import tune
from ray.tune.search.variant_generator import generate_variants

from rllib_safe.sweeps import SpecError, load_spec
from rllib_safe.sweeps.runner import SAMPLE_POINT_KEY, base_config, param_space

REPO = Path(__file__).resolve().parents[2]
SHIPPED = sorted((REPO / "tune_configs").glob("*.yaml"))
TINY = Path(__file__).parent / "specs" / "tiny.yaml"


@pytest.mark.parametrize("smoke", [False, True])
@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_specs_validate(path, smoke):
    spec = load_spec(path, smoke=smoke)
    for algorithm in spec.algorithm:  # the fixed settings also pass each algorithm's config.validate()
        assert base_config(spec, algorithm).env == spec.env
    if smoke:  # short enough for a laptop: no remote env runners, a few thousand steps
        assert spec.env_runners["num_env_runners"] == 0
        assert (spec.budget.timesteps or 0) <= 5000 and spec.budget.iterations is None


def test_shipped_specs_cover_every_algorithm():
    names = {name for path in SHIPPED for name in load_spec(path).algorithm}
    assert {"ppo", "ppo-lag", "crpo", "pcrpo", "smpo"} <= names
    assert {path.name for path in SHIPPED} >= {
        "pcrpo_sensitivity.yaml", "smpo_sensitivity.yaml", "smpo_ablation.yaml", "compare_algorithms.yaml"
    }


def test_compare_algorithms_sets_pcrpo_slacks_only_for_pcrpo():
    spec = load_spec(REPO / "tune_configs/compare_algorithms.yaml")
    assert spec.algorithm == ["ppo", "ppo-lag", "crpo", "pcrpo", "smpo"]
    pcrpo, crpo = base_config(spec, "pcrpo"), base_config(spec, "crpo")
    assert (pcrpo.slack_upper, pcrpo.slack_lower, pcrpo.cost_limit) == (9.0, -9.0, 25.0)
    assert crpo.cost_limit == 25.0 and not hasattr(crpo, "slack_upper")


def test_single_algorithm_is_the_one_element_list():
    assert load_spec(TINY).algorithm == ["ppo-lag"]


def test_smoke_overrides_are_merged():
    full, smoke = (load_spec(REPO / "tune_configs/smpo_sensitivity.yaml", smoke=s) for s in (False, True))
    assert full.budget.timesteps == 1_000_000 and smoke.budget.timesteps == 2000
    assert smoke.training["cost_limit"] == full.training["cost_limit"] == 25.0  # kept from the base
    assert smoke.training["train_batch_size_per_learner"] == 1000


def test_inf_slack_survives_into_trial_configs():
    spec = load_spec(REPO / "tune_configs/pcrpo_sensitivity.yaml", smoke=True)
    space = param_space(spec, "pcrpo")
    assert space["slack"] == tune.grid_search([[0, 0], [math.inf, 0]])
    resolver = space["slack_upper"].func
    assert resolver({"slack": [math.inf, 0]}) == math.inf  # Tune passes the config itself (a spec dict is deprecated)


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
        .replace("{grid: [5.0]}", "{loguniform: [0.0, 1.0]}")
    )
    with pytest.raises(SpecError) as err:
        load_spec(path)
    message = str(err.value)
    assert f"spec.yaml:{_line_of(path, 'seeds:')}: seeds.1" in message
    assert f"spec.yaml:{_line_of(path, 'budget:')}: budget: " in message
    assert f"spec.yaml:{_line_of(path, 'loguniform')}: search_space.cost_limit" in message


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


def _multi(tmp_path, algorithms: str, extra: str = "") -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(TINY.read_text().replace("algorithm: ppo-lag", f"algorithm: {algorithms}") + extra)
    return path


def test_multi_algorithm_spec_with_per_algorithm_settings(tmp_path):
    per_algorithm = "per_algorithm:\n  pcrpo: {slack_upper: 9.0, slack_lower: -9.0}\n"
    spec = load_spec(_multi(tmp_path, "[ppo-lag, pcrpo]", per_algorithm))
    assert spec.algorithm == ["ppo-lag", "pcrpo"]
    assert spec.settings("pcrpo")["slack_upper"] == 9.0 and "slack_upper" not in spec.settings("ppo-lag")
    assert param_space(spec, "pcrpo")["slack_lower"] == -9.0
    assert "slack_lower" not in param_space(spec, "ppo-lag")


def test_multi_algorithm_fields_are_checked_per_algorithm(tmp_path):
    path = _multi(
        tmp_path,
        "[ppo-lag, crpo]",
        "per_algorithm:\n  crpo: {lagrangian_multiplier_lr: 0.1}\n  pcrpo: {slack_upper: 9.0}\n",
    )
    shared = "  num_epochs: 2\n  lagrangian_multiplier_lr: 0.1\n  slack_upper: 9.0\n"
    path.write_text(path.read_text().replace("  num_epochs: 2\n", shared))
    with pytest.raises(SpecError) as err:
        load_spec(path)
    message = str(err.value)
    shared_line = _line_of(path, "  lagrangian_multiplier_lr: 0.1")
    assert f"spec.yaml:{shared_line}: training.lagrangian_multiplier_lr: crpo has no config field" in message
    assert "ppo-lag has no config field" not in message
    assert f"spec.yaml:{_line_of(path, 'slack_upper: 9.0')}: training.slack_upper: ppo-lag, crpo have no" in message
    crpo_line = _line_of(path, "crpo: {lagrangian")
    assert f"spec.yaml:{crpo_line}: per_algorithm.crpo.lagrangian_multiplier_lr: crpo has no config field" in message
    assert f"spec.yaml:{_line_of(path, 'pcrpo: {slack')}: per_algorithm.pcrpo: 'pcrpo' is not in `algorithm`" in message


def test_multi_algorithm_names_are_known_and_distinct(tmp_path):
    with pytest.raises(SpecError) as err:
        load_spec(_multi(tmp_path, "[ppo-lag, pcrp]"))
    assert f"spec.yaml:{_line_of(tmp_path / 'spec.yaml', 'algorithm:')}: algorithm.1: " in str(err.value)
    assert "Did you mean pcrpo" in str(err.value)
    with pytest.raises(SpecError, match=r"spec.yaml:\d+: algorithm: .*distinct"):
        load_spec(_multi(tmp_path, "[crpo, crpo]"))
    with pytest.raises(SpecError, match=r"spec.yaml:\d+: algorithm: .*at least 1"):
        load_spec(_multi(tmp_path, "[]"))


def test_random_points_are_drawn_once_and_crossed_with_every_seed(tmp_path):
    random_axis = "  lagrangian_multiplier_lr: {loguniform: [0.001, 0.1]}\n  num_epochs: {grid: [1, 2]}\n"
    path = tmp_path / "spec.yaml"
    path.write_text(
        TINY.read_text().replace("  num_epochs: 2\n", "").replace("search_space:\n", "search_space:\n" + random_axis)
        + "num_samples: 3\nsample_seed: 7\n"
    )
    spec = load_spec(path)
    space = param_space(spec, "ppo-lag")
    # The same draw every time (a resumed sweep rebuilds it); another sample_seed, other points.
    assert param_space(spec, "ppo-lag")[SAMPLE_POINT_KEY] == space[SAMPLE_POINT_KEY]
    reseeded = spec.model_copy(update={"sample_seed": 8})
    assert param_space(reseeded, "ppo-lag")[SAMPLE_POINT_KEY] != space[SAMPLE_POINT_KEY]
    configs = [config for _, config in generate_variants(space)]
    assert len(configs) == 3 * 2 * 2  # points x num_epochs grid x seeds
    rates = {config["lagrangian_multiplier_lr"] for config in configs}
    assert len(rates) == 3 and all(0.001 <= rate <= 0.1 for rate in rates)
    for rate in rates:
        pairs = {(c["num_epochs"], c["seed"]) for c in configs if c["lagrangian_multiplier_lr"] == rate}
        assert pairs == {(1, 0), (1, 1), (2, 0), (2, 1)}


def test_num_samples_needs_a_random_axis(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(TINY.read_text() + "num_samples: 4\n")
    with pytest.raises(SpecError, match="num_samples = 4 needs a choice/uniform/loguniform axis"):
        load_spec(path)


def test_preset_is_the_base_of_every_algorithms_settings(tmp_path):
    spec = load_spec(_multi(tmp_path, "[ppo-lag, pcrpo]", "preset: omnisafe\n"))
    for algorithm in spec.algorithm:
        config = base_config(spec, algorithm)
        assert (config.num_epochs, config.minibatch_size, config.target_kl) == (2, 100, 0.02)  # training: wins


def test_unknown_preset_names_line_and_known_presets(tmp_path):
    path = _multi(tmp_path, "ppo-lag", "preset: omnisaf\n")
    line = _line_of(path, "preset:")
    with pytest.raises(SpecError, match=rf"spec.yaml:{line}: preset: .*choose one of \['omnisafe', 'pcrpo-authors',"):
        load_spec(path)
