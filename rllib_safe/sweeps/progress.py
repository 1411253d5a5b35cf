"""What a sweep prints: one line per trial event, with return and J_c against d, as `train` prints.

Tune's own console (the trial table, each trial's full config, result tables) shows neither
J_c nor d and runs to thousands of lines for a few trials; ``rllib-safe sweep`` silences it
(``verbose=0``; ``--verbose 2`` shows it again) and prints these lines instead::

    [pcrpo 00001 conflict_angle=90, seed=1] started
    [pcrpo 00001 conflict_angle=90, seed=1] iter 3 | steps 3000/3000 | return 37.94 | cost 30.10/2
    [pcrpo 00001 conflict_angle=90, seed=1] finished: 3 iterations, return 37.94 | cost 30.10/2 (over the limit)
    [pcrpo 00001 conflict_angle=90, seed=1] FAILED (failure 1): RuntimeError: ...

A search's lines also show the score it ranks by (``rllib_safe.sweeps.score``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from ray import tune

from rllib_safe.metrics import COST_KEY, RETURN_KEY, TRAINING_ITERATION, lookup
from rllib_safe.runs.loop import format_number
from rllib_safe.sweeps.score import FEASIBLE_FLOOR, UNMEASURED


def trial_label(algorithm: str, trial_id: str, config: dict, axes: list[str]) -> str:
    """``pcrpo 00001 conflict_angle=90, seed=1``: the algorithm, the trial's number and its point."""

    def shown(value) -> str:
        return f"{value:.4g}" if isinstance(value, float) else str(value)

    point = ", ".join(f"{name}={shown(config[name])}" for name in [*axes, "seed"] if name in config)
    return f"{algorithm} {trial_id.rsplit('_', 1)[-1]} {point}".strip()


def verdict(episode_cost: float, cost_limit: float) -> str:
    """Where J_c stands against d."""
    if not math.isfinite(episode_cost):
        return "no episode finished"
    return "within the limit" if episode_cost <= cost_limit else "over the limit"


def format_score(score: float) -> str:
    """A search's score as a user reads it: the return it equals where feasible, else why it is low."""
    if score >= FEASIBLE_FLOOR:
        return f"{score:.4g}"
    return "over the limit" if score > UNMEASURED else "no episode finished"


class TrialProgress(tune.Callback):
    """Prints each trial's start, every iteration, its end and its failures (module docstring).

    ``budget_key`` / ``budget``: the stop criterion's result key and value (env steps or iterations).
    """

    def __init__(self, algorithm: str, axes: list[str], budget_key: str, budget: int,
                 echo: Callable[[str], None] = print, score_key: str | None = None):
        self.algorithm, self.axes, self.budget_key, self.budget = algorithm, axes, budget_key, budget
        self.unit = "iterations" if budget_key == TRAINING_ITERATION else "steps"
        self.echo, self.score_key = echo, score_key
        self.last_result: dict[str, dict] = {}

    def _say(self, trial, text: str) -> None:
        self.echo(f"[{trial_label(self.algorithm, trial.trial_id, trial.config, self.axes)}] {text}")

    @staticmethod
    def _figures(trial, result: dict) -> str:
        return (f"return {format_number(lookup(result, RETURN_KEY))} | "
                f"cost {format_number(lookup(result, COST_KEY))}/{trial.config.get('cost_limit', math.nan):g}")

    def on_trial_start(self, iteration, trials, trial, **info):
        self._say(trial, "started")

    def on_trial_result(self, iteration, trials, trial, result, **info):
        self.last_result[trial.trial_id] = result
        line = (f"iter {result.get(TRAINING_ITERATION)} | {self.unit} {int(lookup(result, self.budget_key, 0))}/"
                f"{self.budget} | {self._figures(trial, result)}")
        if self.score_key and self.score_key in result:
            line += f" | score {format_score(result[self.score_key])}"
        self._say(trial, line)

    def on_trial_complete(self, iteration, trials, trial, **info):
        result = self.last_result.get(trial.trial_id, {})
        cost = lookup(result, COST_KEY)
        self._say(trial, f"finished: {result.get(TRAINING_ITERATION, 0)} iterations, {self._figures(trial, result)} "
                         f"({verdict(cost, trial.config.get('cost_limit', math.nan))})")

    def on_trial_error(self, iteration, trials, trial, **info):
        error = trial.get_error()
        reason = str(error).strip().splitlines()[-1][:200] if error else "see the trial's error.txt"
        self._say(trial, f"FAILED (failure {trial.num_failures}): {reason}")
