"""PPO's catalog, with the state-independent log-std only where it applies."""

from __future__ import annotations

import gymnasium as gym
from ray.rllib.algorithms.ppo.ppo_catalog import PPOCatalog


class SafePPOCatalog(PPOCatalog):
    """``free_log_std`` (OmniSafe's Gaussian policy) for Box actions; categorical otherwise."""

    def __init__(self, observation_space: gym.Space, action_space: gym.Space, model_config_dict: dict, **kwargs):
        if not isinstance(action_space, gym.spaces.Box):
            model_config_dict = {**model_config_dict, "free_log_std": False}
        super().__init__(observation_space, action_space, model_config_dict, **kwargs)
