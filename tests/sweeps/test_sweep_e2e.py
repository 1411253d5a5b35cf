"""End to end on 2 CPUs: a two-trial sweep, its report, and resuming an interrupted sweep.

One finished sweep (module fixture) serves the report tests; a multi-algorithm report reads a
Tune-like run directory built from its files. Only the resume test runs a second sweep.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path

import pandas as pd
import pytest
from ray import tune

from rllib_safe.sweeps import SPEC_FILE_NAME, load_spec
from rllib_safe.sweeps.report import write_report
from rllib_safe.sweeps.runner import resume_sweep, run_sweep, save_spec

pytestmark = pytest.mark.slow
TINY = Path(__file__).parent / "specs" / "tiny.yaml"


class InterruptAfterFirstResult(tune.Callback):
    """Sends Tune its interrupt signal (SIGUSR1, as Ctrl+C) after the first reported iteration.

    Tune saves the run's callbacks and restores them on resume; the class-level flag keeps
    the restored copy from interrupting the resumed run.
    """

    fired = False

    def on_trial_result(self, iteration, trials, trial, result, **info):
        if not InterruptAfterFirstResult.fired:
            InterruptAfterFirstResult.fired = True
            os.kill(os.getpid(), signal.SIGUSR1)


def _results(run_dir: Path, algorithm: str = "ppo-lag") -> dict[int, list[dict]]:
    """Each trial's results (by seed), read straight from Tune's result.json files."""
    by_seed = {}
    for path in (run_dir / algorithm).glob("*/result.json"):
        results = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        if results:  # a trial that never reported has an empty file
            by_seed[results[0]["config"]["seed"]] = results
    return by_seed


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    storage = tmp_path_factory.mktemp("sweeps")
    return load_spec(TINY).model_copy(update={"storage_path": str(storage)})


@pytest.fixture(scope="module")
def finished_run(ray_session, spec):
    return run_sweep(spec, name="finished", verbose=0)


def test_two_trial_sweep_finishes(finished_run):
    assert sorted(finished_run.statuses.values()) == ["TERMINATED", "TERMINATED"]
    by_seed = _results(finished_run.run_dir)
    assert sorted(by_seed) == [0, 1]
    assert [len(results) for results in by_seed.values()] == [3, 3]
    assert by_seed[0][-1]["config"]["cost_limit"] == 5.0


def _assert_row_equals_trials(row: pd.Series, results: dict[int, list[dict]], k: int) -> None:
    """Mean and std over seeds of each trial's mean over its last k iterations (the return and J_c
    over the same window of finished episodes)."""
    for metric, key in (("return", "episode_return_window_mean"), ("cost", "episode_cost_mean")):
        finals = pd.Series([sum(r["env_runners"][key] for r in rs[-k:]) / k for rs in results.values()])
        assert row[f"{metric}_mean"] == pytest.approx(finals.mean())
        assert row[f"{metric}_std"] == pytest.approx(finals.std(ddof=1))
    assert row["seeds"] == 2 and row["finished"] == 2 and row["errored"] == 0


def test_report_table_equals_trial_results(finished_run, spec, tmp_path):
    out = write_report(finished_run.run_dir, tmp_path / "report")
    for name in ("summary.md", "summary.csv", "index.html", "learning_curves.png", "reward_vs_cost.png"):
        assert (out / name).stat().st_size > 0, name
    table = pd.read_csv(out / "summary.csv")
    assert list(table["configuration"]) == ["cost_limit=5"]
    _assert_row_equals_trials(table.iloc[0], _results(finished_run.run_dir), spec.final_iterations)
    assert "<img src='learning_curves.png'>" in (out / "index.html").read_text()


def test_report_labels_nested_algorithm_runs(finished_run, spec, tmp_path):
    """A two-algorithm run directory (RUN_DIR/<algorithm>/<trial>) made of the tiny run's trials."""
    run_dir = tmp_path / "two_algorithms"
    for algorithm in ("ppo-lag", "crpo"):
        shutil.copytree(finished_run.run_dir / "ppo-lag", run_dir / algorithm)
    save_spec(spec.model_copy(update={"algorithm": ["ppo-lag", "crpo"]}), run_dir)
    table = pd.read_csv(write_report(run_dir) / "summary.csv")
    assert list(table["configuration"]) == ["ppo-lag: cost_limit=5", "crpo: cost_limit=5"]
    assert list(table["algorithm"]) == ["ppo-lag", "crpo"]
    for _, row in table.iterrows():
        _assert_row_equals_trials(row, _results(finished_run.run_dir), spec.final_iterations)
    assert "crpo: cost_limit=5" in (run_dir / "report" / "index.html").read_text()


def test_interrupted_two_algorithm_sweep_resumes_and_reproduces_first_iteration(finished_run, spec, tmp_path):
    two = spec.model_copy(update={"algorithm": ["ppo-lag", "ppo"]})
    interrupted = run_sweep(two, name="interrupted", callbacks=[InterruptAfterFirstResult()], verbose=0)
    assert interrupted.not_started == ["ppo"] and not (interrupted.run_dir / "ppo").exists()
    partial = _results(interrupted.run_dir)
    assert min(len(results) for results in partial.values()) < spec.budget.iterations
    partial_report = pd.read_csv(write_report(interrupted.run_dir, tmp_path / "partial") / "summary.csv")
    assert partial_report.iloc[0]["finished"] < 2
    assert (interrupted.run_dir / SPEC_FILE_NAME).exists()

    resumed = resume_sweep(interrupted.run_dir, verbose=0)
    assert sorted(resumed.statuses.values()) == ["TERMINATED"] * 4 and not resumed.incomplete
    for algorithm in ("ppo-lag", "ppo"):
        by_seed = _results(resumed.run_dir, algorithm)
        assert sorted(by_seed) == [0, 1]
        for results in by_seed.values():
            assert sorted({r["training_iteration"] for r in results}) == [1, 2, 3]
    by_seed = _results(resumed.run_dir)
    # Same spec and seed: the same first-iteration metrics as the uninterrupted run.
    reference = _results(finished_run.run_dir)
    for seed in (0, 1):
        first, expected = by_seed[seed][0]["env_runners"], reference[seed][0]["env_runners"]
        assert first["episode_return_mean"] == pytest.approx(expected["episode_return_mean"])
        assert first["episode_cost_mean"] == pytest.approx(expected["episode_cost_mean"])
