"""Reports of a sweep from Tune's own result files: tables, plots and one HTML page.

Trial directories are ``RUN_DIR/<algorithm>/<trial>`` (one Tune experiment per algorithm);
each holds Tune's ``params.json`` (the trial's config) and ``result.json``
(one result per line). Results are read as they are, so the report works on finished,
partial (still running or interrupted) and resumed runs; a resumed trial that repeated
iterations after its checkpoint keeps the last result of each iteration.

Final return / cost of a trial: the mean of its last K iterations (``final_iterations`` of
the spec, or ``--last-k``). Per configuration (an algorithm and one point of its search space): mean, std
(ddof=1) and the 95% Student-t interval of the mean over seeds (NaN with a single seed).
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats

from rllib_safe.metrics import COST_KEY, MODE_METRICS, RETURN_KEY, STEPS_KEY, lookup, module_key
from rllib_safe.runs.run_dir import read_iterations
from rllib_safe.sweeps.spec import SPEC_FILE_NAME, SpecError, SweepSpec, load_spec


@dataclass
class TrialResults:
    """One trial: its config, its results by iteration, and how it ended."""

    name: str
    algorithm: str
    config: dict
    results: list[dict]
    status: str  # "finished", "errored" or "partial"

    def series(self, key: tuple) -> np.ndarray:
        return np.array([lookup(result, key) for result in self.results], dtype=float)

    def final(self, key: tuple, last_k: int) -> float:
        values = self.series(key)[-last_k:]
        values = values[~np.isnan(values)]
        return float(values.mean()) if values.size else math.nan


def load_trials(run_dir: Path, algorithms: list[str]) -> list[TrialResults]:
    """Every trial directory (one with a ``params.json``) of each algorithm's Tune experiment."""
    trials = []
    for params in [path for name in algorithms for path in sorted((run_dir / name).glob("*/params.json"))]:
        trial_dir = params.parent
        results = read_iterations(trial_dir / "result.json")
        if results and results[-1].get("done"):  # error.txt stays after a failure Tune retried
            status = "finished"
        elif (trial_dir / "error.txt").exists():
            status = "errored"
        else:
            status = "partial"
        config = json.loads(params.read_text())
        trials.append(TrialResults(trial_dir.name, trial_dir.parent.name, config, results, status))
    return trials


def _format(value) -> str:
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(_format(v) for v in value) + ")"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def axis_values(spec: SweepSpec, config: dict) -> dict[str, str]:
    """The trial's point of the search space, one label per axis (tied fields as a tuple)."""
    return {
        name: _format([config[f] for f in axis.fields] if axis.fields else config[name])
        for name, axis in spec.search_space.items()
    }


def configuration_label(spec: SweepSpec, trial: TrialResults) -> str:
    """``algorithm: axis=value, ...``; the algorithm is left out of a one-algorithm sweep."""
    point = ", ".join(f"{name}={value}" for name, value in axis_values(spec, trial.config).items())
    if len(spec.algorithm) == 1:
        return point or trial.algorithm
    return f"{trial.algorithm}: {point}" if point else trial.algorithm


def _title(spec: SweepSpec) -> str:
    return f"{', '.join(spec.algorithm)} on {spec.env}"


def _interval(values: np.ndarray) -> tuple[float, float, float, float]:
    """Mean, std and the 95% t-interval of the mean."""
    values = values[~np.isnan(values)]
    if values.size == 0:
        return (math.nan,) * 4
    mean = float(values.mean())
    if values.size == 1:
        return mean, math.nan, math.nan, math.nan
    std = float(values.std(ddof=1))
    half = float(stats.t.ppf(0.975, values.size - 1) * std / math.sqrt(values.size))
    return mean, std, mean - half, mean + half


def summary_table(spec: SweepSpec, trials: list[TrialResults], last_k: int) -> pd.DataFrame:
    """One row per configuration: seeds, trial statuses, final return and cost statistics."""
    groups: dict[str, list[TrialResults]] = {}
    for trial in trials:
        groups.setdefault(configuration_label(spec, trial), []).append(trial)
    rows = []
    for label, members in groups.items():
        row = {"configuration": label, "algorithm": members[0].algorithm, **axis_values(spec, members[0].config)}
        row["seeds"] = len(members)
        row["finished"] = sum(t.status == "finished" for t in members)
        row["errored"] = sum(t.status == "errored" for t in members)
        for metric, key in (("return", RETURN_KEY), ("cost", COST_KEY)):
            mean, std, low, high = _interval(np.array([t.final(key, last_k) for t in members]))
            row |= {f"{metric}_mean": mean, f"{metric}_std": std}
            row |= {f"{metric}_ci95_low": low, f"{metric}_ci95_high": high}
        row["cost_limit"] = members[0].config.get("cost_limit", math.nan)
        if any(not np.isnan(t.series(module_key(MODE_METRICS[0]))).all() for t in members):
            counts = {mode: sum(np.nansum(t.series(module_key(mode))) for t in members) for mode in MODE_METRICS}
            total = sum(counts.values()) or math.nan
            row |= {f"share_{mode}": counts[mode] / total for mode in MODE_METRICS}
        rows.append(row)
    return pd.DataFrame(rows)


