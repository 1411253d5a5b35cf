"""Faults, tried from the outside: ``rllib-safe`` runs as a subprocess, as a user would run it.

* ``kill -9`` of the training driver after a checkpoint, then ``train --resume``;
* a corrupted or truncated checkpoint (the newest of two, or the only one);
* a run directory on a read-only or full disk (a small tmpfs; skipped where mounting is not
  permitted), for a new run and for a resumed one.

Each run is a tiny PCRPO run on BudgetEnv (200 env steps per iteration). A run that starts Ray
pays its start-up (10-20 s); the disk checks must end before Ray starts, so they run with
``RAY_TMPDIR`` pointing at a directory that Ray would create its session in.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BATCH = 200  # env steps per iteration
TRAIN = [
    "train", "--algo", "pcrpo", "--env", "BudgetEnv", "--cost-limit", "5", "--seed", "0",
    "--num-env-runners", "0", "--num-envs-per-env-runner", "2",
    "--set", "train_batch_size_per_learner=200", "--set", "minibatch_size=100", "--set", "num_epochs=2",
]
MODES = ("mode_reward", "mode_soft_aligned", "mode_soft_conflict", "mode_cost")
RUN_TIMEOUT_S = 300


# -- Running the CLI ----------------------------------------------------------------------------


def cli_command() -> list[str]:
    """The ``rllib-safe`` console script of this interpreter's environment."""
    script = Path(sys.executable).with_name("rllib-safe")
    return [str(script)] if script.exists() else [shutil.which("rllib-safe") or "rllib-safe"]


def cli_env(**extra: str) -> dict[str, str]:
    """The environment of a CLI subprocess: a local Ray instance of its own, unbuffered output."""
    env = {key: value for key, value in os.environ.items() if key != "RAY_ADDRESS"}
    return env | {"PYTHONUNBUFFERED": "1", "RAY_DEDUP_LOGS": "0"} | extra


def start_cli(args: list, log: Path, **env: str) -> subprocess.Popen:
    """``rllib-safe ARGS`` in a session of its own, stdout and stderr into ``log``."""
    with open(log, "wb") as out:
        return subprocess.Popen([*cli_command(), *map(str, args)], stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=cli_env(**env), start_new_session=True)


def processes() -> dict[int, tuple[int, str, str]]:
    """Every process of this machine: pid -> (parent pid, start time, command line), from /proc."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:  # gone meanwhile
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "
        table[int(entry.name)] = (int(fields[1]), fields[19], cmdline)
    return table


def descendants(pid: int) -> dict[int, tuple[str, str]]:
    """The processes started (directly or not) by ``pid``: pid -> (start time, command line)."""
    table, found, frontier = processes(), {}, [pid]
    while frontier:
        parent = frontier.pop()
        for child, (ppid, started, cmdline) in table.items():
            if ppid == parent and child not in found:
                found[child] = (started, cmdline)
                frontier.append(child)
    return found


def kill_same(pid: int, started: str) -> None:
    """SIGKILL to ``pid`` if it is still the process that started at ``started``."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat[stat.rindex(")") + 2:].split()[19] == started:
            os.kill(pid, signal.SIGKILL)
    except (OSError, IndexError):
        pass


def reap(process: subprocess.Popen, family: dict[int, tuple[str, str]]) -> None:
    """Kills what is left of a CLI subprocess: itself, its session, and the processes it started."""
    if process.poll() is None:
        process.kill()
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait(timeout=30)
    for pid, (started, _) in family.items():
        kill_same(pid, started)


def run_cli(args: list, tmp: Path, name: str, timeout: float = RUN_TIMEOUT_S, **env: str):
    """Runs ``rllib-safe ARGS`` to its end; returns (exit code, output, seconds)."""
    log = tmp / f"{name}.log"
    start = time.monotonic()
    process = start_cli(args, log, **env)
    family: dict[int, tuple[str, str]] = {}
    try:
        deadline = start + timeout
        while process.poll() is None and time.monotonic() < deadline:
            family |= descendants(process.pid)
            time.sleep(0.5)
        elapsed = time.monotonic() - start
        if process.poll() is None:
            pytest.fail(f"rllib-safe {' '.join(map(str, args))} ran past {timeout} s:\n{log.read_text()[-3000:]}")
    finally:
        reap(process, family)
    return process.returncode, log.read_text(errors="replace"), elapsed


def wait_for(condition, process: subprocess.Popen, log: Path, timeout: float = RUN_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"the run ended (exit {process.returncode}) before the fault:\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"no fault point within {timeout} s:\n{log.read_text()[-3000:]}")
        time.sleep(0.05)


# -- Reading a run directory as it is on disk ---------------------------------------------------


def raw_iterations(run_dir: Path) -> list[int]:
    """The iteration of every line of results.jsonl, in file order (duplicates included)."""
    path = run_dir / "results.jsonl"
    if not path.exists():
        return []
    lines = []
    for line in path.read_text().splitlines():
        try:
            lines.append(json.loads(line))
        except json.JSONDecodeError:  # a line being written
            continue
    return [result["training_iteration"] for result in lines]


def results(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "results.jsonl").read_text().splitlines()]


