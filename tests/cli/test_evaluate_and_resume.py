"""`rllib-safe evaluate` on a finished run, and `rllib-safe train --resume` continuing it.

The tests that need the short training run (Ray) are slow; the checks before a checkpoint is
loaded are not.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from rllib_safe.cli import main
from rllib_safe.envs.known_optimum import BudgetEnv
from rllib_safe.runs import find_checkpoint
from rllib_safe.runs.run_dir import CHECKPOINT_MARKER
from tests.short_run import BATCH

MODULE_STATE = Path("learner_group", "learner", "rl_module", "default_policy", "module_state.pkl")


def copy_run(run_dir: Path, tmp_path: Path) -> Path:
    """A copy of a run directory that a test may change."""
    return Path(shutil.copytree(run_dir, tmp_path / "run"))


@pytest.mark.slow
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


def test_evaluate_rejects_a_missing_path(capsys):
    assert main(["evaluate", "no/such/run"]) == 2
    assert "CHECKPOINT = 'no/such/run': no such run directory or checkpoint" in capsys.readouterr().err


@pytest.mark.slow
def test_resume_continues_the_run_to_the_new_total(short_run, tmp_path):
    short_run = copy_run(short_run, tmp_path)
    assert main(["train", "--resume", str(short_run), "--timesteps", str(3 * BATCH)]) == 0
    results = [json.loads(line) for line in (short_run / "results.jsonl").read_text().splitlines()]
    assert [r["training_iteration"] for r in results] == [1, 2, 3]
    assert results[-1]["num_env_steps_sampled_lifetime"] == 3 * BATCH
    assert find_checkpoint(short_run).name == "iter_000003"
    assert json.loads((short_run / "summary.json").read_text())["env_steps"] == 3 * BATCH


@pytest.mark.slow
def test_evaluate_falls_back_from_a_broken_newest_checkpoint_of_a_run(short_run, tmp_path, capsys):
    run_dir = copy_run(short_run, tmp_path)
    broken, previous = run_dir / "checkpoints" / "iter_000002", run_dir / "checkpoints" / "iter_000001"
    (broken / MODULE_STATE).write_bytes(b"\x00garbage, not a pickle" * 8)
    out = tmp_path / "report.json"
    assert main(["evaluate", str(run_dir), "--episodes", "1", "--json-out", str(out)]) == 0
    assert f"Checkpoint {broken} cannot be restored (" in capsys.readouterr().err
    assert json.loads(out.read_text())["checkpoint"] == str(previous.resolve())
    # A checkpoint given by path is used or refused, never replaced by another.
    assert main(["evaluate", str(broken), "--episodes", "1"]) == 2
    assert f"rllib-safe evaluate: checkpoint {str(broken)!r} cannot be restored (" in capsys.readouterr().err


@pytest.fixture
def unloadable_run(tmp_path) -> Path:
    """A run directory whose only checkpoint is a marker file: it fails to load, if anything tries."""
    checkpoint = tmp_path / "run" / "checkpoints" / "iter_000001"
    checkpoint.mkdir(parents=True)
    (checkpoint / CHECKPOINT_MARKER).write_text("{}")
    return tmp_path / "run"


@pytest.mark.parametrize(("flag", "output", "reason"), [
    ("--video", "a_file/out.mp4", "'{tmp}/a_file': Not a directory"),
    ("--json-out", "a_dir", "'{tmp}/a_dir': Is a directory"),
])
def test_unwritable_outputs_are_refused_before_a_checkpoint_is_loaded(unloadable_run, tmp_path, capsys,
                                                                      flag, output, reason):
    (tmp_path / "a_file").write_text("")
    (tmp_path / "a_dir").mkdir()
    before = sorted(tmp_path.rglob("*"))
    path = tmp_path / output
    assert main(["evaluate", str(unloadable_run), flag, str(path)]) == 2
    expected = f"rllib-safe evaluate: {flag} = {str(path)!r} cannot be written ({reason.format(tmp=tmp_path)})"
    assert capsys.readouterr().err.strip() == expected
    assert sorted(tmp_path.rglob("*")) == before  # no probe file, no empty video left behind


@pytest.mark.slow
def test_outputs_that_fail_at_the_end_leave_the_printed_report_whole(short_run, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("rllib_safe.cli.evaluate.check_outputs", lambda options: None)  # they break meanwhile
    monkeypatch.setattr(BudgetEnv, "render", lambda self: np.zeros((16, 16, 3), np.uint8), raising=False)
    (tmp_path / "a_file").write_text("")
    video, json_out = tmp_path / "a_file" / "out.mp4", tmp_path / "a_file" / "report.json"
    assert main(["evaluate", str(short_run), "--episodes", "1", "--video", str(video),
                 "--json-out", str(json_out)]) == 1
    captured = capsys.readouterr()
    report = json.loads(captured.out.strip().splitlines()[-1])
    assert report["episodes"] == 1 and report["video"] is None and "return_mean" in report
    assert f"rllib-safe evaluate: the video could not be written ({video}: FileExistsError: " in captured.err
    assert f"rllib-safe evaluate: the JSON report could not be written ({json_out}: File exists)" in captured.err