def _markdown(table: pd.DataFrame) -> str:
    def cell(value):
        return f"{value:.3g}" if isinstance(value, float) else str(value)

    header = "| " + " | ".join(table.columns) + " |"
    rule = "|" + "---|" * len(table.columns)
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join([header, rule, *rows]) + "\n"


def _cost_limits(table: pd.DataFrame) -> list[float]:
    return sorted({float(v) for v in table["cost_limit"] if not math.isnan(v)})


def plot_learning_curves(spec: SweepSpec, trials: list[TrialResults], table: pd.DataFrame, path: Path) -> None:
    """Return and cost vs env steps, one line per configuration, shaded +- std over seeds."""
    figure, axes = plt.subplots(1, 2, figsize=(13, 4.8))
    for label in table["configuration"]:
        members = [t for t in trials if configuration_label(spec, t) == label and t.results]
        if not members:
            continue
        length = max(len(t.results) for t in members)
        padded = {
            key: np.array([np.pad(t.series(key), (0, length - len(t.results)), constant_values=np.nan)
                           for t in members])
            for key in (STEPS_KEY, RETURN_KEY, COST_KEY)
        }
        steps = np.nanmean(padded[STEPS_KEY], axis=0)
        for axis, key in zip(axes, (RETURN_KEY, COST_KEY)):
            mean = np.nanmean(padded[key], axis=0)
            std = np.nan_to_num(np.nanstd(padded[key], axis=0))
            (line,) = axis.plot(steps, mean, label=label)
            axis.fill_between(steps, mean - std, mean + std, color=line.get_color(), alpha=0.2)
    for limit in _cost_limits(table):
        axes[1].axhline(limit, color="black", linestyle="--", linewidth=1, label=f"cost limit {limit:g}")
    for axis, title in zip(axes, ("Episode return", "Episode cost")):
        axis.set(xlabel="env steps", ylabel=title.lower(), title=title)
        axis.grid(alpha=0.3)
    axes[1].legend(fontsize=7, loc="best")
    figure.suptitle(f"{_title(spec)} (mean +- std over seeds)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def pareto_front(costs: np.ndarray, returns: np.ndarray) -> np.ndarray:
    """Indices of the points no other point beats (cost <= and return >=, one strictly)."""
    front = []
    for i in range(len(costs)):
        dominated = np.any(
            (costs <= costs[i]) & (returns >= returns[i]) & ((costs < costs[i]) | (returns > returns[i]))
        )
        if not dominated and not (np.isnan(costs[i]) or np.isnan(returns[i])):
            front.append(i)
    return np.array(sorted(front, key=lambda i: costs[i]), dtype=int)


def plot_tradeoff(spec: SweepSpec, table: pd.DataFrame, path: Path) -> None:
    """Final return vs final cost per configuration, the cost limit and the Pareto front."""
    figure, axis = plt.subplots(figsize=(7.5, 5.5))
    costs, returns = table["cost_mean"].to_numpy(float), table["return_mean"].to_numpy(float)
    axis.errorbar(costs, returns, xerr=np.nan_to_num(table["cost_std"].to_numpy(float)),
                  yerr=np.nan_to_num(table["return_std"].to_numpy(float)), fmt="o", alpha=0.8, capsize=3)
    for cost, ret, label in zip(costs, returns, table["configuration"]):
        axis.annotate(label, (cost, ret), fontsize=7, xytext=(4, 4), textcoords="offset points")
    front = pareto_front(costs, returns)
    if front.size:
        axis.plot(costs[front], returns[front], "r-", linewidth=1.5, label="Pareto front")
    for limit in _cost_limits(table):
        axis.axvline(limit, color="black", linestyle="--", linewidth=1, label=f"cost limit {limit:g}")
    axis.set(xlabel="final episode cost", ylabel="final episode return",
             title=f"Reward vs cost: {_title(spec)} (mean +- std over seeds)")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _annotated_heatmap(figure, axis, grid: pd.DataFrame, cmap: str) -> None:
    """``grid`` as colours with each value written in a colour that reads on its cell."""
    values = grid.to_numpy(float)
    image = axis.imshow(values, cmap=cmap, aspect="auto")
    axis.set_xticks(range(grid.shape[1]), grid.columns, rotation=30, ha="right")
    axis.set_yticks(range(grid.shape[0]), grid.index)
    for (i, j), value in np.ndenumerate(values):
        light = image.norm(value) > 0.6 if np.isfinite(value) else True
        axis.text(j, i, "-" if np.isnan(value) else f"{value:.3g}", ha="center", va="center",
                  color="black" if light else "white", fontsize=9)
    figure.colorbar(image, ax=axis)


def plot_heatmaps(spec: SweepSpec, table: pd.DataFrame, path: Path) -> None:
    """Final return and cost over the two swept axes (rows: first axis, columns: second), per algorithm."""
    row_axis, column_axis = list(spec.search_space)
    algorithms = list(dict.fromkeys(table["algorithm"]))
    height = 1.8 + 0.6 * table[row_axis].nunique()  # per algorithm: room for the rows, not more
    figure, axes = plt.subplots(len(algorithms), 2, figsize=(12, height * len(algorithms)), squeeze=False)
    for algorithm, pair in zip(algorithms, axes):
        rows = table[table["algorithm"] == algorithm]
        for axis, metric, cmap in zip(pair, ("return", "cost"), ("viridis", "magma")):
            grid = rows.pivot_table(index=row_axis, columns=column_axis, values=f"{metric}_mean",
                                    aggfunc="mean", sort=False, dropna=False)
            _annotated_heatmap(figure, axis, grid, cmap)
            limits = _cost_limits(rows)
            limit = f", limit {limits[0]:g}" if metric == "cost" and len(limits) == 1 else ""
            axis.set(xlabel=column_axis, ylabel=row_axis, title=f"{algorithm}: final {metric} (mean over seeds{limit})")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_mode_shares(table: pd.DataFrame, path: Path) -> None:
    """PCRPO: share of update modes per configuration (stacked bars; configurations without modes left out)."""
    table = table[table[f"share_{MODE_METRICS[0]}"].notna()]
    figure, axis = plt.subplots(figsize=(max(6.0, 0.8 * len(table) + 3), 5.2))
    bottom = np.zeros(len(table))
    for mode in MODE_METRICS:
        shares = table[f"share_{mode}"].to_numpy(float)
        bars = axis.bar(range(len(table)), shares, bottom=bottom, label=mode.removeprefix("mode_").replace("_", " "))
        axis.bar_label(bars, labels=[f"{v:.0%}" if v >= 0.05 else "" for v in np.nan_to_num(shares)],
                       label_type="center", fontsize=8, color="white")
        bottom += np.nan_to_num(shares)
    axis.set_xticks(range(len(table)), table["configuration"], rotation=30, ha="right", fontsize=8)
    axis.set(ylabel="share of updates", title="PCRPO update modes per configuration", ylim=(0, 1))
    axis.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _html(spec: SweepSpec, run_dir: Path, table: pd.DataFrame, trials, images: list[str], last_k: int) -> str:
    statuses = pd.Series([t.status for t in trials]).value_counts().to_dict()
    problems = [
        f"<li>{html.escape(t.algorithm)}/{html.escape(t.name)}: {t.status}, {len(t.results)} iterations</li>"
        for t in trials
        if t.status != "finished"
    ]
    return "\n".join([
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(spec.name)}</title>",
        ("<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;font-size:13px}"
        "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}img{max-width:100%;margin:1em 0}</style>"),
        "</head><body>",
        f"<h1>{html.escape(spec.name)}: {html.escape(_title(spec))}</h1>",
        f"<p>Run directory: <code>{html.escape(str(run_dir))}</code>. Trials: "
        + ", ".join(f"{n} {s}" for s, n in sorted(statuses.items()))
        + f". Final values: mean of the last {last_k} iterations of each trial; mean, std and 95% "
        "t-interval over seeds.</p>",
        f"<ul>{''.join(problems)}</ul>" if problems else "",
        table.to_html(index=False, float_format=lambda v: f"{v:.3g}", na_rep="-"),
        *[f"<h2>{html.escape(Path(image).stem.replace('_', ' '))}</h2><img src='{image}'>" for image in images],
        "</body></html>",
    ])


