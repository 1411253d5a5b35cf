"""Learner connector: GAE of the cost with its own value head, gamma and lambda."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import torch
from ray.rllib.connectors.connector_v2 import ConnectorV2
from ray.rllib.core.columns import Columns
from ray.rllib.utils.numpy import convert_to_numpy
from ray.rllib.utils.postprocessing.value_predictions import compute_value_targets
from ray.rllib.utils.postprocessing.zero_padding import unpad_data_if_necessary

from rllib_safe.columns import COST_ADVANTAGES, COST_VALUE_TARGETS, COSTS

AdvantageNormalization = Literal["center", "standardize", "none"]


def normalize_advantages(advantages: np.ndarray, mode: AdvantageNormalization) -> np.ndarray:
    """Centres (OmniSafe's default for costs) or standardises advantages."""
    if mode == "none":
        return advantages
    centred = advantages - advantages.mean()
    if mode == "center":
        return centred
    return centred / max(1e-4, float(advantages.std()))


class CostGeneralAdvantageEstimation(ConnectorV2):
    """Computes ``cost_advantages`` and ``cost_value_targets`` (GAE over ``costs``).

    Runs after RLlib's ``GeneralAdvantageEstimation``: the batch is complete, including
    the phantom step per chunk whose cost value bootstraps truncated chunks. Modules must
    provide ``compute_cost_values(batch)``.
    """

    def __init__(
        self,
        input_observation_space=None,
        input_action_space=None,
        *,
        gamma: float,
        lambda_: float,
        normalization: AdvantageNormalization = "center",
    ):
        super().__init__(input_observation_space, input_action_space)
        self.gamma = gamma
        self.lambda_ = lambda_
        self.normalization = normalization

    def __call__(self, *, rl_module, episodes, batch: dict[str, Any], **kwargs) -> Any:
        sa_episodes = list(
            self.single_agent_episode_iterator(episodes, agents_that_stepped_only=False)
        )
        for module_id, module_batch in batch.items():
            module = rl_module[module_id].unwrapped()
            if not hasattr(module, "compute_cost_values"):
                continue
            with torch.no_grad():
                values_tensor = module.compute_cost_values(module_batch)
            episode_lens = [len(e) for e in sa_episodes if e.module_id in (None, module_id)]

            def unpadded(column, lens=episode_lens):
                return unpad_data_if_necessary(lens, convert_to_numpy(column))

            values = unpadded(values_tensor)
            targets = compute_value_targets(
                values=values,
                rewards=unpadded(module_batch[COSTS]),
                terminateds=unpadded(module_batch[Columns.TERMINATEDS]),
                truncateds=unpadded(module_batch[Columns.TRUNCATEDS]),
                gamma=self.gamma,
                lambda_=self.lambda_,
            )
            advantages = normalize_advantages(targets - values, self.normalization)
            device = values_tensor.device
            module_batch[COST_ADVANTAGES] = torch.as_tensor(advantages, dtype=torch.float32, device=device)
            module_batch[COST_VALUE_TARGETS] = torch.as_tensor(targets, dtype=torch.float32, device=device)
        return batch
