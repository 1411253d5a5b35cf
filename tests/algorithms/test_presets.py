"""Named presets: OmniSafe's on-policy schedule and the PCRPO authors' setup (with one preset per task
of their paper) in one word, in Python, the CLI and sweep specs."""

from __future__ import annotations

import math

import pytest

from rllib_safe.algorithms import ALGORITHMS, default_config
from rllib_safe.algorithms.pcrpo import PCRPOConfig
from rllib_safe.algorithms.presets import PRESET_ENVS, PRESETS, preset_settings
from rllib_safe.envs import register_envs
from rllib_safe.runs import TrainOptions, build_config
from rllib_safe.runs.config import check_env_id
from rllib_safe.runs.service import UsageError, prepare_run


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


PCRPO_TASK_PRESETS = ["pcrpo-walker2d", "pcrpo-humanoidstandup", "pcrpo-reacher", "pcrpo-hopper"]


def test_pcrpo_authors_preset_is_their_safety_mujoco_setup():
    # ESPO tables (arXiv 2405.20860) and the PCRPO paper; docs/algorithms.md section 2
    assert PRESETS["pcrpo-authors"] == {
        "gamma": 0.995,
        "lambda_": 0.97,
        "train_batch_size_per_learner": 16_000,
        "actor_step": "trust_region",
        "max_kl": 0.05,
        "cg_damping": 0.1,
        "cg_iterations": 10,
        "line_search_decay": 0.8,
        "line_search_max_backtracks": 15,
        "reward_weight": 0.5,
        "conflict_angle": 90.0,
        "warmup_env_steps": 640_000,  # 40 of their iterations of 16,000 samples
    }


@pytest.mark.parametrize(
    ("name", "env", "limit", "upper", "lower"),
    [
        ("pcrpo-walker2d", "SafetyMujocoWalker2d-v1", 40.0, math.inf, 0.0),
        ("pcrpo-humanoidstandup", "SafetyMujocoHumanoidStandup-v1", 1400.0, 300.0, 0.0),
        ("pcrpo-reacher", "SafetyMujocoReacher-v1", 40.0, 0.0, -math.inf),
        ("pcrpo-hopper", "SafetyHopperVelocity-v1", 25.0, 9.0, -9.0),
    ],
)
def test_pcrpo_task_presets_are_the_authors_limits_and_slacks(name, env, limit, upper, lower):
    assert PRESET_ENVS[name] == env
    assert PRESETS[name] == PRESETS["pcrpo-authors"] | {"cost_limit": limit, "slack_upper": upper, "slack_lower": lower}
    register_envs()
    check_env_id(env)  # a registered id
    config = PCRPOConfig().environment("CartPole-v1").training(**preset_settings(name))
    config.validate()
    assert (config.cost_limit, config.slack_upper, config.slack_lower, config.warmup_steps()) == (
        limit, upper, lower, 640_000
    )


def test_a_pcrpo_preset_run_shorter_than_its_warmup_fails_before_ray_starts(ray_must_not_start, tmp_path):
    options = TrainOptions(algo="pcrpo", env="BudgetEnv", preset="pcrpo-walker2d", run_dir=tmp_path, timesteps=640_000)
    with pytest.raises(UsageError, match=r"`warmup_env_steps` = 640000 is invalid: the warm-up must be shorter than "
                                         r"the run \(--timesteps 640000\): use warmup_env_steps < 640000"):
        prepare_run(options)
    old = TrainOptions(algo="pcrpo", env="BudgetEnv", run_dir=tmp_path, timesteps=8_000,
                       overrides={"warmup_iterations": 2})
    with pytest.raises(UsageError, match=r"`warmup_iterations` = 2 \(= 8000 env steps\) is invalid"):
        prepare_run(old)
    longer = options.model_copy(update={"timesteps": 656_000})
    assert prepare_run(longer).config.warmup_steps() == 640_000


