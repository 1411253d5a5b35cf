"""`rllib-safe report` on train run directories, sweep directories and a mix, built on disk (no Ray).

Each test writes the files the runs write (``config.json``, ``results.jsonl``, ``summary.json``;
``sweep_spec.yaml`` and Tune's ``params.json`` / ``result.json``) with the real metric keys, then
reads the report's table, Markdown and HTML.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from rllib_safe.cli import main
from rllib_safe.metrics import COST_KEY, RETURN_KEY, STEPS_KEY, TRAINING_ITERATION, flat
from rllib_safe.sweeps.report import write_report
from rllib_safe.sweeps.sources import RUNNING_OR_KILLED

LAST_K = 2


def write_train_run(run_dir: Path, *, seed: int, returns: list[float], costs: list[float], algo: str = "ppo-lag",
                    cost_limit: float = 25.0, status: str | None = "completed", num_env_runners: int = 2,
                    settings: dict | None = None) -> Path:
    """A `rllib-safe train` run directory: config.json, results.jsonl, and summary.json unless ``status`` is None."""
    run_dir.mkdir(parents=True)
    options = {"algo": algo, "env": "BudgetEnv", "seed": seed, "cost_limit": cost_limit, "timesteps": 4000,
               "run_dir": str(run_dir), "num_env_runners": num_env_runners}
    config = {"env": "BudgetEnv", "seed": seed, "cost_limit": cost_limit, "lr": 3e-4,
              "num_env_runners": num_env_runners, "num_cpus_per_env_runner": 1,
              "policy_mapping_fn": f"<function f at 0x7f{seed:04x}>", **(settings or {})}
    payload = {"options": options, "algorithm": "PPOLagrangian", "config": config}
    (run_dir / "config.json").write_text(json.dumps(payload))
    lines = [{TRAINING_ITERATION: i + 1, flat(STEPS_KEY): 1000 * (i + 1), flat(RETURN_KEY): ret, flat(COST_KEY): cost}
             for i, (ret, cost) in enumerate(zip(returns, costs))]
    (run_dir / "results.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    if status is not None:
        (run_dir / "summary.json").write_text(json.dumps({"status": status, "iterations": len(lines)}))
    return run_dir


def write_sweep(run_dir: Path, *, cost_limit: float = 5.0, finals: dict[int, tuple[float, float]]) -> Path:
    """A one-algorithm sweep directory (PPO-Lag over cost_limit) whose trials end at ``finals[seed]`` (return, cost)."""
    spec = {"name": run_dir.name, "algorithm": "ppo-lag", "env": "BudgetEnv", "budget": {"iterations": 3},
            "seeds": sorted(finals), "search_space": {"cost_limit": {"grid": [cost_limit]}},
            "final_iterations": LAST_K, "storage_path": str(run_dir.parent)}
    run_dir.mkdir(parents=True)
    (run_dir / "sweep_spec.yaml").write_text(yaml.safe_dump(spec))
    for seed, (ret, cost) in finals.items():
        trial = run_dir / "ppo-lag" / f"trial_{seed}"
        trial.mkdir(parents=True)
        (trial / "params.json").write_text(json.dumps({"cost_limit": cost_limit, "seed": seed}))
        rows = [{"training_iteration": i, "num_env_steps_sampled_lifetime": 1000 * i, "done": i == 3,
                 "env_runners": {"episode_return_mean": ret, "episode_cost_mean": cost}} for i in (1, 2, 3)]
        (trial / "result.json").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return run_dir


def report_table(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "summary.csv", keep_default_na=False, na_values=[""]).set_index("configuration")


def test_train_runs_group_seeds_and_ignore_resources(tmp_path):
    """Two seeds with different worker counts are one configuration; another cost limit or lr is another,
    and the labels name the settings that differ."""
    runs = [
        write_train_run(tmp_path / "a", seed=0, returns=[1, 2, 4], costs=[30, 20, 10]),
        write_train_run(tmp_path / "b", seed=1, returns=[1, 6, 8], costs=[30, 20, 20], num_env_runners=8),
        write_train_run(tmp_path / "c", seed=0, returns=[1, 1, 1], costs=[9, 9, 9], cost_limit=10.0),
        write_train_run(tmp_path / "d", seed=0, returns=[1, 1, 1], costs=[9, 9, 9], settings={"lr": 1e-3}),
    ]
    table = report_table(write_report(runs, tmp_path / "report", last_k=LAST_K))
    assert list(table.index) == [
        "ppo-lag: cost_limit=25, lr=0.0003", "ppo-lag: cost_limit=10, lr=0.0003", "ppo-lag: cost_limit=25, lr=0.001"]
    assert table["lr"].tolist() == [3e-4, 3e-4, 1e-3]
    row = table.loc["ppo-lag: cost_limit=25, lr=0.0003"]
    assert row["seeds"] == 2 and row["finished"] == 2 and row["env"] == "BudgetEnv"
    finals = pd.Series([(2 + 4) / 2, (6 + 8) / 2])  # the mean of each run's last two iterations
    assert row["return_mean"] == pytest.approx(finals.mean())
    assert row["return_std"] == pytest.approx(finals.std(ddof=1))
    assert row["cost_mean"] == pytest.approx((15 + 20) / 2) and row["cost_limit"] == 25
    assert table.loc["ppo-lag: cost_limit=10, lr=0.0003", "seeds"] == 1


def test_statuses_of_unfinished_train_runs(tmp_path):
    runs = [
        write_train_run(tmp_path / "done", seed=0, returns=[1, 2], costs=[1, 1]),
        write_train_run(tmp_path / "killed", seed=1, returns=[1], costs=[1], status=None),
        write_train_run(tmp_path / "stopped", seed=2, returns=[1, 3], costs=[1, 1], status="interrupted"),
    ]
    out = write_report(runs, tmp_path / "report")
    row = report_table(out).iloc[0]
    assert (row["seeds"], row["finished"], row["errored"]) == (3, 1, 0)
    assert row["status"] == f"1 finished, 1 {RUNNING_OR_KILLED}, 1 interrupted"
    page = (out / "index.html").read_text()
    assert f"killed: {RUNNING_OR_KILLED}, 1 iterations" in page and "stopped: interrupted, 2 iterations" in page
    assert "done: finished" not in page


def test_feasibility_and_best_feasible_configuration(tmp_path):
    """Feasible: mean final cost <= the configuration's own limit; the best is the feasible one with the top return."""
    runs = [
        write_train_run(tmp_path / "low", seed=0, returns=[5, 5], costs=[4, 4], cost_limit=5.0),
        write_train_run(tmp_path / "mid", seed=0, returns=[8, 8], costs=[10, 10], cost_limit=10.0),
        write_train_run(tmp_path / "high", seed=0, returns=[20, 20], costs=[30, 30], cost_limit=25.0),
    ]
    out = write_report(runs, tmp_path / "report")
    table = report_table(out)
    assert dict(table["feasible"]) == {
        "ppo-lag: cost_limit=5": "yes", "ppo-lag: cost_limit=10": "yes", "ppo-lag: cost_limit=25": "no"}
    assert list(table.index[table["best_feasible"] == "yes"]) == ["ppo-lag: cost_limit=10"]
    best = "Best feasible configuration: ppo-lag: cost_limit=10"
    assert (out / "summary.md").read_text().startswith(best)
    page = (out / "index.html").read_text()
    assert best in page and page.index(best) < page.index("<table")


