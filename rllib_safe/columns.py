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

#: Result under ``env_runners/``: J_c, the mean undiscounted cost of the last
#: ``episode_cost_window`` finished episodes (kept on the driver, each episode counted once).
EPISODE_COST_MEAN = "episode_cost_mean"
#: Result under ``env_runners/``: mean cost of the episodes that finished this iteration.
EPISODE_COST_ITERATION_MEAN = "episode_cost_iteration_mean"
#: Result under ``env_runners/``: how many finished episodes J_c is the mean of.
EPISODES_IN_COST_WINDOW = "num_episodes_in_cost_window"
#: EnvRunner metric: episode cost divided by episode length.
COST_RATE = "cost_rate"
#: Result under ``env_runners/``: share of the J_c window's episodes whose cost exceeds the limit.
EPISODES_OVER_LIMIT = "episodes_over_limit_fraction"
#: EnvRunner metric: raw (never modulated) episode return.
EPISODE_RETURN_RAW = "episode_return_raw_mean"

#: ``timesteps`` keys that carry the algorithm's state to the learners each iteration.
TIMESTEP_EPISODE_COST = "episode_cost_estimate"
TIMESTEP_ITERATION = "training_iteration"
#: Learner metric: 1.0 once the learners have a measured J_c, 0.0 before the first episode ends.
COST_MEASURED = "cost_measured"
