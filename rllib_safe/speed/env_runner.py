"""The EnvRunner of every algorithm here: RLlib's, on a leaner vector env and per-step loop."""

from __future__ import annotations

from ray.rllib.callbacks.callbacks import RLlibCallback
from ray.rllib.env.single_agent_env_runner import SingleAgentEnvRunner
from ray.rllib.utils.annotations import override

from rllib_safe.rllib_private import callback_objects, split_arrays_per_env_directly
from rllib_safe.speed.vector_env import ListInfoSyncVectorEnv


class SafeEnvRunner(SingleAgentEnvRunner):
    """RLlib's ``SingleAgentEnvRunner`` with less Python work per env step, the same episodes.

    - Where RLlib builds gymnasium's ``SyncVectorEnv`` (next-step autoreset, Box spaces) under
      ``DictInfoToList``, the EnvRunner steps it through :class:`ListInfoSyncVectorEnv`: the
      same observations, rewards and done flags, and each env's own info dict instead of one
      gathered into arrays and split again. Any other vector env (async, other spaces) is
      RLlib's as built.
    - The observations and actions of a vector step are split per env as rows of the array
      (``rllib_private.split_arrays_per_env_directly``).
    - ``on_episode_step`` is called only while a callback wants it: a callback defining it is
      asked through a ``wants_episode_steps`` attribute where it has one (the cost callback
      wants steps only for envs that do not keep the episode cost themselves); a callback
      function configured for it is always called. RLlib calls it for every env step.
    """

    def __init__(self, *, config, **kwargs):
        split_arrays_per_env_directly()
        super().__init__(config=config, **kwargs)
        # Fixed for the EnvRunner's life: worked out once, not on every env step.
        self._episode_step_functions = bool(self.config.callbacks_on_episode_step)
        self._episode_step_callbacks = [
            callback
            for callback in callback_objects(self)
            if type(callback).on_episode_step is not RLlibCallback.on_episode_step
        ]

    @override(SingleAgentEnvRunner)
    def make_env(self) -> None:
        super().make_env()
        if ListInfoSyncVectorEnv.can_wrap(self.env):
            self.env = ListInfoSyncVectorEnv(self.env)

    @override(SingleAgentEnvRunner)
    def _make_on_episode_callback(self, which: str, idx: int, episodes) -> None:  # listed in rllib_private
        if which == "on_episode_step" and not self._wants_episode_steps():
            return
        super()._make_on_episode_callback(which, idx, episodes)

    def _wants_episode_steps(self) -> bool:
        """Whether this step's ``on_episode_step`` has anything to do."""
        return self._episode_step_functions or any(
            getattr(callback, "wants_episode_steps", True) for callback in self._episode_step_callbacks
        )
