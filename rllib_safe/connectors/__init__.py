"""Learner connector pieces that bring per-step costs into the train batch."""

from rllib_safe.connectors.cost_columns import AddCostColumnsToTrainBatch
from rllib_safe.connectors.cost_gae import CostGeneralAdvantageEstimation

__all__ = ["AddCostColumnsToTrainBatch", "CostGeneralAdvantageEstimation"]
