"""Names of the cost columns in the train batch and of the keys shared across components."""

#: Per-step cost of the action taken at t (from ``info["cost"]`` of ``step(a_t)``).
COSTS = "costs"
#: Undiscounted cost accumulated in the episode before action t (SMPO's C_t).
COST_SO_FAR = "cost_so_far"
#: GAE advantages of the cost (own gamma and lambda).
COST_ADVANTAGES = "cost_advantages"
#: Lambda-return targets of the cost value head.
COST_VALUE_TARGETS = "cost_value_targets"

#: Info key holding the running episode cost, written by ``SafetyMetricsCallback``.
CUMULATIVE_COST_INFO = "cumulative_cost"

#: EnvRunner metric: undiscounted episode cost (J_c), windowed mean over finished episodes.
EPISODE_COST_MEAN = "episode_cost_mean"
#: EnvRunner metric: episode cost divided by episode length.
COST_RATE = "cost_rate"
#: EnvRunner metric: fraction of finished episodes whose cost exceeds the limit.
EPISODES_OVER_LIMIT = "episodes_over_limit_fraction"
#: EnvRunner metric: raw (never modulated) episode return.
EPISODE_RETURN_RAW = "episode_return_raw_mean"

#: ``timesteps`` keys that carry the algorithm's state to the learners each iteration.
TIMESTEP_EPISODE_COST = "episode_cost_estimate"
TIMESTEP_ITERATION = "training_iteration"
