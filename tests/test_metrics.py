"""rllib_safe.metrics: the spellings users see, the helpers, RLlib's names, no Ray import."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from rllib_safe import metrics


def test_user_visible_spellings_are_stable():
    """TensorBoard tags, results.jsonl columns and Tune's result.json keys of earlier runs."""
    assert metrics.flat(metrics.RETURN_KEY) == "env_runners/episode_return_window_mean"
    assert metrics.flat(metrics.ITERATION_RETURN_KEY) == "env_runners/episode_return_mean"
    assert metrics.flat(metrics.COST_KEY) == "env_runners/episode_cost_mean"
    assert metrics.flat(metrics.ITERATION_COST_KEY) == "env_runners/episode_cost_iteration_mean"
    assert metrics.flat(metrics.STEPS_KEY) == "num_env_steps_sampled_lifetime"
    assert metrics.flat(metrics.COST_MEASURED_KEY) == "learners/cost_measured"
    assert metrics.flat(metrics.LAGRANGIAN_MULTIPLIER_KEY) == "learners/lagrangian_multiplier"
    assert metrics.flat(metrics.EPOCHS_RUN_KEY) == "learners/__all_modules__/epochs_run"
    assert metrics.MODE_METRICS == ("mode_reward", "mode_soft_aligned", "mode_soft_conflict", "mode_cost")
    assert metrics.flat(metrics.MODE_KEYS[-1]) == "learners/default_policy/mode_cost"
    assert metrics.LINE_SEARCH_ACCEPTED_METRICS[0] == "line_search_accepted_reward"


def test_the_return_falls_back_to_rllibs_figure_in_older_results():
    older = {"env_runners/episode_return_mean": 3.0}
    newer = {"env_runners/episode_return_window_mean": 2.0, "env_runners/episode_return_mean": math.nan}
    assert metrics.lookup(older, metrics.RETURN_KEY) == 3.0
    assert metrics.lookup({"env_runners": {"episode_return_mean": 3.0}}, metrics.RETURN_KEY) == 3.0  # Tune's nesting
    assert metrics.lookup(newer, metrics.RETURN_KEY) == 2.0
    assert math.isnan(metrics.lookup({}, metrics.RETURN_KEY))
    assert metrics.lookup({}, metrics.COST_KEY, default=None) is None  # no fallback for J_c


def test_update_modes_follow_the_core_enum():
    from rllib_safe.core import UpdateMode

    assert [mode.name.lower() for mode in UpdateMode] == list(metrics.UPDATE_MODES)
    assert [int(mode) for mode in UpdateMode] == list(range(len(metrics.UPDATE_MODES)))


def test_rllib_names_are_rllibs():
    from ray.rllib.core import DEFAULT_MODULE_ID
    from ray.rllib.utils import metrics as rllib

    assert metrics.ENV_RUNNERS == rllib.ENV_RUNNER_RESULTS
    assert metrics.LEARNERS == rllib.LEARNER_RESULTS
    assert metrics.ALL_MODULES == rllib.ALL_MODULES
    assert metrics.TIMERS == rllib.TIMERS
    assert metrics.DEFAULT_MODULE == DEFAULT_MODULE_ID
    assert metrics.EPISODE_RETURN_MEAN == rllib.EPISODE_RETURN_MEAN
    assert metrics.NUM_ENV_STEPS_SAMPLED == rllib.NUM_ENV_STEPS_SAMPLED
    assert metrics.NUM_ENV_STEPS_SAMPLED_LIFETIME == rllib.NUM_ENV_STEPS_SAMPLED_LIFETIME
    assert metrics.NUM_MODULE_STEPS_TRAINED == rllib.NUM_MODULE_STEPS_TRAINED
    assert metrics.SAMPLING_TIMER == rllib.ENV_RUNNER_SAMPLING_TIMER
    assert metrics.LEARNER_UPDATE_TIMER == rllib.LEARNER_UPDATE_TIMER
    assert metrics.WEIGHT_SYNC_TIMER == rllib.SYNCH_WORKER_WEIGHTS_TIMER


@pytest.mark.parametrize("key", [metrics.COST_KEY, "env_runners/episode_cost_mean"])
def test_lookup_reads_nested_and_flat_results(key):
    assert metrics.lookup({"env_runners": {"episode_cost_mean": 3.0}}, key) == 3.0
    assert metrics.lookup({"env_runners/episode_cost_mean": 4.0}, key) == 4.0
    assert math.isnan(metrics.lookup({"env_runners": {}}, key))
    assert metrics.lookup({"env_runners": 1.0}, key, default=None) is None


def test_importing_metrics_does_not_load_ray():
    code = "import sys, rllib_safe.metrics; print(any(m == 'ray' or m.startswith('ray.') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "False"
