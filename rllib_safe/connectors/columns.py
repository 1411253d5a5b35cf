"""Names the cost pipeline shares: train-batch columns, the info key and the learners' timestep keys.

Result keys (what the algorithms log) are in ``rllib_safe.metrics``.
"""

#: Per-step cost of the action taken at t (from ``info["cost"]`` of ``step(a_t)``).
COSTS = "costs"
#: Undiscounted cost accumulated in the episode before action t (SMPO's C_t).
COST_SO_FAR = "cost_so_far"
#: GAE advantages of the cost (own gamma and lambda).
COST_ADVANTAGES = "cost_advantages"
#: Lambda-return targets of the cost value head.
COST_VALUE_TARGETS = "cost_value_targets"
#: min(0, the lowest reward of the episode up to and including the reward of action t): minus the
#: shift that makes every reward of the episode so far >= 0 (SMPO's reward shaping).
EPISODE_REWARD_MINIMUM = "episode_reward_minimum"

#: Info key holding the running episode cost: written by ``CostContract`` (every env of
#: ``rllib_safe.envs``), or by ``SafetyMetricsCallback`` for envs without it.
CUMULATIVE_COST_INFO = "cumulative_cost"
#: Info key holding min(0, the lowest reward of the episode so far), written by ``CostContract``.
EPISODE_REWARD_MINIMUM_INFO = "episode_reward_minimum"
#: Info keys of a finished episode's last step: its undiscounted (raw) return and its length,
#: over every chunk of the episode, written by ``SafetyMetricsCallback.on_episode_end``; the
#: driver averages them over the same episodes as J_c (``SafePPO.record_finished_episodes``).
EPISODE_RETURN_INFO = "episode_return"
EPISODE_LENGTH_INFO = "episode_length"

#: ``timesteps`` keys that carry the algorithm's state to the learners each iteration: J_c
#: (absent before the first episode finishes) and the training iteration.
TIMESTEP_EPISODE_COST = "episode_cost_estimate"
TIMESTEP_ITERATION = "training_iteration"
