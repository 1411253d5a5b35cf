"""The ``episode_reward_minimum`` column: the infos' running minimum, aligned with actions."""

from __future__ import annotations

import numpy as np
import pytest
from ray.rllib.connectors.learner import AddOneTsToEpisodesAndTruncate
from ray.rllib.core.columns import Columns
from ray.rllib.env.single_agent_episode import SingleAgentEpisode

from rllib_safe.connectors import AddEpisodeRewardMinimumToTrainBatch
from rllib_safe.connectors.columns import CUMULATIVE_COST_INFO, EPISODE_REWARD_MINIMUM, EPISODE_REWARD_MINIMUM_INFO
from rllib_safe.envs import CostContract
from tests.connectors.episodes import ACTION_SPACE, OBSERVATION_SPACE
from tests.envs.test_wrappers import ScriptedEnv


def chunk(rewards, *, minimum_before=0.0, terminated=False, info_key=EPISODE_REWARD_MINIMUM_INFO):
    """An episode chunk whose infos carry the running reward minimum, as ``CostContract`` writes it.

    ``minimum_before``: the episode's minimum before the chunk (a chunk that continues an episode).
    """
    rng = np.random.default_rng(0)
    n = len(rewards)
    minima = np.minimum.accumulate([minimum_before, *rewards]).tolist()
    return SingleAgentEpisode(
        observations=[rng.uniform(0, 1, 2).astype(np.float32) for _ in range(n + 1)],
        actions=[rng.uniform(-1, 1, 1).astype(np.float32) for _ in range(n)],
        rewards=[float(r) for r in rewards],
        infos=[{"cost": 0.0, CUMULATIVE_COST_INFO: 0.0, info_key: m} for m in minima],
        terminated=terminated,
        observation_space=OBSERVATION_SPACE,
        action_space=ACTION_SPACE,
        len_lookback_buffer=0,
    ).to_numpy()


def column(episodes, name=EPISODE_REWARD_MINIMUM) -> list[list[float]]:
    """The column per chunk after RLlib's phantom step and the connector, as the learner runs them."""
    batch: dict = {}
    shared_data: dict = {}
    for connector in (AddOneTsToEpisodesAndTruncate(), AddEpisodeRewardMinimumToTrainBatch()):
        batch = connector(rl_module=None, batch=batch, episodes=episodes, shared_data=shared_data)
    return [list(batch[name][(episode.id_,)]) for episode in episodes]


def test_minimum_includes_the_reward_of_the_action_and_the_phantom_repeats_the_last():
    (minima,) = column([chunk([1.0, -2.0, 0.5, -3.0, 4.0], terminated=True)])
    assert minima == [0.0, -2.0, -2.0, -3.0, -3.0, -3.0]


def test_rewards_minus_the_minimum_are_never_negative():
    rewards = [0.3, -1.0, -0.2, 2.0, -4.0, 0.0]
    (minima,) = column([chunk(rewards)])
    assert all(r - m >= 0.0 for r, m in zip(rewards, minima[:-1]))


def test_chunk_continuing_an_episode_keeps_the_episodes_minimum():
    (minima,) = column([chunk([1.0, -0.5, -2.0], minimum_before=-1.5)])
    assert minima == [-1.5, -1.5, -2.0, -2.0]


def test_chunks_of_several_episodes_are_kept_apart():
    first, second = column([chunk([-1.0, 2.0]), chunk([3.0, -0.5, 1.0], minimum_before=-0.25)])
    assert first == [-1.0, -1.0, -1.0]
    assert second == [-0.25, -0.5, -0.5, -0.5]


def test_one_item_chunk_gets_the_first_infos_value():
    episode = chunk([-2.0], minimum_before=-0.75)  # one item, without RLlib's phantom step
    batch = AddEpisodeRewardMinimumToTrainBatch()(rl_module=None, batch={}, episodes=[episode])
    assert list(batch[EPISODE_REWARD_MINIMUM][(episode.id_,)]) == [-0.75]


def test_infos_of_cost_contract_give_the_column():
    rewards = [1.0, -2.0, 0.5, -3.0, 4.0]
    env = CostContract(ScriptedEnv(rewards))
    obs, info = env.reset(seed=0)
    episode = SingleAgentEpisode(observations=[obs], infos=[info], len_lookback_buffer=0)
    for _ in rewards:
        obs, reward, terminated, truncated, info = env.step(0)
        episode.add_env_step(obs, 0, reward, infos=info, terminated=terminated, truncated=truncated)
    (minima,) = column([episode.to_numpy()])
    assert minima == [0.0, -2.0, -2.0, -3.0, -3.0, -3.0]


def test_missing_info_fails_clearly():
    with pytest.raises(KeyError, match=f"{EPISODE_REWARD_MINIMUM_INFO}.*make_env.*CostContract"):
        column([chunk([1.0, -1.0], info_key="something_else")])


def test_loss_mask_marks_the_phantom_row():
    episodes = [chunk([1.0, -1.0])]
    assert column(episodes, Columns.LOSS_MASK) == [[True, True, False]]