def write_report(run_dir: str | Path, out: str | Path | None = None, *, last_k: int | None = None) -> Path:
    """Writes summary.md/.csv, the PNG plots and index.html; returns the report directory."""
    run_dir = Path(run_dir).expanduser().resolve()
    if not (run_dir / SPEC_FILE_NAME).exists():
        raise SpecError(f"{run_dir} is not a sweep run directory: {SPEC_FILE_NAME} is missing")
    spec = load_spec(run_dir / SPEC_FILE_NAME)
    trials = load_trials(run_dir, spec.algorithm)
    if not trials:
        raise SpecError(f"{run_dir} has no trial results yet (no <algorithm>/*/params.json)")
    last_k = last_k or spec.final_iterations
    out = Path(out) if out else run_dir / "report"
    out.mkdir(parents=True, exist_ok=True)
    table = summary_table(spec, trials, last_k)
    table.to_csv(out / "summary.csv", index=False)
    (out / "summary.md").write_text(_markdown(table))
    images = ["learning_curves.png", "reward_vs_cost.png"]
    plot_learning_curves(spec, trials, table, out / images[0])
    plot_tradeoff(spec, table, out / images[1])
    if len(spec.search_space) == 2:
        images.append("heatmaps.png")
        plot_heatmaps(spec, table, out / images[-1])
    if f"share_{MODE_METRICS[0]}" in table:
        images.append("pcrpo_update_modes.png")
        plot_mode_shares(table, out / images[-1])
    (out / "index.html").write_text(_html(spec, run_dir, table, trials, images, last_k))
    return out
