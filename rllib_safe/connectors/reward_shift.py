"""Learner connector: the ``episode_reward_minimum`` column, aligned with actions."""

from __future__ import annotations

from typing import Any

from ray.rllib.connectors.connector_v2 import ConnectorV2

from rllib_safe.connectors.columns import EPISODE_REWARD_MINIMUM, EPISODE_REWARD_MINIMUM_INFO


class AddEpisodeRewardMinimumToTrainBatch(ConnectorV2):
    """Adds the ``episode_reward_minimum`` column to the train batch.

    Its value at t is min(0, the lowest reward of the episode up to and including the reward of
    action t), so ``reward_t - episode_reward_minimum_t >= 0``: the shift of SMPO's reward
    shaping, computed here from the infos so that the env's rewards (and reported returns) stay
    as they are.

    Must run right after ``AddOneTsToEpisodesAndTruncate``: each episode chunk then holds its
    real steps plus one phantom step (masked out of the loss). Infos are aligned with
    observations, so the value after action t is ``infos[t + 1]["episode_reward_minimum"]``;
    the phantom step repeats the last real step's value (the first info's in a chunk without
    real steps). The infos carry the running value (kept by ``CostContract``), so it stays
    correct for chunks that continue an episode.
    """

    def __call__(self, *, rl_module, batch: dict[str, Any], episodes, **kwargs) -> Any:
        for episode in self.single_agent_episode_iterator(episodes, agents_that_stepped_only=False):
            num_items = len(episode)  # real steps + the phantom step
            infos = episode.get_infos(slice(0, num_items))
            if any(EPISODE_REWARD_MINIMUM_INFO not in info for info in infos):
                raise KeyError(
                    f"Episode infos carry no '{EPISODE_REWARD_MINIMUM_INFO}'. Envs built by "
                    "rllib_safe.envs.make_env carry it (CostContract); wrap other envs in "
                    "rllib_safe.envs.CostContract."
                )
            minima = [float(info[EPISODE_REWARD_MINIMUM_INFO]) for info in infos[1:num_items]]
            minima.append(minima[-1] if minima else float(infos[0][EPISODE_REWARD_MINIMUM_INFO]))
            self.add_n_batch_items(batch, EPISODE_REWARD_MINIMUM, minima, num_items, episode)
        return batch
