"""Learning benchmark: each run of a suite trained to its budget, resumable run by run, then a report.

    python -m benchmarks.learning --suite standard              # every run not in the results file yet
    python -m benchmarks.learning --suite standard --jobs 16    # 16 runs at once, one CPU each
    python -m benchmarks.learning --suite standard --tasks SafetyPointCircle1-v0 --algos pcrpo smpo --seeds 0
    python -m benchmarks.learning --suite smpo_diagnosis --variants qc_episode_end   # runs of one variant
    python -m benchmarks.learning --suite standard --dry-run    # the plan: done, to resume, to start
    python -m benchmarks.learning --suite standard --report     # table and figures from the results file
    python -m benchmarks.learning --suite smoke                 # the same code path in seconds

Suites are data (``benchmarks.learning_suites``). Each run trains in its own run directory
(``rllib-safe train``'s: results.jsonl, checkpoints every few iterations) under
``results/learning/<suite>/<task>/<algo>/seed<k>/``. A run whose line is in the results file
(``benchmarks/results/learning_<suite>.jsonl`` for the standard suite) is skipped; an interrupted
run (Ctrl-C, a crash, a killed job) continues from its last checkpoint. Each finished run appends
one JSON line: its settings, seed, budget, the git revision it started at, ``starts`` (1, plus one
per resume from a checkpoint), env steps, wall time, steps/s, the figures of
``learning_report.run_figures``, its learning curve, and the provenance of the process that trained
it (``benchmarks.record``: revision at the end, machine, versions, command). The report
(``--report``, and after every invocation) is computed from that file alone.

``--jobs 1`` (the default) trains the runs one after the other in this process on one Ray
instance (all of this machine's CPUs). ``--jobs N`` starts N runs at once, each in its own
process with its own Ray instance, pinned to one CPU; its progress goes to
``results/learning/<suite>/logs/<task>_<algo>_seed<k>.log``. A run's config (settings, seed,
EnvRunners) never depends on ``--jobs``; only its speed does.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.learning_report import load_records, run_figures, write_report
from benchmarks.learning_suites import REPO, SUITES, RunSpec, Suite, run_key
from benchmarks.record import append, finite_or_none, git_revision, set_torch_threads, stamped, start_ray, utc_now
from rllib_safe.metrics import COST_KEY, DIAGNOSTIC_KEYS, RETURN_KEY, STEPS_KEY, flat, lookup
from rllib_safe.runs.loop import format_duration
from rllib_safe.runs.run_dir import read_results, run_checkpoints

RUN_META_FILE = "benchmark_run.json"
RECORD_FILE = "benchmark_record.json"
INTERRUPTED = 130


class RunDirMismatch(ValueError):
    """A run directory holds a run with other settings than the one asked for."""


def select_runs(suite: Suite, tasks: list[str] | None, algos: list[str] | None, seeds: list[int] | None,
                variants: list[str] | None = None):
    """The suite's runs that pass the filters; a filter value the suite does not have is an error."""
    filters = (
        ("--tasks", "task", tasks, suite.tasks()),
        ("--algos", "algo", algos, suite.algos()),
        ("--seeds", "seed", seeds, sorted({run.seed for run in suite.runs})),
        ("--variants", "variant", variants, sorted({run.variant for run in suite.runs if run.variant})),
    )
    for flag, _, given, known in filters:
        unknown = [value for value in given or () if value not in known]
        if unknown:
            raise SystemExit(f"{flag} {' '.join(map(str, unknown))}: not in suite {suite.name!r}; "
                             f"choose from {' '.join(map(str, known)) or '(none)'}")
    return [
        run for run in suite.runs
        if all(not given or getattr(run, field) in given for _, field, given, _ in filters)
    ]


def has_checkpoint(run_dir: Path) -> bool:
    return bool(run_checkpoints(run_dir))


def prepare_run_dir(spec: RunSpec, run_dir: Path) -> dict:
    """The run directory's metadata (run key, git revision at start, times started so far), updated.

    A directory this benchmark started that has no checkpoint yet is started again from
    scratch; one that holds another run (other settings or budget) is an error.
    """
    meta_path = run_dir / RUN_META_FILE
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta["key"] != spec.key():
            raise RunDirMismatch(f"{run_dir} holds another run ({meta['key']}), not {spec.key()}: "
                                 "move it away or pick another --runs-dir")
        if has_checkpoint(run_dir):
            # "sessions": the name of "starts" in run directories started before it was renamed.
            meta["starts"] = meta.pop("starts", meta.pop("sessions", 1)) + 1
            meta_path.write_text(json.dumps(meta))
            return meta
        shutil.rmtree(run_dir)
    elif run_dir.exists() and any(run_dir.iterdir()):
        raise RunDirMismatch(f"{run_dir} is not empty and was not started by this benchmark")
    run_dir.mkdir(parents=True, exist_ok=True)
    meta = {"key": spec.key(), "git_revision": git_revision(), "started_at": utc_now(), "starts": 1}
    meta_path.write_text(json.dumps(meta))
    return meta


