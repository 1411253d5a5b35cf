"""EnvRunner callback, the first stage of the cost pipeline: the running episode cost in the
infos (which the learner connectors and the driver read), a finished episode's return and length
(which the driver reads), and the cost rate metric."""

from __future__ import annotations

from ray.rllib.callbacks.callbacks import RLlibCallback

from rllib_safe.connectors.columns import (
    CUMULATIVE_COST_INFO,
    EPISODE_LENGTH_INFO,
    EPISODE_RETURN_INFO,
    EPISODE_REWARD_MINIMUM_INFO,
)
from rllib_safe.envs.errors import MissingCostError
from rllib_safe.metrics import COST_RATE


class SafetyMetricsCallback(RLlibCallback):
    """Tracks the undiscounted episode cost on the EnvRunners.

    Each step's info dict carries ``cumulative_cost``: the cost accumulated in the episode up
    to and including that step (0 in the reset info), and ``episode_reward_minimum``, min(0, the
    lowest reward so far; SMPO's reward shift), for envs without ``CostContract``, which keeps
    both itself. The learner connectors read the cost to
    build the cost-so-far column, correctly across episode chunks, and the algorithm reads
    it from the last info of each finished episode to measure J_c on the driver
    (``SafePPO``): a window over episodes cannot be kept per EnvRunner. Finished episodes
    log their cost rate (cost / length).

    Envs built by ``rllib_safe.envs`` (``CostContract`` outermost) write ``cumulative_cost``
    themselves, so this callback does nothing per step. For any other env (one registered
    with ``tune.register_env`` or passed as a class) the reset info has no ``cumulative_cost``:
    the callback then keeps it per step, raising ``MissingCostError`` at a step without
    ``info["cost"]``.
    """

    def __init__(self) -> None:
        super().__init__()
        #: Ids of the ongoing episodes whose env keeps no ``cumulative_cost`` (tracked here).
        self._tracked_episodes: set[str] = set()

    def on_episode_start(self, *, episode, **kwargs) -> None:
        info = episode.get_infos(-1)
        if CUMULATIVE_COST_INFO not in info:
            info[CUMULATIVE_COST_INFO] = 0.0
            info[EPISODE_REWARD_MINIMUM_INFO] = 0.0
            self._tracked_episodes.add(episode.id_)

    @property
    def wants_episode_steps(self) -> bool:
        """Whether an ongoing episode's cost is kept here, or a subclass has its own
        ``on_episode_step`` (``SafeEnvRunner`` skips the per-step call otherwise)."""
        return bool(self._tracked_episodes) or type(self).on_episode_step is not SafetyMetricsCallback.on_episode_step

    def on_episode_step(self, *, episode, env_runner=None, **kwargs) -> None:
        if episode.id_ not in self._tracked_episodes:
            return  # CostContract keeps the cost (and checks it)
        info = episode.get_infos(-1)
        if "cost" not in info:
            raise MissingCostError(env_runner.env if env_runner is not None else "The env")
        previous = episode.get_infos(-2)
        info[CUMULATIVE_COST_INFO] = previous.get(CUMULATIVE_COST_INFO, 0.0) + float(info["cost"])
        reward = float(episode.get_rewards(-1))
        info[EPISODE_REWARD_MINIMUM_INFO] = min(previous.get(EPISODE_REWARD_MINIMUM_INFO, 0.0), reward)

    def on_episode_end(self, *, episode, env_runner, metrics_logger, prev_episode_chunks=None, **kwargs) -> None:
        self._tracked_episodes.discard(episode.id_)
        last_info = episode.get_infos(-1)
        episode_cost = float(last_info[CUMULATIVE_COST_INFO])
        chunks = [*(prev_episode_chunks or ()), episode]
        length = sum(len(chunk) for chunk in chunks)
        # The driver sees only this iteration's chunk of the episode: it reads these two.
        last_info[EPISODE_RETURN_INFO] = float(sum(chunk.get_return() for chunk in chunks))
        last_info[EPISODE_LENGTH_INFO] = length
        # SafePPOConfig's setting (this callback is part of its cost pipeline): the J_c window.
        window = env_runner.config.episode_cost_window
        metrics_logger.log_value(COST_RATE, episode_cost / max(1, length), reduce="mean", window=window)
