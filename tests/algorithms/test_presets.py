"""Named presets: OmniSafe's on-policy schedule in one word, in Python, the CLI and sweep specs."""

from __future__ import annotations

import pytest

from rllib_safe.algorithms import ALGORITHMS, default_config
from rllib_safe.algorithms.presets import PRESETS, preset_settings
from rllib_safe.runs import TrainOptions, build_config


def test_omnisafe_preset_is_omnisafes_on_policy_schedule():
    # OmniSafe 0.5 configs/on-policy/PPOLag.yaml: steps_per_epoch, batch_size, update_iters, target_kl, ...
    assert PRESETS["omnisafe"] == {
        "train_batch_size_per_learner": 20_000,
        "minibatch_size": 64,
        "num_epochs": 40,
        "target_kl": 0.02,
        "lr": 3e-4,
        "gamma": 0.99,
        "lambda_": 0.95,
        "clip_param": 0.2,
        "grad_clip": 40.0,
        "grad_clip_by": "global_norm",
        "entropy_coeff": 0.0,
    }


@pytest.mark.parametrize("algo", sorted(ALGORITHMS))
def test_preset_applies_to_every_algorithm_and_later_settings_win(algo):
    config = default_config(algo).environment("CartPole-v1").training(**PRESETS["omnisafe"])
    config.training(num_epochs=10)  # an explicit setting after the preset overrides it
    config.validate()
    assert (config.num_epochs, config.minibatch_size, config.target_kl) == (10, 64, 0.02)
    assert config.train_batch_size_per_learner == 20_000


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown preset 'omnisaf'; choose one of \['omnisafe'\]"):
        preset_settings("omnisaf")


def test_preset_settings_are_a_copy():
    preset_settings("omnisafe")["num_epochs"] = 1
    assert PRESETS["omnisafe"]["num_epochs"] == 40


def test_train_options_preset_then_flags_then_set():
    options = TrainOptions(
        algo="ppo-lag", env="CartPole-v1", preset="omnisafe", cost_limit=10.0, overrides={"num_epochs": 5}
    )
    config = build_config(options.algo, options.env, options.settings(), preset=options.preset)
    assert (config.num_epochs, config.target_kl, config.cost_limit) == (5, 0.02, 10.0)
