"""Every result key rllib-safe writes or reads, named once (no Ray import: plain constants).

RLlib's result dict is nested: ``result["env_runners"]["episode_cost_mean"]``, and Tune's
``result.json`` keeps it so. A run's ``results.jsonl`` and TensorBoard hold the same results
flattened to ``"env_runners/episode_cost_mean"``. Here each metric has

* a *name*, the string a component logs (``EPISODE_COST_MEAN = "episode_cost_mean"``), used
  with ``MetricsLogger.log_value`` where the logger adds the prefix itself, and
* a *key*, the path to it in an iteration's result (``EPISODE_COST_MEAN_KEY =
  ("env_runners", "episode_cost_mean")``); ``flat(key)`` spells it as results.jsonl does,
  ``lookup(result, key)`` reads it from a nested or a flat result.

Learner metrics of one module (policy) sit under ``("learners", module_id, name)``
(``module_key``), the learner-wide ones under ``("learners", name)`` (``learner_key``) or
``("learners", "__all_modules__", name)`` (``all_modules_key``).

The strings are what users see (TensorBoard tags, results.jsonl columns, result.json): change
a value here and every writer and reader follows, but old runs keep the old spelling.

J_c, the measured episode cost, has one name per meaning on its way to the console:

* the finished episodes' costs it is the mean of: the algorithm's ``episode_cost_window``
  (``EpisodeWindow``; the setting, the attribute and the checkpointed state share the name);
* J_c as measured: ``EPISODE_COST_MEAN`` (``env_runners/episode_cost_mean``; ``COST_KEY``);
* J_c as the learners received and used it: ``EPISODE_COST_ESTIMATE``
  (``learners/episode_cost_estimate``; the learners' attribute ``episode_cost``);
* its last value in a run's summary.json: ``FINAL_COST`` (``"final_cost"``), beside
  ``FINAL_RETURN``; the console's progress line says "cost".
"""

from __future__ import annotations

import math
from typing import Any

#: A path into an iteration's nested result dict.
Key = tuple[str, ...]

#: Separator of ``flat`` keys (results.jsonl, TensorBoard tags).
SEPARATOR = "/"

# -- Where the results of each component go (RLlib's names) ----------------------------------

#: RLlib's ``ENV_RUNNER_RESULTS``: episode metrics of the EnvRunners (and J_c, from the driver).
ENV_RUNNERS = "env_runners"
#: RLlib's ``LEARNER_RESULTS``: learner metrics, per module and learner-wide.
LEARNERS = "learners"
#: RLlib's ``ALL_MODULES``: learner metrics that belong to no single module.
ALL_MODULES = "__all_modules__"
#: RLlib's ``DEFAULT_MODULE_ID``: the one module of a single-agent run.
DEFAULT_MODULE = "default_policy"
#: RLlib's ``TIMERS``: seconds per iteration phase, EMA-reduced across iterations.
TIMERS = "timers"
#: Top-level result: the iteration number (Tune's).
TRAINING_ITERATION = "training_iteration"
#: Top-level result: wall-clock seconds of this iteration (Tune's).
TIME_THIS_ITER_S = "time_this_iter_s"


def flat(key: Key | str) -> str:
    """``("env_runners", "episode_cost_mean")`` -> ``"env_runners/episode_cost_mean"`` (a str stays)."""
    return key if isinstance(key, str) else SEPARATOR.join(key)


def env_runner_key(name: str) -> Key:
    """Key of an EnvRunner (or driver-measured episode) metric."""
    return (ENV_RUNNERS, name)


def learner_key(name: str) -> Key:
    """Key of a learner-wide metric logged without a module id (``learners/<name>``)."""
    return (LEARNERS, name)


def all_modules_key(name: str) -> Key:
    """Key of a learner metric logged under ``ALL_MODULES`` (``learners/__all_modules__/<name>``)."""
    return (LEARNERS, ALL_MODULES, name)


def module_key(name: str, module_id: str = DEFAULT_MODULE) -> Key:
    """Key of a learner metric of one module (``learners/default_policy/<name>``)."""
    return (LEARNERS, module_id, name)


def lookup(result: dict, key: Key | str, default: Any = math.nan) -> Any:
    """``key``'s value in a nested result (Tune's result.json) or a flat one (results.jsonl).

    Where it is missing, the key :data:`READ_FALLBACKS` names for it (results written before
    the key existed), else ``default`` (also where a path component is not a dict).
    """
    if isinstance(key, str):
        key = tuple(key.split(SEPARATOR))
    missing = object()
    value = _lookup_exactly(result, key, missing)
    if value is missing and key in READ_FALLBACKS:
        value = _lookup_exactly(result, READ_FALLBACKS[key], missing)
    return default if value is missing else value


