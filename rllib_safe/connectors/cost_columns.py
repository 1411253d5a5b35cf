"""Learner connector: per-step ``costs`` and ``cost_so_far`` columns, aligned with actions."""

from __future__ import annotations

from typing import Any

from ray.rllib.connectors.connector_v2 import ConnectorV2

from rllib_safe.connectors.columns import COST_SO_FAR, COSTS, CUMULATIVE_COST_INFO


class AddCostColumnsToTrainBatch(ConnectorV2):
    """Adds the ``costs`` and ``cost_so_far`` columns to the train batch.

    Must run right after ``AddOneTsToEpisodesAndTruncate``: each episode chunk then holds
    its real steps plus one phantom step (masked out of the loss). Infos are aligned with
    observations, so the cost of action t is ``infos[t + 1]["cost"]``; the phantom step
    gets cost 0. ``cost_so_far`` at t is the episode's cost before action t, read from the
    ``cumulative_cost`` in the infos (kept by ``CostContract``, or by ``SafetyMetricsCallback``
    for envs without it), so it stays correct for chunks that continue an episode.
    """

    def __call__(self, *, rl_module, batch: dict[str, Any], episodes, **kwargs) -> Any:
        for episode in self.single_agent_episode_iterator(episodes, agents_that_stepped_only=False):
            num_items = len(episode)  # real steps + the phantom step
            infos = episode.get_infos(slice(0, num_items))
            costs = [float(info.get("cost", 0.0)) for info in infos[1:num_items]] + [0.0]
            if CUMULATIVE_COST_INFO not in infos[0]:
                raise KeyError(
                    f"Episode infos carry no '{CUMULATIVE_COST_INFO}'. Keep "
                    "rllib_safe.connectors.SafetyMetricsCallback in config.callbacks(...)."
                )
            cost_so_far = [float(info[CUMULATIVE_COST_INFO]) for info in infos[: num_items - 1]]
            cost_so_far.append(cost_so_far[-1] + costs[-2] if num_items > 1 else cost_so_far[-1])
            self.add_n_batch_items(batch, COSTS, costs, num_items, episode)
            self.add_n_batch_items(batch, COST_SO_FAR, cost_so_far, num_items, episode)
        return batch
