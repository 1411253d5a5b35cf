"""Exploration sampled inside the RL module: RLlib's Gaussian sample, log-probability and
distribution inputs from one ``inference_mode`` pass (replaces ``forward_exploration`` followed
by the ``GetActions`` connector piece)."""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import torch
import torch.nn.functional as F
from ray.rllib.core.columns import Columns
from ray.rllib.core.distribution.torch.torch_distribution import TorchDiagGaussian
from ray.rllib.core.models.torch.encoder import TorchMLPEncoder
from ray.rllib.core.models.torch.heads import TorchFreeLogStdMLPHead
from ray.rllib.core.rl_module.torch.torch_rl_module import TorchRLModule
from ray.rllib.utils.annotations import override

from rllib_safe.rllib_private import module_forward

#: log(sqrt(2 pi)), the Gaussian log-density's constant (as torch's ``Normal.log_prob`` has it).
LOG_SQRT_2PI = math.log(math.sqrt(2 * math.pi))
#: Layers whose output depends on ``train()``/``eval()``: a module holding one samples through RLlib's path.
MODE_DEPENDENT = (torch.nn.modules.dropout._DropoutNd, torch.nn.modules.batchnorm._BatchNorm)
#: Parameter-free activation layers and the function each computes.
ACTIVATIONS = {
    torch.nn.Tanh: torch.tanh,
    torch.nn.ReLU: torch.relu,
    torch.nn.Sigmoid: torch.sigmoid,
    torch.nn.SiLU: F.silu,
}


def functional_steps(net: torch.nn.Module) -> list | None:
    """``net``'s leaf layers as functions on its own parameters, in call order: ``(weight, bias)``
    for ``F.linear`` or an activation function; None if any layer is of another kind.

    For an ``nn.Sequential`` of linear and activation layers (RLlib's ``TorchMLP``) running the
    steps computes what ``net(x)`` computes, op for op, without a module call per layer. The
    parameters are held, not copied: weight updates (``set_state`` copies in place) apply.
    """
    steps = []
    for layer in net.modules():
        if next(layer.children(), None) is not None:
            continue  # a container: its leaves follow in order
        if type(layer) is torch.nn.Linear:
            steps.append((layer.weight, layer.bias))
        elif type(layer) in ACTIVATIONS:
            steps.append(ACTIVATIONS[type(layer)])
        else:
            return None
    return steps


def run_steps(steps: list, x: torch.Tensor) -> torch.Tensor:
    """The output of the network whose ``functional_steps`` these are."""
    for step in steps:
        x = F.linear(x, *step) if type(step) is tuple else step(x)
    return x


class GaussianSamplingInModule:
    """Put before ``DefaultPPOTorchRLModule``: exploration with a diagonal Gaussian policy samples
    in the module (``forward_exploration``).

    One ``inference_mode`` pass returns the action, its log-probability and the distribution
    inputs, so RLlib's ``GetActions`` connector piece has nothing left to do, and no
    ``eval()``/``train()`` switch runs per step (the networks have no dropout or batch norm;
    a module with such a layer keeps RLlib's path). The sample is RLlib's: the same draw from
    the global torch generator as ``TorchDiagGaussian.sample`` (same seed, same actions). The
    default actor (MLP encoder, free log-std head) of linear and activation layers calls them as
    functions (``functional_steps``: no module call per layer); any other actor runs through
    RLlib's ``_forward``.
    """

    def samples_gaussian_in_module(self) -> bool:
        """Whether ``forward_exploration`` samples itself (Box actions, RLlib's diagonal Gaussian,
        no train/eval-dependent layer); computed once."""
        fused = self.__dict__.get("_samples_gaussian_in_module")
        if fused is None:
            fused = (
                isinstance(self.action_space, gym.spaces.Box)
                and self.get_exploration_action_dist_cls() is TorchDiagGaussian
                and not any(isinstance(layer, MODE_DEPENDENT) for layer in self.modules())
            )
            self.__dict__["_samples_gaussian_in_module"] = fused
        return fused

    def _mean_steps(self) -> list | None:
        """The default actor (MLP encoder, free log-std head) as ``functional_steps`` from the
        observation to the action mean; None for any other actor. Computed once."""
        if "_actor_mean_steps" not in self.__dict__:
            actor_encoder = getattr(self.encoder, "actor_encoder", None)
            steps = None
            if type(actor_encoder) is TorchMLPEncoder and type(self.pi) is TorchFreeLogStdMLPHead:
                encoder_steps, head_steps = functional_steps(actor_encoder.net), functional_steps(self.pi.net)
                if encoder_steps is not None and head_steps is not None:
                    steps = encoder_steps + head_steps
            self.__dict__["_actor_mean_steps"] = steps
        return self.__dict__["_actor_mean_steps"]

    def _free_log_std(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The free log-std head's (clamped) log std, std and the log-density's offset
        ``-sum(log_std) - d log(sqrt(2 pi))``; recomputed only when the parameter changes (its
        version counter moves with every in-place update, ``set_state`` included)."""
        parameter = self.pi.log_std
        key = (id(parameter), parameter._version)
        cached = self.__dict__.get("_free_log_std_cache")
        if cached is None or cached[0] != key:
            log_std = parameter
            if self.pi.clip_log_std:
                log_std = torch.clamp(log_std, -self.pi.log_std_clip_param_const, self.pi.log_std_clip_param_const)
            offset = -(log_std.sum() + log_std.numel() * LOG_SQRT_2PI)
            cached = (key, (log_std, log_std.exp(), offset))
            self.__dict__["_free_log_std_cache"] = cached
        return cached[1]

    @override(TorchRLModule)
    def forward_exploration(self, batch: dict[str, Any], **kwargs) -> dict[str, Any]:
        if not self.samples_gaussian_in_module():
            return super().forward_exploration(batch, **kwargs)
        with torch.inference_mode():
            steps = self._mean_steps()
            if steps is None:
                output = module_forward(self, batch, **kwargs)
                mean, log_std = output[Columns.ACTION_DIST_INPUTS].chunk(2, dim=-1)
                std, logp_offset = log_std.exp(), -(log_std.sum(-1) + log_std.shape[-1] * LOG_SQRT_2PI)
            else:
                # RLlib's _forward for this actor (TorchMLPEncoder._forward,
                # TorchFreeLogStdMLPHead._forward), its layers called as functions, and the log
                # std's terms computed once per weight update.
                mean = run_steps(steps, batch[Columns.OBS])
                log_std, std, logp_offset = self._free_log_std()
                output = {Columns.ACTION_DIST_INPUTS: torch.cat([mean, log_std.expand_as(mean)], dim=-1)}
            noise = torch.randn_like(mean)  # TorchDiagGaussian.sample's draw: torch.normal(mean, std)
            output[Columns.ACTIONS] = mean + std * noise
            output[Columns.ACTION_LOGP] = torch.add(logp_offset, (noise * noise).sum(-1), alpha=-0.5)
        return output
