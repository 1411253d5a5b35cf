"""The iteration loop of a training run: train, write, checkpoint, show progress, summarise."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

from rllib_safe.metrics import (
    COST_KEY,
    ENV_RUNNER_STEPS_KEY,
    FINAL_COST,
    FINAL_RETURN,
    ITERATION_COST_KEY,
    ITERATION_STEPS_KEY,
    LINE_SEARCH_ACCEPTED_METRICS,
    MODE_METRICS,
    RETURN_KEY,
    STEPS_KEY,
    TRAINING_ITERATION,
    UPDATE_MODES,
    flat,
    lookup,
)
from rllib_safe.runs.run_dir import RESULTS_FILE, TENSORBOARD_DIR, RunFiles, flatten_result


def iteration_env_steps(config) -> tuple[int, int] | None:
    """The fewest and the most env steps one training iteration samples with ``config``; None where
    EnvRunners sample whole episodes (``batch_mode="complete_episodes"``: no bound).

    As RLlib samples: each EnvRunner (the local one where ``num_env_runners`` = 0) steps its envs
    until they have taken its rollout fragment (``get_rollout_fragment_length``, which shares
    ``total_train_batch_size`` out among them) times its number of envs. The envs step together and
    an env's reset step is not counted, so when they end episodes at different steps an EnvRunner
    can take up to ``num_envs_per_env_runner`` - 1 steps more; the rounds repeat until the batch is full.
    """
    if config.batch_mode != "truncate_episodes":
        return None
    envs = config.num_envs_per_env_runner
    runners = range(1, config.num_env_runners + 1) if config.num_env_runners else range(1)
    round_least = sum(config.get_rollout_fragment_length(index) * envs for index in runners)
    round_most = round_least + len(runners) * (envs - 1)
    rounds = math.ceil(config.total_train_batch_size / round_least)
    least = round_least if rounds == 1 else config.total_train_batch_size
    return least, rounds * round_most


def timesteps_notice(timesteps: int, least: int, most: int) -> str | None:
    """The line that says how many iterations (whole batches of ``least`` to ``most`` env steps each)
    training takes to reach ``timesteps``, where that is not a whole number of them; else None."""
    if timesteps % least == 0:
        return None
    iterations = math.ceil(timesteps / least)
    head = f"--timesteps {timesteps} is not a whole number of iterations of {least} env steps: training runs"
    if least == most:
        return f"{head} {count(iterations, 'iteration')} ({iterations * least} env steps)"
    fewest = math.ceil(timesteps / most)
    runs = count(iterations, "iteration") if fewest == iterations else f"{fewest} to {iterations} iterations"
    lowest = iterations * least if fewest == iterations else timesteps
    return (f"{head} {runs} ({lowest} to {iterations * most} env steps: an iteration samples {least}, up to "
            f"{most} when the envs of an EnvRunner end episodes at different steps)")


def count(number: int, noun: str) -> str:
    """``1 iteration``, ``2 iterations``."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def format_duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"


def format_number(value: float | None) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.2f}"


def progress_line(result: dict, timesteps: int, cost_limit: float, steps_per_s: float, eta_s: float) -> str:
    """``iter 3 | steps 12000/200000 | return 1.23 | cost 30.10/25 (this iter 41.00) | 2150 steps/s | ETA 1m27s``."""
    return (
        f"iter {result[TRAINING_ITERATION]} | steps {int(result.get(flat(STEPS_KEY), 0))}/{timesteps} | "
        f"return {format_number(lookup(result, RETURN_KEY))} | "
        f"cost {format_number(lookup(result, COST_KEY))}/{cost_limit:g} "
        f"(this iter {format_number(result.get(flat(ITERATION_COST_KEY)))}) | "
        f"{steps_per_s:.0f} steps/s | ETA {format_duration(eta_s)}"
    )


