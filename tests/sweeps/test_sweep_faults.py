"""A sweep whose trial process is killed from outside (SIGKILL), as by the OOM killer.

``rllib-safe sweep`` runs as a subprocess; once the trial has reported two iterations (so its
first checkpoint is registered with Tune), the trial actor's process (``ray::PPOLag``, found
among the processes the sweep started) gets SIGKILL. The spec's ``max_failures: 1``
(Tune's FailureConfig) retries it from its last checkpoint; ``rllib-safe report`` then
lists it once, as finished.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.runs.test_faults import descendants, reap, run_cli, start_cli, wait_for

pytestmark = pytest.mark.slow
TINY = Path(__file__).parent / "specs" / "tiny.yaml"
ITERATIONS = 5
BATCH = 200
TRAINABLE = "ray::PPOLag"  # the Tune trainable of ppo-lag: its actor's process title


def reported_iterations(result_file: Path) -> list[int]:
    """``training_iteration`` of every line of a trial's result.json, in file order."""
    if not result_file.exists():
        return []
    iterations = []
    for line in result_file.read_text().splitlines():
        try:
            iterations.append(json.loads(line)["training_iteration"])
        except (json.JSONDecodeError, KeyError):  # a line being written
            continue
    return iterations


def test_killed_trial_is_retried_from_its_checkpoint_and_reported_once(tmp_path):
    from rllib_safe.algorithms import algorithm_class

    assert TRAINABLE == f"ray::{algorithm_class('ppo-lag').__name__}"
    spec = yaml.safe_load(TINY.read_text()) | {
        "name": "faults", "seeds": [0], "budget": {"iterations": ITERATIONS}, "checkpoint_every": 1,
        "max_failures": 1, "storage_path": str(tmp_path / "sweeps"),
    }
    spec_file = tmp_path / "faults.yaml"
    spec_file.write_text(yaml.safe_dump(spec))
    run_dir = tmp_path / "sweeps" / "faults"
    log = tmp_path / "sweep.log"

    sweep = start_cli(["sweep", spec_file, "--verbose", "0"], log)
    family: dict[int, tuple[str, str]] = {}
    killed: dict[int, tuple[str, str]] = {}
    try:
        def trial_reported_twice() -> bool:
            if len(reported_iterations(next(iter((run_dir / "ppo-lag").glob("*/result.json")), Path("-")))) < 2:
                return False
            family.update(descendants(sweep.pid))
            killed.update({pid: v for pid, v in family.items() if v[1].split(" ")[0].startswith(TRAINABLE)})
            return bool(killed)

        wait_for(trial_reported_twice, sweep, log)
        assert len(killed) == 1, f"more than one trial actor: {killed}"
        (pid,) = killed
        os.kill(pid, signal.SIGKILL)
        sweep.wait(timeout=300)
    finally:
        reap(sweep, family)
    output = log.read_text(errors="replace")
    assert sweep.returncode == 0, output
    assert "1 trials in" in output and "1 TERMINATED" in output

    (trial_dir,) = [path.parent for path in (run_dir / "ppo-lag").glob("*/params.json")]
    assert "Failure # 1" in (trial_dir / "error.txt").read_text()  # Tune saw the kill as the trial's failure
    iterations = reported_iterations(trial_dir / "result.json")
    # Retried from its checkpoint, not from scratch: iteration 1 once, then on to the end (an
    # iteration after the checkpoint may come twice: before the kill and after the retry).
    assert iterations.count(1) == 1 and sorted(set(iterations)) == list(range(1, ITERATIONS + 1)), iterations
    final = json.loads((trial_dir / "result.json").read_text().splitlines()[-1])
    assert final["done"] and final["num_env_steps_sampled_lifetime"] == ITERATIONS * BATCH

    code, report_output, _ = run_cli(["report", run_dir], tmp_path, "report", timeout=120)
    assert code == 0, report_output
    table = pd.read_csv(run_dir / "report" / "summary.csv")
    assert len(table) == 1
    row = table.iloc[0]
    assert (row["seeds"], row["finished"], row["errored"]) == (1, 1, 0)
    page = (run_dir / "report" / "index.html").read_text()
    assert "Trials: 1 finished." in page and "<ul>" not in page  # no trial listed as unfinished
