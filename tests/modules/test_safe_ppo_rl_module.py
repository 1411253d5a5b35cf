"""The safe PPO module's cost critic: on the learners only, V^c(s) per row, apart from the actor.

Exploration sampled in the module is the speed layer's (tests/speed/test_module_sampling.py)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch
from ray.rllib.core.columns import Columns

from rllib_safe.algorithms import default_config
from rllib_safe.modules import SafePPOTorchRLModule

OBS = gym.spaces.Box(-1.0, 1.0, shape=(5,), dtype=np.float32)
BOX = gym.spaces.Box(-1.0, 1.0, shape=(3,), dtype=np.float32)


def build(inference_only=False):
    config = default_config("ppo-lag")
    spec = config.get_default_rl_module_spec()
    spec.observation_space, spec.action_space = OBS, BOX
    spec.inference_only = inference_only
    spec.model_config = dict(config.model_config)
    return spec.build()


def test_cost_critic_lives_on_the_learners_only():
    learner_module, env_runner_module = build(), build(inference_only=True)
    assert isinstance(learner_module, SafePPOTorchRLModule)
    assert hasattr(learner_module, "cost_vf") and hasattr(learner_module, "cost_encoder")
    assert not hasattr(env_runner_module, "cost_vf") and not hasattr(env_runner_module, "cost_encoder")
    assert {"cost_encoder", "cost_vf"} <= set(learner_module.get_non_inference_attributes())


def test_cost_values_one_per_row_and_apart_from_the_actor():
    module = build()
    batch = {Columns.OBS: torch.zeros(7, 5)}
    assert module.compute_cost_values(batch).shape == (7,)
    actor = {id(p) for p in module.actor_parameters()}
    assert actor and not actor & {id(p) for p in module.cost_vf.parameters()}
    assert not actor & {id(p) for p in module.cost_encoder.parameters()}
