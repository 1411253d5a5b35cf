"""rllib_safe.runs.config: the one config builder (settings, presets, kinds of values) and cluster placement."""

from __future__ import annotations

import pytest

from rllib_safe.algorithms import PPOLagConfig
from rllib_safe.runs.config import LEARNER_GPU_RESOURCE, ROLLOUT_RESOURCE, Placement, apply_placement


def test_preset_reaches_the_config_and_set_overrides_it():
    from rllib_safe.runs import TrainOptions, build_config

    options = TrainOptions(algo="ppo-lag", env="CartPole-v1", preset="omnisafe", overrides={"minibatch_size": 128})
    config = build_config(options.algo, options.env, options.settings(), preset=options.preset)
    assert (config.num_epochs, config.minibatch_size, config.target_kl) == (40, 128, 0.02)


def test_build_config_names_a_setting_of_the_wrong_kind_for_every_caller():
    from rllib_safe.runs import ConfigError, build_config

    with pytest.raises(ConfigError, match=r"`slack_upper` = 'wide': slack_upper takes a number \(default 5.0\)"):
        build_config("pcrpo", "BudgetEnv", {"slack_upper": "wide"})


def test_placement_pins_env_runners_to_rollout_nodes_and_learners_to_gpu_nodes():
    config = PPOLagConfig().env_runners(num_env_runners=4, custom_resources_per_env_runner={"spot": 1})
    apply_placement(config, Placement(num_learners=2, num_gpus_per_learner=1))
    assert config.custom_resources_per_env_runner == {"spot": 1, ROLLOUT_RESOURCE: 1}
    assert config.num_gpus_per_env_runner == 0
    assert (config.num_learners, config.num_gpus_per_learner) == (2, 1)
    assert config.custom_resources_per_learner == {LEARNER_GPU_RESOURCE: 1}


def test_placement_can_allow_rollouts_anywhere_and_cpu_learners():
    config = apply_placement(PPOLagConfig(), Placement())
    apply_placement(config, Placement(num_learners=0, num_gpus_per_learner=0, rollouts_on_gpu_nodes=True))
    assert config.custom_resources_per_env_runner == {}
    assert config.custom_resources_per_learner == {}
    assert (config.num_learners, config.num_gpus_per_learner) == (0, 0)


@pytest.mark.parametrize(
    ("placement", "field"),
    [
        (Placement(num_learners=0, num_gpus_per_learner=1), "num_learners"),
        (Placement(num_learners=-1, num_gpus_per_learner=0), "num_learners"),
        (Placement(num_learners=1.5, num_gpus_per_learner=0), "num_learners"),
        (Placement(num_learners=1, num_gpus_per_learner=-1), "num_gpus_per_learner"),
    ],
)
def test_placement_rejects_bad_values_naming_the_field(placement, field):
    with pytest.raises(ValueError, match=f"`{field}`"):
        apply_placement(PPOLagConfig(), placement)
