"""Exploration sampled in the module (rllib_safe.speed.module_sampling): RLlib's Gaussian sample, logp and
dist inputs, in one pass."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from ray.rllib.connectors.module_to_env import GetActions
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.torch.torch_rl_module import TorchRLModule

from rllib_safe.algorithms import default_config
from rllib_safe.modules import SafePPOTorchRLModule, SMPOTorchRLModule
from rllib_safe.speed.module_sampling import functional_steps, run_steps

OBS = gym.spaces.Box(-1.0, 1.0, shape=(5,), dtype=np.float32)
BOX = gym.spaces.Box(-1.0, 1.0, shape=(3,), dtype=np.float32)


def build(algo="ppo-lag", action_space=BOX, inference_only=False, model_config=None):
    config = default_config(algo)
    spec = config.get_default_rl_module_spec()
    spec.observation_space, spec.action_space = OBS, action_space
    spec.inference_only = inference_only
    spec.model_config = {**config.model_config, **(model_config or {})}
    return spec.build()


def obs_batch(n=8, seed=0):
    return {Columns.OBS: torch.as_tensor(np.random.default_rng(seed).uniform(-1, 1, (n, 5)), dtype=torch.float32)}


def rllib_sample(module, batch, explore=True):
    """What RLlib's EnvRunner gets without the fused path: its forward, then GetActions."""
    forward = TorchRLModule.forward_exploration if explore else TorchRLModule.forward_inference
    output = forward(module, batch)
    return GetActions()._get_actions(output, module, explore) or output


@pytest.mark.parametrize("algo,module_class", [("ppo-lag", SafePPOTorchRLModule), ("smpo", SMPOTorchRLModule)])
@pytest.mark.parametrize("inference_only", [False, True])
@pytest.mark.parametrize("free_log_std", [True, False], ids=["free-log-std", "log-std-head"])
def test_fused_exploration_is_rllibs_gaussian_sample(algo, module_class, inference_only, free_log_std):
    module = build(algo, inference_only=inference_only, model_config={"free_log_std": free_log_std})
    assert isinstance(module, module_class) and module.samples_gaussian_in_module()
    assert hasattr(module.pi, "log_std") == free_log_std
    if free_log_std:
        with torch.no_grad():
            module.pi.log_std.copy_(torch.tensor([-0.5, 0.0, 0.3]))
    batch = obs_batch()
    torch.manual_seed(3)
    fused = module.forward_exploration(batch, t=0)
    torch.manual_seed(3)
    reference = rllib_sample(module, batch)
    for column in (Columns.ACTIONS, Columns.ACTION_DIST_INPUTS):
        torch.testing.assert_close(fused[column], reference[column], rtol=0, atol=0)
    torch.testing.assert_close(fused[Columns.ACTION_LOGP], reference[Columns.ACTION_LOGP], rtol=1e-6, atol=1e-5)
    dist = module.get_exploration_action_dist_cls().from_logits(
        module.forward_inference(batch)[Columns.ACTION_DIST_INPUTS]
    )
    torch.testing.assert_close(fused[Columns.ACTION_LOGP], dist.logp(fused[Columns.ACTIONS]), rtol=1e-6, atol=1e-5)
    assert not fused[Columns.ACTIONS].requires_grad


def test_fused_sample_has_the_policys_mean_and_std():
    module = build()
    batch = {Columns.OBS: obs_batch(1)[Columns.OBS].repeat(20000, 1)}
    out = module.forward_exploration(batch)
    mean, log_std = out[Columns.ACTION_DIST_INPUTS][0].chunk(2)
    torch.testing.assert_close(out[Columns.ACTIONS].mean(0), mean, atol=0.03, rtol=0)
    torch.testing.assert_close(out[Columns.ACTIONS].std(0), log_std.exp(), atol=0.03, rtol=0)


def test_evaluation_stays_deterministic():
    module = build()
    batch = obs_batch()
    first, second = rllib_sample(module, batch, explore=False), rllib_sample(module, batch, explore=False)
    mean = module.forward_inference(batch)[Columns.ACTION_DIST_INPUTS].chunk(2, dim=-1)[0]
    torch.testing.assert_close(first[Columns.ACTIONS], mean)
    torch.testing.assert_close(second[Columns.ACTIONS], mean)


def test_training_mode_is_left_alone():
    module = build()
    module.train()
    module.forward_exploration(obs_batch())
    assert module.training


def test_discrete_actions_keep_rllibs_path():
    module = build(action_space=gym.spaces.Discrete(3))
    assert not module.samples_gaussian_in_module()
    out = module.forward_exploration(obs_batch())
    assert Columns.ACTIONS not in out and out[Columns.ACTION_DIST_INPUTS].shape == (8, 3)


def test_train_eval_dependent_layers_keep_rllibs_path():
    module = build()
    module.encoder.actor_encoder.dropout = torch.nn.Dropout(0.5)
    assert not module.samples_gaussian_in_module()
    assert Columns.ACTIONS not in module.forward_exploration(obs_batch())


def test_default_networks_have_no_train_eval_dependent_layers():
    for algo in ("ppo-lag", "smpo"):
        module = build(algo)
        kinds = {type(layer) for layer in module.modules()}
        assert not any(
            issubclass(kind, (torch.nn.modules.dropout._DropoutNd, torch.nn.modules.batchnorm._BatchNorm))
            for kind in kinds
        )


@pytest.mark.parametrize("activation", ["tanh", "relu", "silu"])
def test_functional_steps_compute_the_network_op_for_op(activation):
    module = build(model_config={"fcnet_activation": activation, "fcnet_hiddens": [16, 8]})
    steps = functional_steps(module.encoder.actor_encoder.net)
    assert steps is not None and len(steps) == 4
    x = obs_batch()[Columns.OBS]
    torch.testing.assert_close(run_steps(steps, x), module.encoder.actor_encoder.net(x), rtol=0, atol=0)


def test_functional_steps_refuse_other_layers():
    assert functional_steps(torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.LayerNorm(4))) is None


def test_fused_exploration_follows_weight_updates():
    """The layers are held by reference: new weights (set_state copies in place) are used."""
    module, trained = build(), build()
    with torch.no_grad():
        for parameter in trained.parameters():
            parameter.add_(torch.randn_like(parameter))
    batch = obs_batch()
    module.forward_exploration(batch)  # the steps are built here, from the first weights
    module.set_state(trained.get_state())
    torch.manual_seed(5)
    fused = module.forward_exploration(batch)
    torch.manual_seed(5)
    reference = rllib_sample(trained, batch)
    torch.testing.assert_close(fused[Columns.ACTIONS], reference[Columns.ACTIONS], rtol=0, atol=0)
