"""The EnvRunner's vector env gives what gymnasium's SyncVectorEnv under DictInfoToList gives."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode, SyncVectorEnv
from gymnasium.wrappers.vector import DictInfoToList

from rllib_safe.speed.vector_env import ListInfoSyncVectorEnv


class ShortEpisodes(gym.Env):
    """Random-length episodes that end terminated or truncated, infos of several kinds."""

    observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(2,), dtype=np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._obs(), {"cost": 0.0, "started": True}

    def step(self, action):
        self.t += 1
        draw = self.np_random.random()
        info = {"cost": float(draw < 0.3), "t": self.t, "flag": bool(draw < 0.5), "pos": self._obs()}
        if self.t % 3 == 0:
            info["nested"] = {"x": draw}  # in some steps only
        return self._obs(), float(action[0]) + draw, draw < 0.08, self.t >= 7, info

    def _obs(self):
        return self.np_random.normal(size=2)  # float64: the vector env casts to the space's float32


def gymnasium_vector_env(num_envs, **kwargs):
    return DictInfoToList(SyncVectorEnv([ShortEpisodes for _ in range(num_envs)], **kwargs))


def assert_same_results(ours, theirs):
    """(arrays..., infos) from reset or step: equal arrays of equal dtypes, equal info dicts."""
    *arrays, infos = ours
    *expected_arrays, expected_infos = theirs
    for name, a, b in zip(("observations", "rewards", "terminateds", "truncateds"), arrays, expected_arrays):
        np.testing.assert_array_equal(a, b, err_msg=name)
        assert a.dtype == b.dtype, name
    assert len(infos) == len(expected_infos)
    for info, expected in zip(infos, expected_infos):
        assert info.keys() == expected.keys()
        np.testing.assert_equal(info, expected)


def test_steps_like_gymnasiums_sync_vector_env_through_episode_ends():
    num_envs = 3
    ours, theirs = ListInfoSyncVectorEnv(gymnasium_vector_env(num_envs)), gymnasium_vector_env(num_envs)
    assert_same_results(ours.reset(seed=7), theirs.reset(seed=7))
    actions = np.random.default_rng(0).uniform(-1, 1, size=(60, num_envs, 1)).astype(np.float32)
    ends = 0
    for step_actions in actions:
        mine = ours.step(step_actions)
        assert_same_results(mine, theirs.step(step_actions))
        ends += int(np.sum(mine[2] | mine[3]))
    assert ends >= 10  # the autoreset path ran, after terminations and truncations
    # A reset in between starts every env again, as gymnasium's does.
    assert_same_results(ours.reset(seed=3), theirs.reset(seed=3))
    for step_actions in actions[:10]:
        assert_same_results(ours.step(step_actions), theirs.step(step_actions))


def test_infos_are_each_envs_own_values():
    env = ListInfoSyncVectorEnv(gymnasium_vector_env(2))
    env.reset(seed=0)
    *_, infos = env.step(np.zeros((2, 1), np.float32))
    # gymnasium's DictInfoToList gives numpy scalars (np.float64(0.0)); these are the env's.
    assert type(infos[0]["cost"]) is float and type(infos[0]["flag"]) is bool and type(infos[0]["t"]) is int


@pytest.mark.parametrize(
    "vector_env",
    [
        pytest.param(lambda: gymnasium_vector_env(2, autoreset_mode=AutoresetMode.SAME_STEP), id="same-step-autoreset"),
        pytest.param(lambda: SyncVectorEnv([ShortEpisodes]), id="dict-infos"),
        pytest.param(lambda: DictInfoToList(SyncVectorEnv([lambda: gym.make("CartPole-v1")])), id="discrete-actions"),
    ],
)
def test_other_vector_envs_are_refused(vector_env):
    env = vector_env()
    assert not ListInfoSyncVectorEnv.can_wrap(env)
    with pytest.raises(ValueError, match="ListInfoSyncVectorEnv wraps DictInfoToList"):
        ListInfoSyncVectorEnv(env)