def test_no_feasible_configuration_is_said(tmp_path):
    run = write_train_run(tmp_path / "over", seed=0, returns=[5], costs=[40])
    out = write_report(run)
    assert out == run.resolve() / "report"  # one train run: its report goes next to its results
    assert report_table(out)["best_feasible"].tolist() == ["no"]
    assert "Best feasible configuration: none feasible." in (out / "index.html").read_text()


def test_cost_interval_is_clipped_at_zero(tmp_path):
    runs = [write_train_run(tmp_path / f"s{seed}", seed=seed, returns=[1], costs=[cost])
            for seed, cost in enumerate([0.1, 3.0])]
    row = report_table(write_report(runs, tmp_path / "report")).iloc[0]
    half = stats.t.ppf(0.975, 1) * np.std([0.1, 3.0], ddof=1) / math.sqrt(2)
    assert 1.55 - half < 0  # the unclipped interval reaches below 0 ...
    assert row["cost_ci95_low"] == 0.0 and row["cost_ci95_high"] == pytest.approx(1.55 + half)  # ... the report's not
    assert row["return_ci95_low"] == row["return_ci95_high"] == 1.0  # returns are not clipped (no spread here)


def test_a_sweep_and_train_runs_in_one_report(tmp_path, capsys):
    sweep = write_sweep(tmp_path / "tiny", finals={0: (10.0, 2.0), 1: (12.0, 4.0)})
    runs = [write_train_run(tmp_path / f"run{seed}", seed=seed, returns=[3, 3], costs=[30, 30]) for seed in (0, 1)]
    out = tmp_path / "comparison"
    assert main(["report", str(sweep), *map(str, runs), "--out", str(out)]) == 0
    assert f"report written to {out}/index.html" in capsys.readouterr().out
    table = report_table(out)
    assert list(table.index) == ["tiny/ppo-lag: cost_limit=5", "ppo-lag"]
    assert table["seeds"].tolist() == [2, 2] and table["finished"].tolist() == [2, 2]
    assert table.loc["tiny/ppo-lag: cost_limit=5", "return_mean"] == pytest.approx(11.0)
    assert table["feasible"].tolist() == ["yes", "no"]  # sweep: cost 3 <= 5; train runs: 30 > 25
    assert "Best feasible configuration: tiny/ppo-lag: cost_limit=5" in (out / "summary.md").read_text()


