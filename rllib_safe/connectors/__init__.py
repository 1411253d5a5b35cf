"""The cost pipeline: the EnvRunner callback that tracks episode costs, then the learner connector
pieces (per-step costs, GAE of rewards and costs over real steps, SMPO's columns).

``columns`` names the train-batch columns, the info key and the timestep keys they share.
"""

from rllib_safe.connectors.cost_columns import AddCostColumnsToTrainBatch
from rllib_safe.connectors.cost_gae import CostGeneralAdvantageEstimation, RewardGeneralAdvantageEstimation
from rllib_safe.connectors.modulated_rewards import ModulateRewards
from rllib_safe.connectors.reward_shift import AddEpisodeRewardMinimumToTrainBatch
from rllib_safe.connectors.safety_metrics_callback import SafetyMetricsCallback
from rllib_safe.connectors.transition_columns import AddTransitionColumnsToTrainBatch, RecordEpisodeEnds

__all__ = [
    "AddCostColumnsToTrainBatch",
    "AddEpisodeRewardMinimumToTrainBatch",
    "AddTransitionColumnsToTrainBatch",
    "CostGeneralAdvantageEstimation",
    "ModulateRewards",
    "RecordEpisodeEnds",
    "RewardGeneralAdvantageEstimation",
    "SafetyMetricsCallback",
]