@pytest.mark.parametrize("slacks", [{"slack_lower": 1.0}, {"slack_upper": -1.0}])
def test_pcrpo_task_preset_with_slacks_of_the_wrong_sign_fails_naming_the_field(ray_must_not_start, tmp_path, slacks):
    (name,) = slacks
    options = TrainOptions(algo="pcrpo", env="BudgetEnv", preset="pcrpo-hopper", run_dir=tmp_path,
                           timesteps=1_000_000, overrides=slacks)
    with pytest.raises(UsageError, match=f"`{name}` = {slacks[name]!r} is invalid"):
        prepare_run(options)


@pytest.mark.parametrize("algo", sorted(ALGORITHMS))
def test_preset_applies_to_every_algorithm_and_later_settings_win(algo):
    config = default_config(algo).environment("CartPole-v1").training(**PRESETS["omnisafe"])
    config.training(num_epochs=10)  # an explicit setting after the preset overrides it
    config.validate()
    assert (config.num_epochs, config.minibatch_size, config.target_kl) == (10, 64, 0.02)
    assert config.train_batch_size_per_learner == 20_000


def test_unknown_preset_lists_the_known_ones():
    known = r"\[.*'omnisafe', 'pcrpo-authors'.*'pcrpo-walker2d', 'smpo-authors', 'smpo-paper'\]"
    with pytest.raises(ValueError, match=rf"unknown preset 'omnisaf'; choose one of {known}"):
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


def test_smpo_presets_set_the_papers_and_the_authors_reading():
    paper, authors = PRESETS["smpo-paper"], PRESETS["smpo-authors"]
    assert paper["negative_reward_modulation"] == "paper" and paper["min_weight"] is None
    assert paper["modulation_warmup_env_steps"] == 0 and paper["modulation_target"] == "reward"
    assert paper["qc_bootstrap_time_limit"] is False  # the paper's (1 - done): done at every episode end
    # jajajag/smpo: f on the advantage, rewards shifted >= 0, f in [-5, 5], b = 4, 5 epochs of PPO
    # first, the term -0.1 W log pi(a'|s) at the same state, Q^c's L2 on its predictions, 256-256.
    assert authors["modulation_target"] == "advantage" and authors["reward_shift"] == "episode_minimum"
    assert (authors["min_weight"], authors["modulation_base"]) == (-5.0, 4.0)
    assert authors["modulation_warmup_env_steps"] == 5 * 20_000
    assert authors["threshold_anneal_env_steps"] == 50 * 20_000
    assert (authors["critic_gradient_estimator"], authors["critic_gradient_coeff"]) == ("same_state", 0.1)
    assert (authors["qc_regularizer"], authors["qc_l2"]) == ("prediction_l2", 0.1)
    assert authors["qc_bootstrap_time_limit"] is True  # their target ignores episode ends: the nearest reading
    assert authors["model_config"]["fcnet_hiddens"] == [256, 256]
    for name in ("smpo-paper", "smpo-authors"):
        config = build_config("smpo", "SafetyPointGoal1-v0", preset=name)
        for key, value in PRESETS[name].items():
            if key == "model_config":
                assert config.model_config.items() >= value.items(), name
            else:
                assert getattr(config, key) == value, (name, key)


@pytest.mark.parametrize("algo", ["ppo", "ppo-lag", "crpo", "pcrpo"])
def test_smpo_presets_are_refused_by_other_algorithms(algo):
    with pytest.raises(ValueError, match="modulation"):
        build_config(algo, "SafetyPointGoal1-v0", preset="smpo-authors")


def test_an_smpo_warm_up_as_long_as_the_run_is_refused_before_ray_starts(ray_must_not_start, tmp_path):
    options = TrainOptions(algo="smpo", env="SafetyPointCircle1-v0", preset="smpo-authors", timesteps=100_000,
                           run_dir=tmp_path / "run")
    with pytest.raises(UsageError, match=r"`modulation_warmup_env_steps` = 100000 is invalid.*shorter than the run"):
        prepare_run(options)
