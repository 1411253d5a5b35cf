"""Figures of the learning benchmark, from its results file alone.

Per run (``run_figures``, stored in the run's JSON line): final return and final J_c, the
mean over the last 10% of iterations (at least one); over the second half of the iterations
(``values[n // 2:]``), the fraction with J_c above the limit and the standard deviation of J_c
(ddof = 0: the oscillation of one run's J_c around its mean, as the PCRPO paper plots it).
Iterations before the first finished episode have no J_c (null) and are left out of the means.

Per (task, algorithm) over seeds (``write_report``): mean, std and the 95% Student-t interval
of each figure; the Markdown and CSV table; per task, return and J_c curves (mean over seeds,
+- std band, interpolated onto a common env-step grid) and final return versus final J_c.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from benchmarks.learning_suites import PUBLISHED, PUBLISHED_LABEL, PUBLISHED_STEPS, Suite, published, run_label
from rllib_safe.algorithms.safe_ppo.safe_ppo import SAFE_TRAINING_DEFAULTS
from rllib_safe.metrics import COST_KEY, flat
from rllib_safe.sweeps.report import markdown_table, mean_std_interval

FINAL_FRACTION = 0.1
METRICS = {  # record field -> table heading
    "final_return": "return",
    "final_cost": "J_c",
    "over_limit_fraction": "J_c > d (2nd half)",
    "cost_std_second_half": "J_c std (2nd half)",
    "steps_per_s": "steps/s",
}
CURVE_POINTS = 200
#: Diagnostics shown per configuration (second-half mean of each run, mean over seeds), where logged.
DIAGNOSTIC_COLUMNS = {
    "episode_length": "episode length",
    "cost_estimate": "J_c used",
    "lagrangian_multiplier": "lambda",
    "mode_reward": "reward steps",
    "mode_soft_aligned": "soft aligned",
    "mode_soft_conflict": "soft conflict",
    "mode_cost": "cost steps",
    "line_search_accepted": "step accepted",
    "modulation_weight_mean": "mean f",
    "modulation_weight_negative_fraction": "f < 0",
    "modulation_weight_clamped_fraction": "f clamped",
    "qc_prediction_bias": "Q^c bias",
    "critic_gradient_advantage_abs_mean": "term via Q^c (abs)",
}


def as_array(values: list[float | None]) -> np.ndarray:
    return np.array([math.nan if v is None else v for v in values], dtype=float)


def finite_or_none(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def final_value(values: list[float | None]) -> float | None:
    """Mean over the last 10% of iterations (rounded up, at least one), measured ones only."""
    values = as_array(values)
    last = values[-max(1, math.ceil(FINAL_FRACTION * len(values))):]
    last = last[~np.isnan(last)]
    return finite_or_none(last.mean()) if last.size else None


def second_half(values: list[float | None]) -> np.ndarray:
    """The measured values of the second half of the iterations (``values[n // 2:]``)."""
    half = as_array(values)[len(values) // 2:]
    return half[~np.isnan(half)]


#: The J_c window of the benchmark's runs (they keep the default).
COST_WINDOW = SAFE_TRAINING_DEFAULTS["episode_cost_window"]


def over_limit_fraction(costs: list[float | None], cost_limit: float) -> float | None:
    """Share of the second half's iterations whose J_c is above the limit."""
    half = second_half(costs)
    return float((half > cost_limit).mean()) if half.size else None


def second_half_std(costs: list[float | None]) -> float | None:
    """Standard deviation (ddof = 0) of J_c over the second half of the iterations."""
    half = second_half(costs)
    return float(half.std()) if half.size else None


def second_half_mean(values: list[float | None]) -> float | None:
    """Mean of a curve over the second half of the iterations (None where it has no value there)."""
    half = second_half(values)
    return float(half.mean()) if half.size else None


def run_figures(curve: dict[str, list], cost_limit: float) -> dict[str, float | None]:
    """The run's headline figures, and each diagnostic curve's mean over the second half
    (``diagnostics``: the update-mode shares, SMPO's weights, the episode length, ...)."""
    diagnostics = {name: second_half_mean(values) for name, values in curve.items()
                   if name not in ("env_steps", "return", "cost")}
    return {
        "final_return": final_value(curve["return"]),
        "final_cost": final_value(curve["cost"]),
        "over_limit_fraction": over_limit_fraction(curve["cost"], cost_limit),
        "cost_std_second_half": second_half_std(curve["cost"]),
        "diagnostics_second_half": {name: None if value is None else float(f"{value:.4g}")
                                    for name, value in diagnostics.items()},
    }


def load_records(path: Path) -> list[dict]:
    """The results file's lines (none if it does not exist yet)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def group_key(record: dict) -> tuple:
    """Runs that differ only in their seed."""
    return (record["task"], record["algo"], record["timesteps"], record["cost_limit"],
            json.dumps(record["settings"], sort_keys=True))


def planned_seeds(suite: Suite) -> dict[tuple, int]:
    planned: dict[tuple, int] = {}
    for run in suite.runs:
        key = group_key({**vars(run)})
        planned[key] = planned.get(key, 0) + 1
    return planned


def describe_settings(settings: dict) -> str:
    flat = {**{k: v for k, v in settings.items() if k != "overrides"}, **settings.get("overrides", {})}
    return ", ".join(f"{key}={value:g}" if isinstance(value, float) else f"{key}={value}"
                     for key, value in flat.items())


def summary_table(records: list[dict], suite: Suite) -> pd.DataFrame:
    """One row per (task, algorithm, settings): seeds done / planned, then each figure's statistics."""
    groups: dict[tuple, list[dict]] = {}
    for record in records:
        groups.setdefault(group_key(record), []).append(record)
    planned = planned_seeds(suite)
    rows = []
    for key, members in groups.items():
        task, algo, timesteps, cost_limit, _ = key
        reference = published(task, algo)
        row = {
            "task": task, "algo": algo, "variant": members[0].get("variant", ""),
            "settings": describe_settings(members[0]["settings"]),
            "timesteps": timesteps, "cost_limit": cost_limit,
            "seeds": len(members), "seeds_planned": planned.get(key, len(members)),
            "env_steps_mean": float(np.mean([m["env_steps"] for m in members])),
        }
        for field in METRICS:
            values = np.array([math.nan if m[field] is None else m[field] for m in members], dtype=float)
            mean, std, low, high = mean_std_interval(values)
            row |= {f"{field}_mean": mean, f"{field}_std": std, f"{field}_ci95_low": low, f"{field}_ci95_high": high}
        row["published_return"], row["published_cost"] = reference or (math.nan, math.nan)
        for name in DIAGNOSTIC_COLUMNS:
            values = [m.get("diagnostics_second_half", {}).get(name) for m in members]
            measured = [v for v in values if v is not None]
            row[f"diag_{name}"] = float(np.mean(measured)) if measured else math.nan
        rows.append(row)
    order = {task: i for i, task in enumerate(suite.tasks())}
    algos = {algo: i for i, algo in enumerate(suite.algos())}
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table["_order"] = [(order.get(t, len(order)), algos.get(a, len(algos))) for t, a in zip(table.task, table.algo)]
    return table.sort_values("_order").drop(columns="_order").reset_index(drop=True)


def format_value(value: float) -> str:
    if not math.isfinite(value):
        return "-"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if 0 < abs(value) < 0.01:
        return f"{value:.1e}"
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"


def format_statistic(row: pd.Series, field: str) -> str:
    """``mean ± std [low, high]``; the mean alone for a single seed."""
    text = format_value(row[f"{field}_mean"])
    if math.isfinite(row[f"{field}_std"]):
        text += f" ± {format_value(row[f'{field}_std'])}"
        text += f" [{format_value(row[f'{field}_ci95_low'])}, {format_value(row[f'{field}_ci95_high'])}]"
    return text


def display_table(table: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for _, row in table.iterrows():
        algorithm = run_label(row["algo"], row["variant"])
        shown = {"task": row["task"], "algorithm": algorithm, "settings": row["settings"] or "-",
                 "seeds": f"{row['seeds']}/{row['seeds_planned']}"}
        shown |= {heading: format_statistic(row, field) for field, heading in METRICS.items()}
        reference = (row["published_return"], row["published_cost"])
        shown[f"{PUBLISHED_LABEL}: return / J_c"] = (
            " / ".join(f"{v:g}" for v in reference) if math.isfinite(reference[0]) else "-"
        )
        rows.append(shown)
    return pd.DataFrame(rows)


def caption(table: pd.DataFrame, suite: Suite) -> str:
    budgets = []
    for task, rows in table.groupby("task", sort=False):
        steps = ", ".join(sorted({f"{t / 1000:g}k" for t in rows["timesteps"]}))
        limits = ", ".join(sorted({f"{d:g}" for d in rows["cost_limit"]}))
        seeds = ", ".join(f"{run_label(r.algo, r.variant)} {r.seeds}/{r.seeds_planned}"
                          for r in rows.itertuples())
        reference = f" (published: 1e7 env steps, {PUBLISHED_STEPS / rows['timesteps'].max():g}x)" \
            if task in PUBLISHED else ""
        budgets.append(f"{task}: {steps} env steps{reference}, d = {limits}, seeds done/planned: {seeds}")
    return "\n".join([
        f"Learning benchmark, suite `{suite.name}`: {int(table['seeds'].sum())} finished runs.",
        "",
        *[f"- {line}" for line in budgets],
        "",
        "Final return and final J_c: mean over the last 10% of each run's iterations (J_c: mean episode cost of the "
        f"last {COST_WINDOW} episodes, `{flat(COST_KEY)}`). Over the second half of each run: the fraction of "
        "iterations with J_c > d, and the std of J_c. Cells: mean ± std [95% t-interval] over seeds (the mean alone "
        "for one seed). steps/s: env steps per second of training (one run).",
        f"`{PUBLISHED_LABEL}`: OmniSafe's published benchmark (not measured here; mean over seeds at 1e7 env steps, "
        "d = 25; docs/algorithms.md section 5), for the algorithms both libraries have.",
    ])


def published_lines(tasks: list[str]) -> list[str]:
    lines = []
    for task in tasks:
        if task in PUBLISHED:
            values = ", ".join(f"{name} {ret:g} / {cost:g}"
                               for name, (ret, cost) in PUBLISHED[task].items())
            lines.append(f"- {task} ({PUBLISHED_LABEL}, return / cost): {values}")
    return lines


def figure_name(suite: Suite, task: str, kind: str) -> str:
    return f"learning_{suite.name}_{task}_{kind}.png"


def common_grid(curves: list[dict]) -> np.ndarray:
    """Env steps every seed's curve covers: from the latest first step to the earliest last step."""
    start = max(curve["env_steps"][0] for curve in curves)
    end = min(curve["env_steps"][-1] for curve in curves)
    return np.linspace(start, end, CURVE_POINTS) if end > start else np.array([float(start)])


def interpolate(curve: dict, key: str, grid: np.ndarray) -> np.ndarray:
    """The curve's ``key`` at the grid's steps (linear between measured iterations; NaN before the first)."""
    steps, values = np.array(curve["env_steps"], dtype=float), as_array(curve[key])
    measured = ~np.isnan(values)
    if not measured.any():
        return np.full(grid.shape, np.nan)
    return np.interp(grid, steps[measured], values[measured], left=np.nan, right=np.nan)


def seed_band(curves: list[dict], key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Grid, mean over seeds and std over seeds (0 for one seed) of ``key``."""
    grid = common_grid(curves)
    values = np.array([interpolate(curve, key, grid) for curve in curves])
    with warnings.catch_warnings():  # grid points no seed has measured yet stay NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        return grid, np.nanmean(values, axis=0), np.nan_to_num(np.nanstd(values, axis=0))


def algorithm_colors(suite: Suite) -> dict[str, str]:
    """One colour per algorithm (and variant) of the suite, the same in every figure."""
    labels = dict.fromkeys(run.label() for run in suite.runs)
    return {label: f"C{i % 10}" for i, label in enumerate(labels)}


def plot_curves(records: list[dict], task: str, colors: dict[str, str], path: Path) -> None:
    """Return and J_c against env steps, one line per algorithm (mean over seeds, +- std band)."""
    figure, axes = plt.subplots(1, 2, figsize=(13, 4.8))
    by_algo: dict[str, list[dict]] = {label: [] for label in colors}
    for record in records:
        by_algo.setdefault(run_label(record["algo"], record.get("variant", "")), []).append(record)
    for algo, members in by_algo.items():
        curves = [m["curve"] for m in members if m["curve"]["env_steps"]]
        if not curves:
            continue
        for axis, key in zip(axes, ("return", "cost")):
            grid, mean, std = seed_band(curves, key)
            color = colors.get(algo)
            axis.plot(grid, mean, color=color, label=f"{algo} ({len(curves)} seeds)")
            axis.fill_between(grid, mean - std, mean + std, color=color, alpha=0.2)
    for limit in sorted({r["cost_limit"] for r in records}):
        axes[1].axhline(limit, color="black", linestyle="--", linewidth=1, label=f"cost limit d = {limit:g}")
    for axis, title in zip(axes, ("Episode return", "J_c (mean cost of the last 100 episodes)")):
        axis.set(xlabel="env steps", title=title)
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    axes[1].legend(fontsize=8)
    figure.suptitle(f"{task}: mean over seeds, band +- std")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_tradeoff(table: pd.DataFrame, task: str, colors: dict[str, str], path: Path) -> None:
    """Final return against final J_c per algorithm, error bars +- std over seeds, the limit drawn."""
    rows = table[table["task"] == task]
    figure, axis = plt.subplots(figsize=(7.5, 5.5))
    for row in rows.itertuples():
        label = run_label(row.algo, row.variant)
        axis.errorbar(row.final_cost_mean, row.final_return_mean, xerr=np.nan_to_num(row.final_cost_std),
                      yerr=np.nan_to_num(row.final_return_std), fmt="o", capsize=3, color=colors.get(label),
                      label=f"{label} ({row.seeds} seeds)")
    for limit in sorted(set(rows["cost_limit"])):
        axis.axvline(limit, color="black", linestyle="--", linewidth=1, label=f"cost limit d = {limit:g}")
    axis.set(xlabel="final J_c", ylabel="final return", title=f"{task}: final return vs final J_c (+- std over seeds)")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def diagnostics_table(table: pd.DataFrame) -> pd.DataFrame:
    """What each configuration steered by: the diagnostics any of them logged (mean over seeds)."""
    columns = [name for name in DIAGNOSTIC_COLUMNS if table[f"diag_{name}"].notna().any()]
    rows = []
    for _, row in table.iterrows():
        shown = {"task": row["task"], "algorithm": run_label(row["algo"], row["variant"])}
        shown |= {DIAGNOSTIC_COLUMNS[name]: format_value(row[f"diag_{name}"]) for name in columns}
        rows.append(shown)
    return pd.DataFrame(rows)


def markdown(table: pd.DataFrame, suite: Suite, images: list[str]) -> str:
    tasks = list(dict.fromkeys(table["task"]))
    return "\n".join([
        f"# Learning benchmark: `{suite.name}`",
        "",
        caption(table, suite),
        "",
        markdown_table(display_table(table)),
        "Diagnostics: each run's mean over the second half of its iterations, then the mean over seeds "
        "(update-mode shares are fractions of updates; f is SMPO's weight; `-`: not logged).",
        "",
        markdown_table(diagnostics_table(table)),
        "OmniSafe's published numbers for these tasks (all its algorithms):",
        "",
        *(published_lines(tasks) or ["- none for these tasks"]),
        "",
        *[f"![{Path(image).stem}]({image})\n" for image in images],
    ])


def write_report(results_file: Path, suite: Suite, out: Path) -> list[Path]:
    """Table (.md, .csv) and figures of every finished run in ``results_file``; returns the files written."""
    records = load_records(results_file)
    if not records:
        raise FileNotFoundError(f"{results_file} has no finished runs yet: nothing to report")
    out.mkdir(parents=True, exist_ok=True)
    table = summary_table(records, suite)
    images, colors = [], algorithm_colors(suite)
    for task in table["task"].unique():
        task_records = [r for r in records if r["task"] == task]
        images.append(figure_name(suite, task, "curves"))
        plot_curves(task_records, task, colors, out / images[-1])
        images.append(figure_name(suite, task, "tradeoff"))
        plot_tradeoff(table, task, colors, out / images[-1])
    stem = out / f"learning_{suite.name}"
    table.to_csv(stem.with_suffix(".csv"), index=False)
    stem.with_suffix(".md").write_text(markdown(table, suite, images))
    return [stem.with_suffix(".md"), stem.with_suffix(".csv"), *(out / image for image in images)]
