"""Learner connector pieces that bring per-step costs into the train batch."""

from rllib_safe.connectors.cost_columns import AddCostColumnsToTrainBatch
from rllib_safe.connectors.cost_gae import CostGeneralAdvantageEstimation
from rllib_safe.connectors.modulated_rewards import ModulateRewards
from rllib_safe.connectors.transition_columns import AddTransitionColumnsToTrainBatch, RecordEpisodeEnds

__all__ = [
    "AddCostColumnsToTrainBatch",
    "AddTransitionColumnsToTrainBatch",
    "CostGeneralAdvantageEstimation",
    "ModulateRewards",
    "RecordEpisodeEnds",
]
