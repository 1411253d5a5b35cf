"""Learner connector pieces: per-step costs, GAE of rewards and costs over real steps, SMPO's columns."""

from rllib_safe.connectors.cost_columns import AddCostColumnsToTrainBatch
from rllib_safe.connectors.cost_gae import CostGeneralAdvantageEstimation, RewardGeneralAdvantageEstimation
from rllib_safe.connectors.modulated_rewards import ModulateRewards
from rllib_safe.connectors.transition_columns import AddTransitionColumnsToTrainBatch, RecordEpisodeEnds

__all__ = [
    "AddCostColumnsToTrainBatch",
    "AddTransitionColumnsToTrainBatch",
    "CostGeneralAdvantageEstimation",
    "ModulateRewards",
    "RecordEpisodeEnds",
    "RewardGeneralAdvantageEstimation",
]