def summarise(results: list[dict], cost_limit: float, steps_per_s: float, files: RunFiles, status: str,
              checkpoint: Path | None) -> dict:
    """The end-of-run summary; update-mode counts are summed over every iteration of ``results``."""
    last = results[-1] if results else {}
    summary = {
        "status": status,
        "iterations": last.get(TRAINING_ITERATION, 0),
        "env_steps": int(last.get(flat(STEPS_KEY), 0)),
        FINAL_RETURN: lookup(last, RETURN_KEY, default=None),
        FINAL_COST: lookup(last, COST_KEY, default=None),
        "cost_limit": cost_limit,
        "steps_per_s": round(steps_per_s, 1),
        "run_dir": str(files.run_dir),
        "results": str(files.run_dir / RESULTS_FILE),
        "tensorboard": str(files.run_dir / TENSORBOARD_DIR),
        "checkpoint": str(checkpoint) if checkpoint else None,
    }

    def run_sum(metric: str) -> float:
        return sum(value for r in results for key, value in r.items() if key.endswith("/" + metric))

    if any(key.endswith("/" + MODE_METRICS[0]) for r in results for key in r):
        summary["update_mode_counts"] = {name: run_sum(name) for name in MODE_METRICS}
    if any(key.endswith("/" + LINE_SEARCH_ACCEPTED_METRICS[0]) for r in results for key in r):
        summary["line_search_accepted"] = {
            mode: [run_sum(accepted), run_sum(taken)]
            for mode, accepted, taken in zip(UPDATE_MODES, LINE_SEARCH_ACCEPTED_METRICS, MODE_METRICS, strict=True)
        }
    return summary


def run_loop(algo, files: RunFiles, timesteps: int, checkpoint_every: int,
             echo: Callable[[str], None] = print, tracker=None) -> dict:
    """Trains until ``timesteps`` env steps, writing results and checkpoints; returns the summary.

    ``tracker``: a ``rllib_safe.trackers.RunTracker`` that gets each result too, and the run's
    status at the end. The summary covers the whole run (``files.previous_results`` of a resumed
    one included).
    Ctrl-C saves a checkpoint and ends with status "interrupted"; an error ends with status
    "failed" (what was written stays) and is re-raised.
    """
    results, checkpoint, status = list(files.previous_results), None, "completed"
    start_time = time.perf_counter()
    start_steps = steps = int(algo.metrics.peek(ENV_RUNNER_STEPS_KEY, default=0))
    cost_limit = algo.config.cost_limit
    try:
        while steps < timesteps:
            result = flatten_result(algo.train())
            steps = int(result.get(flat(STEPS_KEY), steps))
            results.append(result)
            files.write_result(result)
            if tracker is not None:
                tracker.log_result(result, steps)
            elapsed = time.perf_counter() - start_time
            rate = (steps - start_steps) / elapsed if elapsed > 0 else 0.0
            iteration_rate = result.get(flat(ITERATION_STEPS_KEY), 0) / max(result["time_this_iter_s"], 1e-9)
            eta = (timesteps - steps) / rate if rate > 0 else math.inf
            echo(progress_line(result, timesteps, cost_limit, iteration_rate, max(eta, 0.0)))
            if checkpoint_every and algo.iteration % checkpoint_every == 0:
                checkpoint = files.save_checkpoint(algo)
        if checkpoint is None or checkpoint.name != f"iter_{algo.iteration:06d}":
            checkpoint = files.save_checkpoint(algo)
    except KeyboardInterrupt:
        status = "interrupted"
        echo("Interrupted: saving a checkpoint ...")
        checkpoint = files.save_checkpoint(algo)
    except BaseException:
        status = "failed"
        raise
    finally:
        elapsed = time.perf_counter() - start_time
        rate = (steps - start_steps) / elapsed if elapsed > 0 else 0.0
        summary = summarise(results, cost_limit, rate, files, status, checkpoint)
        files.write_summary(summary)
        if tracker is not None:
            tracker.finish(status)
    return summary


def format_summary(summary: dict) -> str:
    lines = [
        (f"Training {summary['status']}: {summary['iterations']} iterations, "
         f"{summary['env_steps']} env steps, {summary['steps_per_s']} steps/s"),
        (f"  final return {format_number(summary[FINAL_RETURN])}, "
         f"episode cost {format_number(summary[FINAL_COST])} (limit {summary['cost_limit']:g})"),
    ]
    if "update_mode_counts" in summary:
        counts = ", ".join(f"{k} {v:g}" for k, v in summary["update_mode_counts"].items())
        lines.append(f"  update modes: {counts}")
    if "line_search_accepted" in summary:
        accepted = ", ".join(
            f"{mode} {ok:g}/{total:g}" for mode, (ok, total) in summary["line_search_accepted"].items() if total
        )
        lines.append(f"  trust-region steps accepted per mode: {accepted}")
    lines += [
        f"  run dir     {summary['run_dir']}",
        f"  results     {summary['results']}",
        f"  tensorboard {summary['tensorboard']}",
        f"  checkpoint  {summary['checkpoint']}",
    ]
    return "\n".join(lines)