def finite_numbers(flat_result: dict[str, Any]) -> dict[str, float]:
    """The numeric, finite entries of a flattened result, as floats: what TensorBoard and the experiment
    trackers take (they reject NaN, booleans and strings)."""
    return {
        key: float(value)
        for key, value in flat_result.items()
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    }


def _lookup_exactly(result: dict, key: Key, default: Any) -> Any:
    joined = flat(key)
    if joined in result:
        return result[joined]
    value: Any = result
    for part in key:
        if not isinstance(value, dict) or part not in value:
            return default
        value = value[part]
    return value


# -- EnvRunner results (under ``env_runners/``) ----------------------------------------------

#: RLlib's mean raw episode return over the episodes that finished this iteration's sampling
#: (NaN where none did; rewards are modulated only in SMPO's learner connector).
EPISODE_RETURN_MEAN = "episode_return_mean"
#: The return a run reports: the mean raw return of the same finished episodes J_c is the mean of
#: (OmniSafe's EpRet and EpCost share one window), kept on the driver. Absent until an episode finishes.
EPISODE_RETURN_WINDOW_MEAN = "episode_return_window_mean"
#: Mean length (env steps) of the same episodes.
EPISODE_LENGTH_WINDOW_MEAN = "episode_len_window_mean"
#: J_c: mean undiscounted cost of the last ``episode_cost_window`` finished episodes, kept on
#: the driver (each episode counted once) and checkpointed. Absent until an episode finishes.
EPISODE_COST_MEAN = "episode_cost_mean"
#: Mean cost of the episodes that finished this iteration.
EPISODE_COST_ITERATION_MEAN = "episode_cost_iteration_mean"
#: How many finished episodes J_c is the mean of.
EPISODES_IN_COST_WINDOW = "num_episodes_in_cost_window"
#: Share of the J_c window's episodes whose cost exceeds the limit.
EPISODES_OVER_LIMIT = "episodes_over_limit_fraction"
#: Episode cost divided by episode length, logged per finished episode on the EnvRunners.
COST_RATE = "cost_rate"
#: RLlib's env steps sampled this iteration, and since the start (also a top-level result).
NUM_ENV_STEPS_SAMPLED = "num_env_steps_sampled"
NUM_ENV_STEPS_SAMPLED_LIFETIME = "num_env_steps_sampled_lifetime"

#: The return a run reports (over J_c's window); results written before it existed fall back to
#: RLlib's per-iteration figure, ``ITERATION_RETURN_KEY`` (:data:`READ_FALLBACKS`).
RETURN_KEY: Key = env_runner_key(EPISODE_RETURN_WINDOW_MEAN)
ITERATION_RETURN_KEY: Key = env_runner_key(EPISODE_RETURN_MEAN)
EPISODE_LENGTH_KEY: Key = env_runner_key(EPISODE_LENGTH_WINDOW_MEAN)
COST_KEY: Key = env_runner_key(EPISODE_COST_MEAN)
ITERATION_COST_KEY: Key = env_runner_key(EPISODE_COST_ITERATION_MEAN)
EPISODES_IN_COST_WINDOW_KEY: Key = env_runner_key(EPISODES_IN_COST_WINDOW)
EPISODES_OVER_LIMIT_KEY: Key = env_runner_key(EPISODES_OVER_LIMIT)
COST_RATE_KEY: Key = env_runner_key(COST_RATE)
#: Env steps sampled this iteration.
ITERATION_STEPS_KEY: Key = env_runner_key(NUM_ENV_STEPS_SAMPLED)
#: Env steps sampled since the start, as the EnvRunner results carry it (``algo.metrics.peek``).
ENV_RUNNER_STEPS_KEY: Key = env_runner_key(NUM_ENV_STEPS_SAMPLED_LIFETIME)
#: Env steps sampled since the start, the top-level result (x axis of curves, ``stop`` criterion).
STEPS_KEY: Key = (NUM_ENV_STEPS_SAMPLED_LIFETIME,)

#: Keys :func:`lookup` reads in place of a missing one: results written before the key existed.
READ_FALLBACKS: dict[Key, Key] = {RETURN_KEY: ITERATION_RETURN_KEY}

# -- Timers (under ``timers/``, RLlib's names) ------------------------------------------------

#: Sampling, the learner update, and the weight sync to the EnvRunners.
SAMPLING_TIMER = "env_runner_sampling_timer"
LEARNER_UPDATE_TIMER = "learner_update_timer"
WEIGHT_SYNC_TIMER = "synch_weights"

