"""PPO's default torch RL module plus a cost value head with its own encoder."""

from __future__ import annotations

from typing import Any

import torch
from ray.rllib.algorithms.ppo.torch.default_ppo_torch_rl_module import DefaultPPOTorchRLModule
from ray.rllib.core.models.base import ENCODER_OUT
from ray.rllib.utils.annotations import override

from rllib_safe.speed.module_sampling import GaussianSamplingInModule


class SafePPOTorchRLModule(GaussianSamplingInModule, DefaultPPOTorchRLModule):
    """Actor, reward critic and cost critic V^c(s), each with its own encoder.

    The cost critic lives only on the learners (``get_non_inference_attributes``), so
    EnvRunners receive and run just the actor. Exploration samples in the module
    (``rllib_safe.speed.module_sampling``: RLlib's Gaussian sample, in one pass).
    """

    @override(DefaultPPOTorchRLModule)
    def setup(self) -> None:
        super().setup()
        if not self.inference_only:
            encoder_config = self.catalog.actor_critic_encoder_config.base_encoder_config
            self.cost_encoder = encoder_config.build(framework=self.framework)
            self.cost_vf = self.catalog.build_vf_head(framework=self.framework)

    @override(DefaultPPOTorchRLModule)
    def get_non_inference_attributes(self) -> list[str]:
        return super().get_non_inference_attributes() + ["cost_encoder", "cost_vf"]

    def compute_cost_values(self, batch: dict[str, Any]) -> torch.Tensor:
        """V^c(s_t) for every row of the batch."""
        embeddings = self.cost_encoder(batch)[ENCODER_OUT]
        return self.cost_vf(embeddings).squeeze(-1)

    def actor_parameters(self) -> list[torch.nn.Parameter]:
        """The policy's parameters only (actor encoder and pi head, log-std included)."""
        return [*self.encoder.actor_encoder.parameters(), *self.pi.parameters()]
