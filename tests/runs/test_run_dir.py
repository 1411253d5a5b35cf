"""The run directory's files: a resume drops the discarded iterations from results.jsonl and
TensorBoard both; the summary is strict JSON."""

from __future__ import annotations

import json
import math
import time

import pytest

from rllib_safe.runs import RunFiles
from rllib_safe.runs.run_dir import TENSORBOARD_DIR, read_results

STEPS = "num_env_steps_sampled_lifetime"


def fake_result(iteration: int, cost: float) -> dict:
    """A flattened result of ``iteration`` (100 env steps each)."""
    return {"training_iteration": iteration, STEPS: 100 * iteration, "env_runners/episode_cost_mean": cost}


def write_results(files: RunFiles, results: list[dict]) -> None:
    try:
        for result in results:
            files.write_result(result)
    finally:
        files.close()


def tensorboard_scalars(run_dir, tag: str) -> list[tuple[int, float]]:
    """(step, value) of ``tag`` as TensorBoard itself reads the run's event files."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(run_dir / TENSORBOARD_DIR))
    accumulator.Reload()
    return [(event.step, event.value) for event in accumulator.Scalars(tag)]


@pytest.mark.parametrize("pause_s", [0.0, 1.1], ids=["resumed-within-the-second", "resumed-later"])
def test_resume_drops_the_discarded_iterations_from_tensorboard_too(tmp_path, pause_s):
    """Event files are named by the second: a resumed run's must not overwrite the first one's."""
    pytest.importorskip("tensorboard")
    write_results(RunFiles(tmp_path), [fake_result(i, cost=1.0) for i in (1, 2, 3, 4)])
    time.sleep(pause_s)

    # The run crashed after iteration 4; the newest checkpoint that restores is iteration 2's.
    resumed = RunFiles(tmp_path, resume_from=2)
    assert [r["training_iteration"] for r in resumed.previous_results] == [1, 2]
    write_results(resumed, [fake_result(3, cost=2.0)])

    assert [r["training_iteration"] for r in read_results(tmp_path)] == [1, 2, 3]
    scalars = tensorboard_scalars(tmp_path, "env_runners/episode_cost_mean")
    assert scalars == [(100, 1.0), (200, 1.0), (300, 2.0)]  # iteration 4's step 400 is gone


def test_a_new_run_purges_nothing(tmp_path):
    pytest.importorskip("tensorboard")
    write_results(RunFiles(tmp_path), [fake_result(i, cost=1.0) for i in (1, 2)])
    assert [step for step, _ in tensorboard_scalars(tmp_path, STEPS)] == [100, 200]


def test_remove_empty_dirs_keeps_directories_with_files(tmp_path):
    from rllib_safe.runs.run_dir import remove_empty_dirs

    (tmp_path / "logs" / "a" / "b").mkdir(parents=True)
    (tmp_path / "logs" / "c").mkdir()
    (tmp_path / "logs" / "c" / "kept.txt").write_text("x")
    remove_empty_dirs(tmp_path / "logs")
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == ["logs", "logs/c", "logs/c/kept.txt"]
    remove_empty_dirs(tmp_path / "missing")


def test_the_summary_is_strict_json_even_without_a_measurement(tmp_path):
    files = RunFiles(tmp_path / "run")
    try:
        files.write_summary({"final_return": math.nan, "final_cost": math.inf, "nested": {"x": [math.nan, 1.0]}})
    finally:
        files.close()

    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    summary = json.loads((tmp_path / "run" / "summary.json").read_text(), parse_constant=refuse)
    assert summary == {"final_return": None, "final_cost": None, "nested": {"x": [None, 1.0]}}
