"""Learner connectors: what SMPO's cost critic needs about each transition (s, a, s', a').

``RecordEpisodeEnds`` runs before ``AddOneTsToEpisodesAndTruncate``, which marks every
chunk truncated and so hides whether a chunk ended its episode (the realised cost-to-go is
complete) or was cut mid-episode.
``AddTransitionColumnsToTrainBatch`` runs after it and adds, per step t: the next logged
action and its log-probability under the sampling policy, whether it is a real step of this
chunk, whether Q^c's target bootstraps from s_{t+1}, and the realised discounted cost-to-go
(valid only in chunks that end the episode).

Bootstrapping follows RLlib's GAE and our cost value head by default: only a true termination
stops it. A time-limit truncation (like a chunk cut mid-episode) leaves s_{t+1} a state whose
cost-to-go the episode's end did not observe, so the target keeps cost_gamma E Q^c(s_{t+1}, a').
With ``bootstrap_time_limit=False`` (SMPO's ``qc_bootstrap_time_limit``) every episode end stops
it, as the paper's (1 - done) does: Q^c then counts only the costs the episode's budget counts.
"""

from __future__ import annotations

from typing import Any

from ray.rllib.connectors.connector_v2 import ConnectorV2
from ray.rllib.core.columns import Columns

NEXT_ACTIONS = "next_actions"
#: log pi_old(a_{t+1} | s_{t+1}) of the sampling policy (for the clipped ratio of SMPO's term).
NEXT_ACTION_LOGP = "next_action_logp"
#: 1 where a_{t+1} is a real step of the same chunk (0 at the chunk's last step and phantom).
NEXT_ACTION_MASK = "next_action_mask"
#: 0 where the episode terminated at step t (or, without bootstrapping at time limits, ended)
#: and at the phantom step, 1 elsewhere (chunk cuts included): the SARSA target bootstraps where it is 1.
COST_BOOTSTRAP_MASK = "cost_bootstrap_mask"
#: sum_{k >= t} cost_gamma^(k - t) c_k to the end of the episode.
REALISED_COST_TO_GO = "realised_cost_to_go"
#: 1 on the real steps of chunks that end their episode, where the cost-to-go is known up to the
#: episode's end. After a time-limit truncation Q^c bootstraps past that end, so near a time
#: limit the realised cost-to-go is below what a correct Q^c predicts (qc_prediction_bias > 0).
REALISED_COST_TO_GO_MASK = "realised_cost_to_go_mask"

_EPISODE_ENDED = "rllib_safe_episode_ended"


class RecordEpisodeEnds(ConnectorV2):
    """Stores ``episode.is_done`` in the episode's custom data before the phantom step."""

    def __call__(self, *, rl_module, batch: dict[str, Any], episodes, **kwargs) -> Any:
        for episode in self.single_agent_episode_iterator(episodes, agents_that_stepped_only=False):
            episode.custom_data[_EPISODE_ENDED] = episode.is_done
        return batch


def discounted_cost_to_go(costs: list[float], gamma: float) -> list[float]:
    """G_t = c_t + gamma G_{t+1}, G after the last cost = 0."""
    returns, running = [], 0.0
    for cost in reversed(costs):
        running = cost + gamma * running
        returns.append(running)
    return returns[::-1]


class AddTransitionColumnsToTrainBatch(ConnectorV2):
    """Adds next actions, their old log-probs and mask, the bootstrap mask and the realised cost-to-go.

    Must run after ``AddOneTsToEpisodesAndTruncate`` (each chunk holds n - 1 real steps
    plus the phantom one) and needs ``RecordEpisodeEnds`` before it.
    """

    def __init__(
        self, input_observation_space=None, input_action_space=None, *, cost_gamma: float,
        bootstrap_time_limit: bool = True,
    ):
        super().__init__(input_observation_space, input_action_space)
        self.cost_gamma = cost_gamma
        self.bootstrap_time_limit = bootstrap_time_limit

    def __call__(self, *, rl_module, batch: dict[str, Any], episodes, **kwargs) -> Any:
        for episode in self.single_agent_episode_iterator(episodes, agents_that_stepped_only=False):
            if _EPISODE_ENDED not in episode.custom_data:
                raise KeyError(
                    "AddTransitionColumnsToTrainBatch needs RecordEpisodeEnds earlier in the pipeline."
                )
            ended = episode.custom_data[_EPISODE_ENDED]
            num_items = len(episode)  # real steps + the phantom step
            num_real = num_items - 1
            actions = episode.get_actions(slice(1, num_items))
            next_actions = list(actions) + [actions[-1]]  # the phantom's next action: a dummy
            logps = episode.get_extra_model_outputs(Columns.ACTION_LOGP, slice(1, num_items))
            next_action_logps = list(logps) + [logps[-1]]
            next_action_mask = [1.0] * (num_real - 1) + [0.0, 0.0]
            stops = episode.is_terminated or (ended and not self.bootstrap_time_limit)
            bootstrap_mask = [1.0] * (num_real - 1) + [0.0 if stops else 1.0, 0.0]
            infos = episode.get_infos(slice(1, num_items))
            costs = [float(info.get("cost", 0.0)) for info in infos]
            cost_to_go = discounted_cost_to_go(costs, self.cost_gamma) + [0.0]
            cost_to_go_mask = [1.0 if ended else 0.0] * num_real + [0.0]
            for column, items in (
                (NEXT_ACTIONS, next_actions),
                (NEXT_ACTION_LOGP, next_action_logps),
                (NEXT_ACTION_MASK, next_action_mask),
                (COST_BOOTSTRAP_MASK, bootstrap_mask),
                (REALISED_COST_TO_GO, cost_to_go),
                (REALISED_COST_TO_GO_MASK, cost_to_go_mask),
            ):
                self.add_n_batch_items(batch, column, items, num_items, episode)
        return batch