def train_options(spec: RunSpec, run_dir: Path, checkpoint_every: int):
    """``rllib-safe train``'s options for the run: resumed from its last checkpoint if it has one."""
    from rllib_safe.runs import TrainOptions

    if has_checkpoint(run_dir):
        return TrainOptions(resume=run_dir, run_dir=run_dir, checkpoint_every=checkpoint_every)
    return TrainOptions(
        algo=spec.algo, env=spec.task, cost_limit=spec.cost_limit, timesteps=spec.timesteps, seed=spec.seed,
        run_dir=run_dir, checkpoint_every=checkpoint_every, **spec.settings,
    )


def curve_of(iterations: list[dict]) -> dict[str, list]:
    """Per iteration: env steps, return, J_c, and each of ``DIAGNOSTIC_KEYS`` the run logged."""
    curve = {
        "env_steps": [int(r[flat(STEPS_KEY)]) for r in iterations],
        "return": [finite_or_none(lookup(r, RETURN_KEY, default=None)) for r in iterations],
        "cost": [finite_or_none(lookup(r, COST_KEY, default=None)) for r in iterations],
    }
    for name, key in DIAGNOSTIC_KEYS.items():
        values = [finite_or_none(lookup(r, key, default=None)) for r in iterations]
        if any(value is not None for value in values):
            curve[name] = values
    return curve


def rounded(curve: dict[str, list]) -> dict[str, list]:
    """Four significant digits (diagnostics such as the term through Q^c can be 1e-5 and still matter)."""
    return {key: [v if v is None or isinstance(v, int) else float(f"{v:.4g}") for v in values]
            for key, values in curve.items()}


def record_of(suite: Suite, spec: RunSpec, run_dir: Path, meta: dict) -> dict:
    """The run's line of the results file, from its run directory, with the provenance of this
    process (the one that trained it; its revision is the one at the end of the run)."""
    iterations = read_results(run_dir)
    curve = curve_of(iterations)
    wall_s = sum(r["time_this_iter_s"] for r in iterations)
    return stamped({
        "suite": suite.name, "tier": spec.tier, "task": spec.task, "algo": spec.algo, "variant": spec.variant,
        "seed": spec.seed,
        "cost_limit": spec.cost_limit, "timesteps": spec.timesteps, "settings": spec.settings,
        "git_revision": meta["git_revision"],
        "started_at": meta["started_at"], "finished_at": utc_now(),
        # > 1: resumed from a checkpoint (valid, not bit-identical to an uninterrupted run)
        "starts": meta["starts"],
        "cpus": len(os.sched_getaffinity(0)),
        "iterations": len(iterations), "env_steps": curve["env_steps"][-1],
        "wall_s": round(wall_s, 1), "steps_per_s": round(curve["env_steps"][-1] / wall_s, 1),
        **run_figures(curve, spec.cost_limit),
        "curve": rounded(curve),
    })


def train_run(suite: Suite, spec: RunSpec, runs_dir: Path, echo: Callable[[str], None] = print) -> dict | None:
    """Trains (or resumes) one run to its budget on the running Ray; its record, or None if interrupted."""
    from rllib_safe.runs import train

    run_dir = runs_dir / spec.relative_dir()
    meta = prepare_run_dir(spec, run_dir)
    summary = train(train_options(spec, run_dir, suite.checkpoint_every), echo)
    return record_of(suite, spec, run_dir, meta) if summary["status"] == "completed" else None


class Progress:
    """One line per finished run: count, the run's figures, and the suite's ETA from this invocation's rate."""

    def __init__(self, runs: list[RunSpec]):
        self.total, self.done = len(runs), 0
        self.remaining_steps = sum(run.timesteps for run in runs)
        self.steps_done, self.start = 0, time.perf_counter()

    def finished(self, spec: RunSpec, record: dict | None, outcome: str = "done") -> str:
        self.done += 1
        self.remaining_steps -= spec.timesteps
        if record is None:
            return f"[{self.done}/{self.total}] {outcome}: {spec.name()}"
        self.steps_done += record["env_steps"]
        rate = self.steps_done / (time.perf_counter() - self.start)
        figures = " | ".join(f"{name} {format_figure(record[key])}" for name, key in (
            ("return", "final_return"), ("J_c", "final_cost"), ("over limit", "over_limit_fraction")))
        return (f"[{self.done}/{self.total}] {outcome}: {spec.name()} | {figures} (d = {spec.cost_limit:g}) | "
                f"{record['env_steps']} steps in {format_duration(record['wall_s'])} | "
                f"suite ETA {format_duration(self.remaining_steps / rate)}")


