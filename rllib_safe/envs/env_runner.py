"""The EnvRunner of every algorithm here: RLlib's, on a leaner vector env."""

from __future__ import annotations

from ray.rllib.env.single_agent_env_runner import SingleAgentEnvRunner

from rllib_safe.envs.vector_env import ListInfoSyncVectorEnv


class SafeEnvRunner(SingleAgentEnvRunner):
    """RLlib's ``SingleAgentEnvRunner`` whose vector env keeps the infos a list.

    Where RLlib builds gymnasium's ``SyncVectorEnv`` (next-step autoreset, Box spaces) under
    ``DictInfoToList``, the EnvRunner steps it through :class:`ListInfoSyncVectorEnv`: the same
    observations, rewards and done flags, and each env's own info dict instead of one gathered
    into arrays and split again. Any other vector env (async, other spaces) is RLlib's as built.
    """

    def make_env(self) -> None:
        super().make_env()
        if ListInfoSyncVectorEnv.can_wrap(self.env):
            self.env = ListInfoSyncVectorEnv(self.env)