def test_one_sweep_reports_as_before(tmp_path):
    sweep = write_sweep(tmp_path / "tiny", finals={0: (10.0, 2.0), 1: (12.0, 4.0)})
    assert main(["report", str(sweep)]) == 0
    table = pd.read_csv(sweep / "report" / "summary.csv")
    assert list(table["configuration"]) == ["cost_limit=5"]
    assert (table.iloc[0]["seeds"], table.iloc[0]["finished"], table.iloc[0]["errored"]) == (2, 2, 0)
    assert "Trials: 2 finished." in (sweep / "report" / "index.html").read_text()


@pytest.mark.parametrize("extra", [[], ["good"]], ids=["alone", "beside a run"])
def test_a_directory_without_a_run_is_refused_before_anything_is_written(tmp_path, capsys, extra):
    empty = tmp_path / "empty"
    empty.mkdir()
    paths = [str(write_train_run(tmp_path / name, seed=0, returns=[1], costs=[1])) for name in extra]
    assert main(["report", *paths, str(empty), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"rllib-safe report: {empty} holds no run")
    assert "`rllib-safe train` run directory" in error and "sweep directory" in error
    assert "Traceback" not in error
    assert not (tmp_path / "out").exists() and not (empty / "report").exists()


def test_several_runs_report_into_the_working_directory(tmp_path, capsys, monkeypatch):
    runs = [str(write_train_run(tmp_path / f"run{seed}", seed=seed, returns=[1], costs=[1])) for seed in (0, 1)]
    monkeypatch.chdir(tmp_path)
    assert main(["report", *runs]) == 0  # `rllib-safe report runs/a runs/b` as the README writes it
    assert "report written to report/index.html" in capsys.readouterr().out
    assert (tmp_path / "report" / "index.html").exists()
    assert not any((Path(run) / "report").exists() for run in runs)
