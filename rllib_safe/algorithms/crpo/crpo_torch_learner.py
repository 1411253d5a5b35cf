"""CRPO learner: PCRPO's actor machinery with hard switching at d + cost_tolerance.

A reward step (along g_r) while J_c <= d + tolerance, else a cost step (along g_c), with the
actor step of ``actor_step`` (``SwitchingTorchLearner``: trust region by default, PPO-clip on A_r
or -A_c first order). Before the first finished episode J_c is unknown (``episode_cost`` is
None): CRPO then takes a reward step, as with J_c within the limit. Every iteration logs, as
PCRPO does, ``mode_reward`` / ``mode_cost`` (1.0 for the step taken; ``mode_soft_*`` stay 0),
``cost_measured`` (1.0 once J_c is measured; from ``SafePPOTorchLearner``) and, trust region,
the ``line_search_*`` metrics (``rllib_safe.metrics``).
"""

from __future__ import annotations

from rllib_safe.algorithms.switching.switching_torch_learner import SwitchingTorchLearner
from rllib_safe.core import Region, hard_switch_region


class CRPOTorchLearner(SwitchingTorchLearner):
    def region(self) -> Region:
        """COST if J_c > d + tolerance, else REWARD (also while J_c is unknown)."""
        if self.episode_cost is None:
            return Region.REWARD
        return hard_switch_region(self.episode_cost, self.config.cost_limit, self.config.cost_tolerance)
