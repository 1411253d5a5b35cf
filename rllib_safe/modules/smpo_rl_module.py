"""SafePPO's module plus SMPO's cost critic Q^c(s, a) and its target copy (docs/algorithms.md section 3)."""

from __future__ import annotations

import copy

import gymnasium as gym
import torch
from ray.rllib.core.models.base import ENCODER_OUT
from ray.rllib.core.models.configs import MLPHeadConfig
from torch.nn import functional as F

from rllib_safe.modules.safe_ppo_rl_module import SafePPOTorchRLModule


class SMPOTorchRLModule(SafePPOTorchRLModule):
    """Adds Q^c(s, a) >= 0 (softplus output) over concat(obs, action) and a target copy.

    Discrete actions enter one-hot, Box actions flattened. Both Q^c networks live only on
    the learners; the target copy is updated by ``update_cost_q_target`` (Polyak).
    """

    def setup(self) -> None:
        super().setup()
        if self.inference_only:
            return
        if not isinstance(self.observation_space, gym.spaces.Box):
            raise TypeError(f"SMPO's Q^c needs a Box observation space, got {self.observation_space!r}.")
        hiddens = self.model_config.get("fcnet_hiddens", [64, 64])
        self.cost_q = MLPHeadConfig(
            input_dims=[gym.spaces.flatdim(self.observation_space) + gym.spaces.flatdim(self.action_space)],
            hidden_layer_dims=list(hiddens),
            hidden_layer_activation=self.model_config.get("fcnet_activation", "tanh"),
            output_layer_dim=1,
        ).build(framework="torch")
        self.target_cost_q = copy.deepcopy(self.cost_q)
        self.target_cost_q.requires_grad_(False)

    def get_non_inference_attributes(self) -> list[str]:
        return super().get_non_inference_attributes() + ["cost_q", "target_cost_q"]

    def _encode_actions(self, actions: torch.Tensor) -> torch.Tensor:
        if isinstance(self.action_space, gym.spaces.Discrete):
            return F.one_hot(actions.long(), self.action_space.n).float()
        return actions.reshape(actions.shape[0], -1).float()

    def compute_cost_q_values(
        self, obs: torch.Tensor, actions: torch.Tensor, *, target: bool = False
    ) -> torch.Tensor:
        """Q^c(s, a) >= 0 for each row (the target copy with ``target=True``)."""
        net = self.target_cost_q if target else self.cost_q
        inputs = torch.cat([obs.reshape(obs.shape[0], -1).float(), self._encode_actions(actions)], dim=-1)
        return F.softplus(net(inputs)).squeeze(-1)

    def compute_actor_outputs(self, obs: torch.Tensor) -> torch.Tensor:
        """Action distribution inputs of pi(.|s) for a batch of observations."""
        embeddings = self.encoder.actor_encoder({"obs": obs})[ENCODER_OUT]
        return self.pi(embeddings)

    def expected_cost_q_values(
        self, obs: torch.Tensor, action_dist_inputs: torch.Tensor, *, num_samples: int, target: bool = True
    ) -> torch.Tensor:
        """E_{a~pi(.|s)} Q^c(s, a) of the target copy (online with ``target=False``).

        Exact for Discrete actions, a mean over ``num_samples`` samples otherwise.
        """
        if isinstance(self.action_space, gym.spaces.Discrete):
            num_actions = self.action_space.n
            actions = torch.arange(num_actions, device=obs.device).repeat(obs.shape[0])
            q = self.compute_cost_q_values(obs.repeat_interleave(num_actions, 0), actions, target=target)
            probs = torch.softmax(action_dist_inputs, dim=-1)
            return (probs * q.reshape(-1, num_actions)).sum(-1)
        dist = self.get_train_action_dist_cls().from_logits(action_dist_inputs)
        samples = torch.stack([dist.sample() for _ in range(num_samples)])  # (K, B, ...)
        q = self.compute_cost_q_values(
            obs.repeat(num_samples, *([1] * (obs.dim() - 1))),
            samples.reshape(-1, *samples.shape[2:]),
            target=target,
        )
        return q.reshape(num_samples, -1).mean(0)

    @torch.no_grad()
    def update_cost_q_target(self, tau: float) -> None:
        """Polyak step: target <- (1 - tau) target + tau online (tau = 1 copies)."""
        for target, online in zip(self.target_cost_q.parameters(), self.cost_q.parameters()):
            target.lerp_(online, tau)

    def cost_q_weights(self) -> list[torch.nn.Parameter]:
        """Q^c's weight matrices (biases excluded), the ones the L2 regulariser acts on."""
        return [p for name, p in self.cost_q.named_parameters() if name.endswith("weight")]
