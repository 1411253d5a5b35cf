"""The iteration loop of a training run: train, write, checkpoint, show progress, summarise."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

from rllib_safe.metrics import (
    COST_KEY,
    ENV_RUNNER_STEPS_KEY,
    ITERATION_COST_KEY,
    ITERATION_STEPS_KEY,
    LINE_SEARCH_ACCEPTED_METRICS,
    MODE_METRICS,
    RETURN_KEY,
    STEPS_KEY,
    TRAINING_ITERATION,
    UPDATE_MODES,
    flat,
)
from rllib_safe.runs.run_dir import RESULTS_FILE, TENSORBOARD_DIR, RunFiles, flatten_result


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
        f"return {format_number(result.get(flat(RETURN_KEY)))} | "
        f"cost {format_number(result.get(flat(COST_KEY)))}/{cost_limit:g} "
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
        "final_return": last.get(flat(RETURN_KEY)),
        "final_cost": last.get(flat(COST_KEY)),
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
             echo: Callable[[str], None] = print) -> dict:
    """Trains until ``timesteps`` env steps, writing results and checkpoints; returns the summary.

    The summary covers the whole run (``files.previous_results`` of a resumed one included).
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
    return summary


def format_summary(summary: dict) -> str:
    lines = [
        (f"Training {summary['status']}: {summary['iterations']} iterations, "
         f"{summary['env_steps']} env steps, {summary['steps_per_s']} steps/s"),
        (f"  final return {format_number(summary['final_return'])}, "
         f"episode cost {format_number(summary['final_cost'])} (limit {summary['cost_limit']:g})"),
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

