"""benchmarks/known_optimum.py: every regime and variant makes a valid config of the problem it names."""

from __future__ import annotations

import pytest

from benchmarks import known_optimum


@pytest.mark.parametrize("regime", sorted(known_optimum.REGIMES))
def test_each_regime_is_tradeoffenv_with_its_limit(regime):
    config = known_optimum.config_for("smpo", regime, "defaults", seed=0)
    config.validate()
    env_config, limit = known_optimum.REGIMES[regime]
    assert config.env == "TradeOffEnv" and config.cost_limit == limit
    assert config.env_config == {"horizon": known_optimum.HORIZON, **env_config}
    assert config.threshold_anneal_env_steps == 16_000


@pytest.mark.parametrize(("algo", "variant"), [("smpo", "normalized_shift"), ("smpo", "no_term_through_qc"),
                                               ("ppo-lag", "lagrangian_fast"), ("ppo-lag", "defaults")])
def test_variants_are_settings_of_their_algorithm(algo, variant):
    config = known_optimum.config_for(algo, "default", variant, seed=0)
    config.validate()
    for name, value in known_optimum.VARIANTS[variant].items():
        assert getattr(config, name) == value
