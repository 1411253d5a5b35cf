"""`rllib-safe evaluate` on a finished run, and `rllib-safe train --resume` continuing it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rllib_safe.cli import main
from rllib_safe.runs import find_checkpoint
from rllib_safe.runs.evaluation import build_env, evaluate, load_policy, run_episode
from tests.cli.conftest import BATCH

pytestmark = pytest.mark.slow


def test_evaluate_reports_return_cost_and_cost_rate(short_run, tmp_path, capsys):
    out = tmp_path / "report.json"
    assert main(["evaluate", str(short_run), "--episodes", "3", "--seed", "5", "--json-out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "cost_rate" in printed and "deterministic episodes" in printed
    report = json.loads(out.read_text())
    assert report["env"] == "BudgetEnv" and report["episodes"] == 3
    assert report["length_mean"] == 20  # BudgetEnv's horizon
    assert report["cost_mean"] == pytest.approx(report["return_mean"])  # BudgetEnv: cost = reward
    assert report["cost_rate_mean"] == pytest.approx(report["cost_mean"] / 20)


def test_evaluation_is_deterministic_and_keeps_the_filter_frozen(short_run):
    checkpoint = find_checkpoint(short_run)
    assert evaluate(checkpoint, 2, seed=0) == evaluate(checkpoint, 2, seed=0)
    policy = load_policy(checkpoint)
    (obs_filter,) = [p for p in policy.env_to_module.connectors if type(p).__name__ == "MeanStdFilter"]
    before = obs_filter.get_state()
    run_episode(policy, build_env(policy.env_id, policy.env_config), seed=0)
    assert repr(obs_filter.get_state()) == repr(before)


def test_evaluate_rejects_a_missing_path(capsys):
    assert main(["evaluate", "no/such/run"]) == 2
    assert "CHECKPOINT = 'no/such/run': no such run directory or checkpoint" in capsys.readouterr().err


def test_resume_continues_the_run_to_the_new_total(short_run, tmp_path):
    short_run = Path(shutil.copytree(short_run, tmp_path / "run"))
    assert main(["train", "--resume", str(short_run), "--timesteps", str(3 * BATCH)]) == 0
    results = [json.loads(line) for line in (short_run / "results.jsonl").read_text().splitlines()]
    assert [r["training_iteration"] for r in results] == [1, 2, 3]
    assert results[-1]["num_env_steps_sampled_lifetime"] == 3 * BATCH
    assert find_checkpoint(short_run).name == "iter_000003"
    assert json.loads((short_run / "summary.json").read_text())["env_steps"] == 3 * BATCH