SAMPLING_TIMER_KEY: Key = (TIMERS, SAMPLING_TIMER)
LEARNER_UPDATE_TIMER_KEY: Key = (TIMERS, LEARNER_UPDATE_TIMER)
WEIGHT_SYNC_TIMER_KEY: Key = (TIMERS, WEIGHT_SYNC_TIMER)
#: Seconds per vector step on the EnvRunners (EMA over calls, RLlib's names): the env step,
#: the env-to-module pipeline, the module's forward pass, the module-to-env pipeline.
#: The keys in an EnvRunner's own metrics, then under ``env_runners/`` in the results.
ENV_RUNNER_STEP_TIMER_KEYS: dict[str, Key] = {
    "env_step": ("env_step_timer",),
    "env_to_module": ("env_to_module_connector", "connector_pipeline_timer"),
    "forward": ("rlmodule_inference_timer",),
    "module_to_env": ("module_to_env_connector", "connector_pipeline_timer"),
}
SAMPLING_STEP_TIMER_KEYS: dict[str, Key] = {
    name: (ENV_RUNNERS, *key) for name, key in ENV_RUNNER_STEP_TIMER_KEYS.items()
}

# -- Learner-wide results (under ``learners/``) ----------------------------------------------

#: 1.0 once the learners have a measured J_c, 0.0 before the first episode ends.
COST_MEASURED = "cost_measured"
#: The J_c the learners used this iteration (absent while there is none).
EPISODE_COST_ESTIMATE = "episode_cost_estimate"
#: PPO-Lagrangian's lambda after this iteration's multiplier step.
LAGRANGIAN_MULTIPLIER = "lagrangian_multiplier"

COST_MEASURED_KEY: Key = learner_key(COST_MEASURED)
EPISODE_COST_ESTIMATE_KEY: Key = learner_key(EPISODE_COST_ESTIMATE)
LAGRANGIAN_MULTIPLIER_KEY: Key = learner_key(LAGRANGIAN_MULTIPLIER)

# -- Fast update path (under ``learners/__all_modules__/``) ----------------------------------

#: Epochs the last update ran (< num_epochs after a target-KL early stop); fast path only.
EPOCHS_RUN = "epochs_run"
#: Seconds the first compiled SGD step took, compiling included (``compile_sgd_step``).
COMPILE_SECONDS = "sgd_step_compile_seconds"
#: Seconds the last update spent building its train batch (learner connector, device columns).
UPDATE_BATCH_SECONDS = "update_batch_seconds"
#: Seconds the last update spent in its SGD steps (metrics flush included).
UPDATE_SGD_LOOP_SECONDS = "update_sgd_loop_seconds"

#: RLlib's rows trained in this update, summed over the modules and the learners.
NUM_MODULE_STEPS_TRAINED = "num_module_steps_trained"

EPOCHS_RUN_KEY: Key = all_modules_key(EPOCHS_RUN)
COMPILE_SECONDS_KEY: Key = all_modules_key(COMPILE_SECONDS)
UPDATE_BATCH_SECONDS_KEY: Key = all_modules_key(UPDATE_BATCH_SECONDS)
UPDATE_SGD_LOOP_SECONDS_KEY: Key = all_modules_key(UPDATE_SGD_LOOP_SECONDS)

# -- Per module, every algorithm (under ``learners/<module_id>/``) ---------------------------

#: Mean KL(pi_old || pi) at the last target-KL check.
POLICY_KL = "policy_kl"
#: The cost critic: its loss, the cost advantages' mean and std, the mean cost value.
COST_VF_LOSS = "cost_vf_loss"
COST_ADVANTAGES_MEAN = "cost_advantages_mean"
COST_ADVANTAGES_STD = "cost_advantages_std"
COST_VALUE_MEAN = "cost_value_mean"

# -- Per module, CRPO and PCRPO (under ``learners/<module_id>/``) ----------------------------

#: The update modes, in ``rllib_safe.core.UpdateMode`` order (values 0..3).
UPDATE_MODES = ("reward", "soft_aligned", "soft_conflict", "cost")


def mode_metric(mode: str) -> str:
    """``mode_<mode>``: 1.0 for the mode of an actor update (first order: the fraction of the
    iteration's minibatch updates); summed over a run, the number of steps of that mode."""
    return f"mode_{mode}"


def line_search_accepted_metric(mode: str) -> str:
    """``line_search_accepted_<mode>``: 1.0 when a trust-region step of that mode was accepted."""
    return f"line_search_accepted_{mode}"


