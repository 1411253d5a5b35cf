"""Learner connectors: GAE of the reward and of the cost, normalised over the real steps only.

``AddOneTsToEpisodesAndTruncate`` appends a phantom step to every episode chunk (for the
bootstrap value; ``loss_mask`` False). Its advantage is not a sample (-V(s_T) with reward 0),
yet RLlib's ``GeneralAdvantageEstimation`` standardises over every row, phantom ones
included, so each chunk shifts the mean and inflates the std of the batch's advantages.
Both pieces here take the mean and std over the rows whose ``loss_mask`` is True;
``RewardGeneralAdvantageEstimation`` replaces RLlib's piece in every rllib-safe learner.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import torch
from ray.rllib.connectors.connector_v2 import ConnectorV2
from ray.rllib.core.columns import Columns
from ray.rllib.evaluation.postprocessing import Postprocessing
from ray.rllib.utils.numpy import convert_to_numpy
from ray.rllib.utils.postprocessing.value_predictions import compute_value_targets

from rllib_safe.connectors.columns import COST_ADVANTAGES, COST_VALUE_TARGETS, COSTS

AdvantageNormalization = Literal["center", "standardize", "none"]

#: The std the reward advantages were divided by (the same on every row). SMPO divides its
#: policy term through Q^c by it, so both terms are in the same units.
ADVANTAGE_STD = "advantage_std"

#: RLlib's floor on the std it divides by.
MIN_ADVANTAGE_STD = 1e-4


def normalize_advantages(
    advantages: np.ndarray, mode: AdvantageNormalization, real_steps: np.ndarray
) -> tuple[np.ndarray, float]:
    """Centres (OmniSafe's default for costs) or standardises with the mean and std of the real steps.

    Returns the advantages (every row, phantom ones transformed alike) and the std divided
    by (1 unless standardised).
    """
    if mode == "none":
        return advantages, 1.0
    real = advantages[real_steps]
    centred = advantages - real.mean()
    if mode == "center":
        return centred, 1.0
    std = max(MIN_ADVANTAGE_STD, float(real.std()))
    return centred / std, std


def _numpy(column) -> np.ndarray:
    return np.asarray(convert_to_numpy(column))


class _AdvantageEstimationOverRealSteps(ConnectorV2):
    """GAE of ``rewards_column`` with one value head; subclasses name the columns and the head."""

    rewards_column: str
    advantages_column: str
    value_targets_column: str
    std_column: str | None = None

    def __init__(
        self,
        input_observation_space=None,
        input_action_space=None,
        *,
        gamma: float,
        lambda_: float,
        normalization: AdvantageNormalization,
    ):
        super().__init__(input_observation_space, input_action_space)
        self.gamma = gamma
        self.lambda_ = lambda_
        self.normalization = normalization

    def compute_values(self, module, module_batch: dict[str, Any]) -> torch.Tensor | None:
        """The value head's predictions on every row, or None when ``module`` has none."""
        raise NotImplementedError

    def __call__(self, *, rl_module, episodes, batch: dict[str, Any], **kwargs) -> Any:
        for module_id, module_batch in batch.items():
            with torch.no_grad():
                values_tensor = self.compute_values(rl_module[module_id].unwrapped(), module_batch)
            if values_tensor is None:
                continue
            values = _numpy(values_tensor)
            targets = compute_value_targets(
                values=values,
                rewards=_numpy(module_batch[self.rewards_column]),
                terminateds=_numpy(module_batch[Columns.TERMINATEDS]),
                truncateds=_numpy(module_batch[Columns.TRUNCATEDS]),
                gamma=self.gamma,
                lambda_=self.lambda_,
            )
            real_steps = _numpy(module_batch[Columns.LOSS_MASK]).astype(bool)
            advantages, std = normalize_advantages(targets - values, self.normalization, real_steps)

            def as_tensor(array, like=values_tensor):
                return torch.as_tensor(array, dtype=torch.float32, device=like.device)

            module_batch[self.advantages_column] = as_tensor(advantages)
            module_batch[self.value_targets_column] = as_tensor(targets)
            if self.std_column is not None:
                module_batch[self.std_column] = as_tensor(np.full_like(targets, std))
        return batch


class RewardGeneralAdvantageEstimation(_AdvantageEstimationOverRealSteps):
    """RLlib's ``GeneralAdvantageEstimation`` (``advantages``, ``value_targets``), standardised over real steps.

    Also writes ``advantage_std``, the std it divided by. Recurrent modules are not
    supported (``SafePPOConfig`` rejects ``use_lstm``).
    """

    rewards_column = Columns.REWARDS
    advantages_column = Postprocessing.ADVANTAGES
    value_targets_column = Postprocessing.VALUE_TARGETS
    std_column = ADVANTAGE_STD

    def __init__(self, input_observation_space=None, input_action_space=None, *, gamma: float, lambda_: float):
        super().__init__(
            input_observation_space, input_action_space, gamma=gamma, lambda_=lambda_, normalization="standardize"
        )

    def compute_values(self, module, module_batch):
        return module.compute_values(module_batch) if hasattr(module, "compute_values") else None


class CostGeneralAdvantageEstimation(_AdvantageEstimationOverRealSteps):
    """Computes ``cost_advantages`` and ``cost_value_targets`` (GAE over ``costs``, own gamma and lambda).

    ``normalization``: "center" (OmniSafe's default for costs), "standardize" or "none".

    Runs after the reward GAE: the batch is complete, including the phantom step per chunk
    whose cost value bootstraps truncated chunks. Modules must provide
    ``compute_cost_values(batch)``.
    """

    rewards_column = COSTS
    advantages_column = COST_ADVANTAGES
    value_targets_column = COST_VALUE_TARGETS

    def compute_values(self, module, module_batch):
        return module.compute_cost_values(module_batch) if hasattr(module, "compute_cost_values") else None