def format_figure(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


@dataclass
class Session:
    """How this invocation's runs ended: the failed ones' names, and whether it was interrupted."""

    failed: list[str] = field(default_factory=list)
    interrupted: bool = False


def echo_with(prefix: str) -> Callable[[str], None]:
    return lambda line: print(f"{prefix} {line}", flush=True)


def run_in_process(suite: Suite, runs: list[RunSpec], runs_dir: Path, results_file: Path) -> Session:
    """Trains the runs one after the other on this process's Ray."""
    from rllib_safe.runs import init_ray

    init_ray(None)
    stop_on_signals()
    progress, session = Progress(runs), Session()
    for position, spec in enumerate(runs, start=1):
        print(f"=== run {position}/{len(runs)}: {spec.name()}, {spec.timesteps} env steps", flush=True)
        try:
            record = train_run(suite, spec, runs_dir, echo_with(f"[{position}/{len(runs)}]"))
        except Exception:  # one failed run does not end a suite of hours; it resumes next time
            traceback.print_exc()
            session.failed.append(spec.name())
            print(progress.finished(spec, None, "FAILED"), flush=True)
            continue
        if record is None:
            print(f"Interrupted: {spec.name()} continues from its checkpoint next time.", flush=True)
            session.interrupted = True
            break
        append(results_file, record)
        print(progress.finished(spec, record), flush=True)
    return session


def interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def stop_on_signals() -> None:
    """Ctrl-C and ``kill`` stop like Ctrl-C in ``rllib-safe train``: the run saves a checkpoint.

    Set again after ``ray.init``, which installs its own SIGTERM handler (exit, no checkpoint);
    SIGINT is set explicitly since a shell's background job inherits it ignored.
    """
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, interrupt)


def worker_command(suite: Suite, spec: RunSpec, runs_dir: Path) -> list[str]:
    return [sys.executable, "-m", "benchmarks.learning", "--suite", suite.name, "--runs-dir", str(runs_dir),
            "--worker", spec.key()]


def run_worker(suite: Suite, key: str, runs_dir: Path) -> int:
    """One run in a child process on its own Ray instance; its record lands in the run directory."""
    import ray

    from rllib_safe.algorithms import default_config

    set_torch_threads(1)
    spec = next(run for run in suite.runs if run.key() == key)
    runners = spec.settings.get("num_env_runners", default_config(spec.algo).num_env_runners)
    start_ray(runners + 1, address="local")  # logical CPUs for the EnvRunners
    stop_on_signals()
    try:
        record = train_run(suite, spec, runs_dir, echo_with(spec.name() + ":"))
    finally:
        ray.shutdown()
    if record is None:
        return INTERRUPTED
    (runs_dir / spec.relative_dir() / RECORD_FILE).write_text(json.dumps(record))
    return 0


