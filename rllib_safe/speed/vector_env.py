"""The EnvRunner's vector env stepped in one loop, its infos kept a list (no Ray imports)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, SyncVectorEnv
from gymnasium.wrappers.vector import DictInfoToList


class ListInfoSyncVectorEnv(gym.vector.VectorWrapper):
    """``DictInfoToList(SyncVectorEnv)``, as RLlib's EnvRunner builds it, stepping its envs directly.

    ``step`` does what gymnasium's ``SyncVectorEnv.step`` does with next-step autoreset (an env
    that ended on the previous step is reset instead of stepped: its reset observation and info,
    reward 0, neither terminated nor truncated) and returns a fresh observation array of the
    observation space's dtype, float64 rewards and bool terminated / truncated arrays, as it
    does. The infos stay a list with one dict per env, a shallow copy of what the env returned:
    gymnasium gathers them into one array per info key and ``DictInfoToList`` splits those back
    per env, Python work per key and env on every vector step, which also turns Python numbers
    into numpy scalars (slower to pickle when the episodes travel to the learners). Reset,
    seeding, rendering and closing are the wrapped env's (so the infos of ``reset()``, rare, are
    as ``DictInfoToList`` gives them).

    Only for a ``SyncVectorEnv`` with next-step autoreset over Box observation and action
    spaces (:meth:`can_wrap`).
    """

    def __init__(self, env: DictInfoToList):
        if not self.can_wrap(env):
            raise ValueError(
                f"ListInfoSyncVectorEnv wraps DictInfoToList(SyncVectorEnv) with next-step autoreset and Box "
                f"observation and action spaces; got {env}."
            )
        super().__init__(env)
        self._sub_envs = env.unwrapped.envs
        self._observation_row_shape = self.single_observation_space.shape
        self._observation_dtype = self.single_observation_space.dtype
        self._needs_reset = np.zeros(self.num_envs, dtype=bool)

    @staticmethod
    def can_wrap(env: gym.vector.VectorEnv) -> bool:
        if type(env) is not DictInfoToList or type(env.env) is not SyncVectorEnv:
            return False
        vector_env = env.env
        return (
            vector_env.autoreset_mode == AutoresetMode.NEXT_STEP
            and isinstance(vector_env.single_observation_space, gym.spaces.Box)
            and isinstance(vector_env.single_action_space, gym.spaces.Box)
        )

    def reset(self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None):
        observations, infos = self.env.reset(seed=seed, options=options)
        self._needs_reset[:] = False
        return observations, infos

    def step(self, actions: np.ndarray):
        num_envs = self.num_envs
        observations = np.empty((num_envs, *self._observation_row_shape), dtype=self._observation_dtype)
        rewards = np.zeros(num_envs, dtype=np.float64)
        terminateds = np.zeros(num_envs, dtype=bool)
        truncateds = np.zeros(num_envs, dtype=bool)
        infos = [None] * num_envs
        for index, env in enumerate(self._sub_envs):
            if self._needs_reset[index]:
                observations[index], info = env.reset()
            else:
                observations[index], rewards[index], terminateds[index], truncateds[index], info = env.step(
                    actions[index]
                )
            infos[index] = dict(info)
        self._needs_reset = terminateds | truncateds
        return observations, rewards, terminateds, truncateds, infos