#: ``mode_<m>`` for every update mode, in ``UPDATE_MODES`` order (CRPO logs reward and cost only
#: ever as 1.0, but all four keys).
MODE_METRICS = tuple(mode_metric(mode) for mode in UPDATE_MODES)
#: ``line_search_accepted_<m>`` for every update mode (trust-region updates).
LINE_SEARCH_ACCEPTED_METRICS = tuple(line_search_accepted_metric(mode) for mode in UPDATE_MODES)
#: The update mode as its ``UpdateMode`` value (0..3); the name predates CRPO, which logs it too.
UPDATE_MODE = "pcrpo_mode"
#: The gradients' cosine (Euclidean), their norms, and 1.0 where the direction was non-finite (skipped).
COS_ANGLE = "cos_angle"
REWARD_GRAD_NORM = "reward_grad_norm"
COST_GRAD_NORM = "cost_grad_norm"
NONFINITE_DIRECTION = "nonfinite_direction"
#: The trust-region step's line search: accepted (any mode), the accepted fraction of the
#: full step, tries, and 1.0 where a soft step was checked on the weighted objective instead
#: of on both surrogates (the CG step did not promise both).
LINE_SEARCH_ACCEPTED = "line_search_accepted"
LINE_SEARCH_STEP_FRACTION = "line_search_step_fraction"
LINE_SEARCH_TRIES = "line_search_tries"
SOFT_ACCEPTANCE_FALLBACK = "soft_acceptance_fallback"
#: First-order change, along the step, of the objective the line search checks and of each surrogate.
EXPECTED_IMPROVEMENT = "expected_improvement"
EXPECTED_REWARD_GAIN = "expected_reward_gain"
EXPECTED_COST_GAIN = "expected_cost_gain"
#: PCRPO's slacks h+ and h- of this iteration (annealed or constant).
SLACK_UPPER = "slack_upper"
SLACK_LOWER = "slack_lower"

MODE_KEYS: tuple[Key, ...] = tuple(module_key(name) for name in MODE_METRICS)
LINE_SEARCH_ACCEPTED_KEYS: tuple[Key, ...] = tuple(module_key(name) for name in LINE_SEARCH_ACCEPTED_METRICS)

# -- Per module, SMPO (under ``learners/<module_id>/``) --------------------------------------

#: Q^c: SARSA loss, its L2 term, mean, and |error| / bias against the realised cost-to-go.
QC_LOSS = "qc_loss"
QC_L2 = "qc_l2"
QC_MEAN = "qc_mean"
QC_PREDICTION_ERROR = "qc_prediction_error"
QC_PREDICTION_BIAS = "qc_prediction_bias"
#: Mean |advantage| of the policy term through Q^c.
CRITIC_GRADIENT_ADVANTAGE_ABS_MEAN = "critic_gradient_advantage_abs_mean"
#: The modulation f: mean weight, share negative, share at the clamp, share of clipped Q^c,
#: the threshold d' of this iteration, the raw reward's mean and the reward advantages' std.
MODULATION_WEIGHT_MEAN = "modulation_weight_mean"
MODULATION_WEIGHT_NEGATIVE_FRACTION = "modulation_weight_negative_fraction"
MODULATION_WEIGHT_CLAMPED_FRACTION = "modulation_weight_clamped_fraction"
QC_CLIPPED_FRACTION = "qc_clipped_fraction"
MODULATION_THRESHOLD = "modulation_threshold"
#: 1.0 where the update was modulated, 0.0 during the warm-up (``modulation_warmup_env_steps``).
MODULATION_ACTIVE = "modulation_active"
RAW_REWARD_MEAN = "raw_reward_mean"
REWARD_ADVANTAGE_STD = "advantage_std"

#: SMPO's modulation statistics, in the order they are logged.
MODULATION_METRICS = (
    MODULATION_WEIGHT_MEAN,
    MODULATION_WEIGHT_NEGATIVE_FRACTION,
    MODULATION_WEIGHT_CLAMPED_FRACTION,
    QC_CLIPPED_FRACTION,
    MODULATION_THRESHOLD,
    MODULATION_ACTIVE,
    RAW_REWARD_MEAN,
    REWARD_ADVANTAGE_STD,
)


#: The curves the learning benchmark keeps per run beside return and J_c (curve name -> key):
#: what each algorithm steers by, so that "why" can be read from a results file. A curve is
#: kept only where the run logged it.
DIAGNOSTIC_KEYS: dict[str, Key] = {
    "episode_length": EPISODE_LENGTH_KEY,
    "cost_this_iteration": ITERATION_COST_KEY,
    "cost_estimate": EPISODE_COST_ESTIMATE_KEY,
    "lagrangian_multiplier": LAGRANGIAN_MULTIPLIER_KEY,
    **{name: module_key(name) for name in MODE_METRICS},
    "line_search_accepted": module_key(LINE_SEARCH_ACCEPTED),
    "cos_angle": module_key(COS_ANGLE),
    **{name: module_key(name) for name in MODULATION_METRICS},
    "qc_mean": module_key(QC_MEAN),
    "qc_prediction_bias": module_key(QC_PREDICTION_BIAS),
    "critic_gradient_advantage_abs_mean": module_key(CRITIC_GRADIENT_ADVANTAGE_ABS_MEAN),
}


# -- A run's summary.json (``rllib_safe.runs.loop.summarize``) -------------------------------

#: The last iteration's ``RETURN_KEY`` and ``COST_KEY`` (J_c) values.
FINAL_RETURN = "final_return"
FINAL_COST = "final_cost"