def checkpoint_names(run_dir: Path) -> list[str]:
    return sorted(path.name for path in (run_dir / "checkpoints").glob("iter_*"))


def summary(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


def mode_sums(lines: list[dict]) -> dict[str, float]:
    return {mode: sum(v for r in lines for k, v in r.items() if k.endswith("/" + mode)) for mode in MODES}


def assert_whole_run(run_dir: Path, iterations: int) -> None:
    """results.jsonl holds iterations 1..N once each, and summary.json covers all of them."""
    assert raw_iterations(run_dir) == list(range(1, iterations + 1))
    lines = results(run_dir)
    assert lines[-1]["num_env_steps_sampled_lifetime"] == iterations * BATCH
    final = summary(run_dir)
    assert (final["status"], final["iterations"], final["env_steps"]) == ("completed", iterations, iterations * BATCH)
    assert final["update_mode_counts"] == pytest.approx(mode_sums(lines))
    # PCRPO's trust-region update takes one step of one mode per iteration.
    assert sum(final["update_mode_counts"].values()) == pytest.approx(iterations)
    assert sum(taken for _, taken in final["line_search_accepted"].values()) == pytest.approx(iterations)


# -- kill -9 of the driver, then --resume -------------------------------------------------------


@pytest.fixture(scope="module")
def killed_and_resumed(tmp_path_factory):
    """A 5-iteration run (a checkpoint every 2) killed with SIGKILL once iteration 3 is written
    (after checkpoint 2), then ``train --resume RUN_DIR``; what was on disk after the kill."""
    tmp = tmp_path_factory.mktemp("killed")
    run_dir = tmp / "run"
    log = tmp / "first.log"
    first = start_cli([*TRAIN, "--checkpoint-every", "2", "--timesteps", 5 * BATCH, "--run-dir", run_dir], log)
    family: dict[int, tuple[str, str]] = {}
    try:
        def iteration_3_written():
            if int(time.monotonic() * 2) % 2:  # now and then: the processes the driver started
                family.update(descendants(first.pid))
            return 3 in raw_iterations(run_dir)

        wait_for(iteration_3_written, first, log)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        reap(first, family)
    after_kill = {"exit": first.returncode, "iterations": raw_iterations(run_dir),
                  "checkpoints": checkpoint_names(run_dir), "summary": (run_dir / "summary.json").exists()}
    code, output, _ = run_cli(["train", "--resume", run_dir], tmp, "resume")
    return run_dir, after_kill, code, output


def test_kill_9_leaves_an_iteration_past_the_last_checkpoint(killed_and_resumed):
    """The fault as intended: killed, iteration 3 written, checkpoint 2 the newest, no summary."""
    _, after_kill, _, _ = killed_and_resumed
    assert after_kill["exit"] == -signal.SIGKILL
    assert after_kill["iterations"] == [1, 2, 3]
    assert after_kill["checkpoints"] == ["iter_000002"]
    assert not after_kill["summary"]


def test_resume_after_kill_9_finishes_the_run_with_every_iteration_once(killed_and_resumed):
    run_dir, _, code, output = killed_and_resumed
    assert code == 0, output
    assert f"Resuming from {run_dir / 'checkpoints' / 'iter_000002'} (target {5 * BATCH} env steps)" in output
    assert "iter 3 | steps 600/1000" in output and "iter 5 | steps 1000/1000" in output
    assert "Training completed: 5 iterations, 1000 env steps" in output
    assert_whole_run(run_dir, 5)  # iteration 3 of the killed driver dropped, written again once
    # The resumed run keeps the run's checkpoint frequency (every 2) and checkpoints at the end.
    assert checkpoint_names(run_dir) == ["iter_000002", "iter_000004", "iter_000005"]


# -- Broken checkpoints -------------------------------------------------------------------------


def copy_run(run_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(run_dir, tmp_path / "run"))


def test_broken_newest_checkpoint_is_named_and_the_previous_one_used(killed_and_resumed, tmp_path):
    run_dir = copy_run(killed_and_resumed[0], tmp_path)
    broken, previous = run_dir / "checkpoints" / "iter_000005", run_dir / "checkpoints" / "iter_000004"
    state = broken / "learner_group" / "learner" / "state.pkl"
    state.write_bytes(b"\x00garbage, not a pickle" * 8)  # corrupted
    code, output, _ = run_cli(["train", "--resume", run_dir, "--timesteps", 6 * BATCH], tmp_path, "resume")
    assert code == 0, output
    assert f"Checkpoint {broken} cannot be restored (" in output
    assert f"; using {previous}" in output
    assert f"Resuming from {previous} (target {6 * BATCH} env steps)" in output
    assert_whole_run(run_dir, 6)  # iteration 5 written again once, from checkpoint 4


def test_only_checkpoint_truncated_exits_2_naming_it(killed_and_resumed, tmp_path):
    run_dir = copy_run(killed_and_resumed[0], tmp_path)
    for name in ("iter_000004", "iter_000005"):
        shutil.rmtree(run_dir / "checkpoints" / name)
    only = run_dir / "checkpoints" / "iter_000002"
    state = only / "learner_group" / "learner" / "state.pkl"
    with open(state, "r+b") as file:  # truncated, as by a full disk
        file.truncate(state.stat().st_size // 2)
    results_before, summary_before = (run_dir / "results.jsonl").read_bytes(), (run_dir / "summary.json").read_bytes()
    code, output, _ = run_cli(["train", "--resume", run_dir, "--timesteps", 6 * BATCH], tmp_path, "resume")
    assert code == 2, output
    assert f"rllib-safe train: checkpoint {str(only)!r} cannot be restored (" in output
    assert "Resuming from" not in output and "iter 3 |" not in output
    # Nothing of the run directory was changed.
    assert (run_dir / "results.jsonl").read_bytes() == results_before
    assert (run_dir / "summary.json").read_bytes() == summary_before


# -- Read-only and full disks -------------------------------------------------------------------


@pytest.fixture
def tmpfs(tmp_path):
    """``mount(name, options)``: a small tmpfs at ``tmp_path/name``, unmounted at teardown."""
    mounted: list[Path] = []

    def mount(name: str, options: str) -> Path:
        point = tmp_path / name
        point.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here (needs root and mount permission): {done.stderr.strip()}")
        mounted.append(point)
        return point

    yield mount
    for point in reversed(mounted):
        subprocess.run(["umount", "-l", str(point)], check=False)


def fill(directory: Path) -> None:
    """Writes a file until the file system is full."""
    with open(directory / "filler", "wb") as file:
        try:
            while True:
                file.write(b"\0" * 65536)
                file.flush()
        except OSError:
            pass


def assert_refused_before_ray(args: list, tmp_path: Path, directory: Path, reason: str, **env: str) -> None:
    """Exit 2 within seconds, the message names the run directory and why, and Ray never started."""
    ray_tmp = tmp_path / "rt"
    ray_tmp.mkdir()
    code, output, seconds = run_cli(args, tmp_path, "refused", timeout=120, RAY_TMPDIR=str(ray_tmp), **env)
    assert code == 2, output
    assert f"rllib-safe train: run directory {str(directory)!r} " in output and reason in output, output
    assert "Run directory:" not in output and "iter 1 |" not in output
    assert not any(ray_tmp.iterdir()), "Ray started (its session directory was created)"
    assert seconds < 60, f"took {seconds:.0f} s: the check should come before anything slow"


def test_read_only_disk_is_refused_before_ray_starts(tmpfs, tmp_path):
    run_dir = tmpfs("ro", "ro,size=1m") / "run"
    assert_refused_before_ray([*TRAIN, "--timesteps", BATCH, "--run-dir", run_dir], tmp_path, run_dir,
                              "is not writable: Read-only file system")


def test_full_disk_is_refused_before_ray_starts(tmpfs, tmp_path):
    disk = tmpfs("full", "size=1m")
    (disk / "run").mkdir()
    fill(disk)
    run_dir = disk / "run"
    # Threshold 0: the write check itself finds the disk full.
    assert_refused_before_ray([*TRAIN, "--timesteps", BATCH, "--run-dir", run_dir], tmp_path, run_dir,
                              "is not writable: No space left on device", RLLIB_SAFE_MIN_FREE_MB="0")


def test_disk_below_the_free_space_threshold_is_refused_before_ray_starts(tmpfs, tmp_path):
    run_dir = tmpfs("small", "size=1m") / "run"
    assert_refused_before_ray([*TRAIN, "--timesteps", BATCH, "--run-dir", run_dir], tmp_path, run_dir,
                              "MiB free; a run needs at least 2 MiB", RLLIB_SAFE_MIN_FREE_MB="2")


def test_resume_on_a_read_only_disk_is_refused_before_ray_starts(killed_and_resumed, tmpfs, tmp_path):
    disk = tmpfs("resume", "size=16m")
    run_dir = Path(shutil.copytree(killed_and_resumed[0], disk / "run"))
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
    assert_refused_before_ray(["train", "--resume", run_dir, "--timesteps", 6 * BATCH], tmp_path, run_dir,
                              "is not writable: Read-only file system")