def start_worker(suite: Suite, spec: RunSpec, runs_dir: Path, cpu: int) -> subprocess.Popen:
    """The run's child process, pinned to ``cpu``, its output in ``RUNS_DIR/logs/`` (kept across resumes).

    It gets a session of its own, so a Ctrl-C meant for the suite reaches it once, from
    :func:`stop_workers`, and not twice (a second one would cut its checkpoint short).
    """
    log = runs_dir / "logs" / f"{spec.task}_{spec.relative_dir().parent.name}_seed{spec.seed}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as output:
        child = subprocess.Popen(
            worker_command(suite, spec, runs_dir), stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
            cwd=REPO,
            env=os.environ | {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
            preexec_fn=functools.partial(os.sched_setaffinity, 0, {cpu}),
        )
    print(f"started on CPU {cpu}: {spec.name()} (log {log})", flush=True)
    return child


def worker_record(runs_dir: Path, spec: RunSpec) -> dict:
    return json.loads((runs_dir / spec.relative_dir() / RECORD_FILE).read_text())


def stop_workers(active: dict) -> None:
    """SIGTERM (their Ctrl-C, see :func:`main`) to every child; each saves a checkpoint and exits."""
    print("Interrupted: the active runs save a checkpoint and stop ...", flush=True)
    for child in active:
        child.send_signal(signal.SIGTERM)
    for child in active:
        child.wait()


def run_parallel(suite: Suite, runs: list[RunSpec], runs_dir: Path, results_file: Path, jobs: int) -> Session:
    """Up to ``jobs`` runs at once, each a child process on one CPU."""
    cpus = sorted(os.sched_getaffinity(0))
    free_cpus = [cpus[slot % len(cpus)] for slot in range(jobs)]
    pending, active, progress, session = list(runs), {}, Progress(runs), Session()
    try:
        while pending or active:
            while pending and free_cpus:
                spec, cpu = pending.pop(0), free_cpus.pop(0)
                active[start_worker(suite, spec, runs_dir, cpu)] = (spec, cpu)
            time.sleep(1.0)
            for child in [c for c in active if c.poll() is not None]:
                spec, cpu = active.pop(child)
                free_cpus.append(cpu)
                if child.returncode == 0:
                    record = worker_record(runs_dir, spec)
                    append(results_file, record)
                    print(progress.finished(spec, record), flush=True)
                else:
                    session.failed.append(spec.name())
                    print(progress.finished(spec, None, f"FAILED (exit {child.returncode}, see its log)"),
                          flush=True)
    except KeyboardInterrupt:
        session.interrupted = True
        stop_workers(active)
        for child, (spec, _) in active.items():
            if child.returncode == 0:  # finished before the signal reached it
                append(results_file, worker_record(runs_dir, spec))
    return session


def dry_run(runs: list[RunSpec], runs_dir: Path, finished: set[str]) -> None:
    """One line per run (done, to resume, to start), then the env steps left."""
    left = 0
    for spec in runs:
        run_dir = runs_dir / spec.relative_dir()
        state = "done" if spec.key() in finished else "resume" if has_checkpoint(run_dir) else "start"
        left += spec.timesteps if state != "done" else 0
        print(f"{state:>6}  {spec.tier:<8} {spec.name()}, {spec.timesteps} env steps {spec.settings or ''}")
    print(f"{len(runs)} runs, {sum(spec.key() in finished for spec in runs)} done; "
          f"at most {left / 1e6:g}M env steps left")


def report(suite: Suite, results_file: Path) -> None:
    if not load_records(results_file):
        print(f"No finished runs in {results_file} yet: no report.")
        return
    for path in write_report(results_file, suite, results_file.parent):
        print(f"wrote {path}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", choices=sorted(SUITES), default="standard")
    parser.add_argument("--tasks", nargs="+", help="only these tasks of the suite")
    parser.add_argument("--algos", nargs="+", help="only these algorithms of the suite")
    parser.add_argument("--seeds", nargs="+", type=int, help="only these seeds of the suite")
    parser.add_argument("--variants", nargs="+", help="only these variants of the suite (runs that have one)")
    parser.add_argument("--jobs", type=int, default=1, help="runs at once, one CPU each (default 1: in this process)")
    parser.add_argument("--out", type=Path, help="folder of the results file, table and figures "
                        "(default: the suite's, benchmarks/results for standard)")
    parser.add_argument("--runs-dir", type=Path, help="folder of the run directories (default results/learning/SUITE)")
    parser.add_argument("--report", action="store_true", help="only write the table and figures")
    parser.add_argument("--dry-run", action="store_true", help="only list the runs: done, to resume, to start")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs {args.jobs}: must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop_on_signals()
    suite = SUITES[args.suite]
    runs_dir = (args.runs_dir or REPO / "results" / "learning" / suite.name).resolve()
    if args.worker:
        return run_worker(suite, args.worker, runs_dir)
    results_file = suite.results_file(args.out)
    if args.report:
        report(suite, results_file)
        return 0
    selected = select_runs(suite, args.tasks, args.algos, args.seeds, args.variants)
    finished = {run_key(record) for record in load_records(results_file)}
    if args.dry_run:
        dry_run(selected, runs_dir, finished)
        return 0
    runs = [spec for spec in selected if spec.key() not in finished]
    print(f"Suite {suite.name}: {len(selected)} runs selected, {len(selected) - len(runs)} already in "
          f"{results_file}, {len(runs)} to run (run directories under {runs_dir}).", flush=True)
    session = Session()
    if runs and args.jobs == 1:
        session = run_in_process(suite, runs, runs_dir, results_file)
    elif runs:
        session = run_parallel(suite, runs, runs_dir, results_file, args.jobs)
    report(suite, results_file)
    if session.failed:
        print(f"{len(session.failed)} runs failed (each resumes from its last checkpoint next time): "
              + "; ".join(session.failed))
    return INTERRUPTED if session.interrupted else 1 if session.failed else 0


if __name__ == "__main__":
    sys.exit(main())
