"""Reports of sweeps and train runs, any mix: tables, plots and one HTML page.

What is read (``rllib_safe.sweeps.sources``): a sweep directory's trials
(``RUN_DIR/<algorithm>/<trial>``: Tune's ``params.json`` and ``result.json``) and a
``rllib-safe train`` run directory (``config.json``, ``results.jsonl``, ``summary.json``).
Results are read as they are, so the report works on finished, partial (still running or
killed) and resumed runs, each marked with its status; a resumed trial that repeated
iterations after its checkpoint keeps the last result of each iteration.

A configuration is an algorithm and a point of a sweep's search space, or, for train runs, an
algorithm, an env and the problem settings (the config less the seed and how the run is
executed: see ``sources``). Final return / cost of a trial: the mean of its last K iterations
(``final_iterations`` of the first sweep's spec, 5 without a sweep, or ``--last-k``). Per
configuration: mean, std (ddof=1) and the 95% Student-t interval of the mean over seeds (NaN with
a single seed). An episode cost cannot be negative: the lower bound of a cost interval, and the
lower edge of the cost bands and error bars in the plots, are clipped at 0.

Feasibility: a configuration is feasible when its mean final episode cost J_c is at most its
cost limit d (``cost_limit`` of the trial's or run's config; "unknown" without a cost or a
limit). The best feasible configuration is the feasible one with the highest mean final return,
named in the table (``best_feasible``), above the Markdown table and at the top of index.html.
"""

from __future__ import annotations

import html
import math
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats

from rllib_safe.metrics import COST_KEY, MODE_METRICS, RETURN_KEY, STEPS_KEY, module_key
from rllib_safe.sweeps.sources import TRAIN_RUNS, ReportRuns, TrialResults, read_runs

#: Leading columns of the summary table; the configurations' point columns follow them.
LEADING_COLUMNS = ["configuration", "algorithm", "env"]


def _title(runs: ReportRuns) -> str:
    return f"{', '.join(runs.algorithms)} on {', '.join(runs.envs)}"


def mean_std_interval(values: np.ndarray) -> tuple[float, float, float, float]:
    """Mean, std (ddof=1) and the 95% Student-t interval of the mean of the non-NaN ``values``;
    NaN where they are too few (std and interval need two, the mean one)."""
    values = values[~np.isnan(values)]
    if values.size == 0:
        return (math.nan,) * 4
    mean = float(values.mean())
    if values.size == 1:
        return mean, math.nan, math.nan, math.nan
    std = float(values.std(ddof=1))
    half = float(stats.t.ppf(0.975, values.size - 1) * std / math.sqrt(values.size))
    return mean, std, mean - half, mean + half


def _groups(trials: list[TrialResults]) -> dict[str, list[TrialResults]]:
    """The trials of each configuration label, in the order the labels first come."""
    groups: dict[str, list[TrialResults]] = {}
    for trial in trials:
        groups.setdefault(trial.group, []).append(trial)
    return groups


def _statuses(members: list[TrialResults]) -> str:
    """``2 finished, 1 in progress or killed``: how many trials or runs ended each way."""
    return ", ".join(f"{count} {status}" for status, count in Counter(t.status for t in members).items())


def _final_statistics(metric: str, finals: np.ndarray) -> dict[str, float]:
    """Mean, std and 95% interval of ``metric``'s final values over seeds; a cost's lower bound is >= 0."""
    mean, std, low, high = mean_std_interval(finals)
    if metric == "cost" and not math.isnan(low):
        low = max(low, 0.0)
    return {f"{metric}_mean": mean, f"{metric}_std": std, f"{metric}_ci95_low": low, f"{metric}_ci95_high": high}


def _cost_limit(config: dict) -> float:
    limit = config.get("cost_limit")
    return math.nan if limit is None else float(limit)


def feasibility(cost_mean: float, cost_limit: float) -> str:
    """"yes" when the mean final cost is within the limit, "no" above it, "unknown" without either."""
    if math.isnan(cost_mean) or math.isnan(cost_limit):
        return "unknown"
    return "yes" if cost_mean <= cost_limit else "no"


def _mode_shares(members: list[TrialResults]) -> dict[str, float]:
    """PCRPO/CRPO: each update mode's share of the configuration's updates ({} without modes)."""
    if all(np.isnan(t.series(module_key(MODE_METRICS[0]))).all() for t in members):
        return {}
    counts = {mode: sum(np.nansum(t.series(module_key(mode))) for t in members) for mode in MODE_METRICS}
    total = sum(counts.values()) or math.nan
    return {f"share_{mode}": counts[mode] / total for mode in MODE_METRICS}


def _configuration_row(label: str, members: list[TrialResults], last_k: int) -> dict:
    """One row of the summary table: the configuration, its trials' statuses and final statistics."""
    first = members[0]
    row = {"configuration": label, "algorithm": first.algorithm, "env": first.env, **first.point}
    row["seeds"] = len(members)
    row["finished"] = sum(t.status == "finished" for t in members)
    row["errored"] = sum(t.status in ("errored", "failed") for t in members)
    row["status"] = _statuses(members)
    for metric, key in (("return", RETURN_KEY), ("cost", COST_KEY)):
        row |= _final_statistics(metric, np.array([t.final(key, last_k) for t in members]))
    row["cost_limit"] = _cost_limit(first.config)
    row["feasible"] = feasibility(row["cost_mean"], row["cost_limit"])
    return row | _mode_shares(members)


def best_feasible(table: pd.DataFrame) -> pd.Series | None:
    """The feasible row with the highest mean final return; None when no configuration is feasible."""
    feasible = table[(table["feasible"] == "yes") & table["return_mean"].notna()]
    return None if feasible.empty else feasible.loc[feasible["return_mean"].idxmax()]


def summary_table(trials: list[TrialResults], last_k: int) -> pd.DataFrame:
    """One row per configuration: seeds, statuses, final return and cost statistics, feasibility."""
    rows = [_configuration_row(label, members, last_k) for label, members in _groups(trials).items()]
    table = pd.DataFrame(rows)
    points = [name for trial in trials for name in trial.point]
    table = table[list(dict.fromkeys(LEADING_COLUMNS + points + list(table.columns)))]
    best = best_feasible(table)
    table.insert(table.columns.get_loc("feasible") + 1, "best_feasible",
                 ["yes" if best is not None and label == best["configuration"] else "no"
                  for label in table["configuration"]])
    return table


def best_feasible_sentence(table: pd.DataFrame) -> str:
    """``Best feasible configuration: X (final return R, cost C <= limit d).`` or ``...: none feasible.``"""
    best = best_feasible(table)
    if best is None:
        return "Best feasible configuration: none feasible."
    return (f"Best feasible configuration: {best['configuration']} (final return {best['return_mean']:.3g}, "
            f"cost {best['cost_mean']:.3g} <= limit {best['cost_limit']:g}).")


def markdown_table(table: pd.DataFrame) -> str:
    """``table`` as a Markdown table (floats to 3 significant digits), ending in a newline."""

    def cell(value):
        return f"{value:.3g}" if isinstance(value, float) else str(value)

    header = "| " + " | ".join(table.columns) + " |"
    rule = "|" + "---|" * len(table.columns)
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join([header, rule, *rows]) + "\n"


def _cost_limits(table: pd.DataFrame) -> list[float]:
    return sorted({float(v) for v in table["cost_limit"] if not math.isnan(v)})


def plot_learning_curves(report_title: str, trials: list[TrialResults], table: pd.DataFrame, path: Path) -> None:
    """Return and cost vs env steps, one line per configuration, shaded +- std over seeds (cost bands >= 0)."""
    figure, axes = plt.subplots(1, 2, figsize=(13, 4.8))
    for label in table["configuration"]:
        members = [t for t in trials if t.group == label and t.results]
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
            low = np.maximum(mean - std, 0.0) if key == COST_KEY else mean - std
            (line,) = axis.plot(steps, mean, label=label)
            axis.fill_between(steps, low, mean + std, color=line.get_color(), alpha=0.2)
    for limit in _cost_limits(table):
        axes[1].axhline(limit, color="black", linestyle="--", linewidth=1, label=f"cost limit {limit:g}")
    for axis, title in zip(axes, ("Episode return", "Episode cost")):
        axis.set(xlabel="env steps", ylabel=title.lower(), title=title)
        axis.grid(alpha=0.3)
    axes[1].legend(fontsize=7, loc="best")
    figure.suptitle(f"{report_title} (mean +- std over seeds)")
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


def plot_tradeoff(report_title: str, table: pd.DataFrame, path: Path) -> None:
    """Final return vs final cost per configuration, the cost limit and the Pareto front (cost bars >= 0)."""
    figure, axis = plt.subplots(figsize=(7.5, 5.5))
    costs, returns = table["cost_mean"].to_numpy(float), table["return_mean"].to_numpy(float)
    cost_std = np.nan_to_num(table["cost_std"].to_numpy(float))
    cost_bars = [np.minimum(cost_std, np.maximum(np.nan_to_num(costs), 0.0)), cost_std]
    axis.errorbar(costs, returns, xerr=cost_bars,
                  yerr=np.nan_to_num(table["return_std"].to_numpy(float)), fmt="o", alpha=0.8, capsize=3)
    for cost, ret, label in zip(costs, returns, table["configuration"]):
        axis.annotate(label, (cost, ret), fontsize=7, xytext=(4, 4), textcoords="offset points")
    front = pareto_front(costs, returns)
    if front.size:
        axis.plot(costs[front], returns[front], "r-", linewidth=1.5, label="Pareto front")
    for limit in _cost_limits(table):
        axis.axvline(limit, color="black", linestyle="--", linewidth=1, label=f"cost limit {limit:g}")
    axis.set(xlabel="final episode cost", ylabel="final episode return",
             title=f"Reward vs cost: {report_title} (mean +- std over seeds)")
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


def plot_heatmaps(search_axes: list[str], table: pd.DataFrame, path: Path) -> None:
    """Final return and cost over a sweep's two axes (rows: first axis, columns: second), per algorithm."""
    row_axis, column_axis = search_axes
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


def _trial_list(trials: list[TrialResults]) -> str:
    """The trials and runs that did not finish, each with its status and how far it got."""
    items = [
        f"<li>{html.escape(t.group)}: {html.escape(t.algorithm)}/{html.escape(t.name)}: {html.escape(t.status)}, "
        f"{len(t.results)} iterations</li>"
        for t in trials
        if t.status != "finished"
    ]
    return f"<ul>{''.join(items)}</ul>" if items else ""


def _html(runs: ReportRuns, table: pd.DataFrame, images: list[str], last_k: int) -> str:
    statuses = Counter(t.status for t in runs.trials)
    kind = "Trials" if all(t.source != TRAIN_RUNS for t in runs.trials) else "Trials and runs"
    where = "Run directory" if len(runs.paths) == 1 else "Run directories"
    return "\n".join([
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(runs.name)}</title>",
        ("<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;font-size:13px}"
        "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}img{max-width:100%;margin:1em 0}</style>"),
        "</head><body>",
        f"<h1>{html.escape(runs.name)}: {html.escape(_title(runs))}</h1>",
        f"<p id='best-feasible'><b>{html.escape(best_feasible_sentence(table))}</b></p>",
        f"<p>{where}: " + ", ".join(f"<code>{html.escape(str(path))}</code>" for path in runs.paths)
        + f". {kind}: " + ", ".join(f"{n} {s}" for s, n in sorted(statuses.items()))
        + f". Final values: mean of the last {last_k} iterations of each trial; mean, std and 95% "
        "t-interval over seeds (cost bounds clipped at 0). Feasible: mean final cost &lt;= cost limit.</p>",
        _trial_list(runs.trials),
        table.to_html(index=False, float_format=lambda v: f"{v:.3g}", na_rep="-"),
        *[f"<h2>{html.escape(Path(image).stem.replace('_', ' '))}</h2><img src='{image}'>" for image in images],
        "</body></html>",
    ])


def _heatmap_images(runs: ReportRuns, table: pd.DataFrame, out: Path) -> list[str]:
    """Heatmaps of each sweep with two search axes, over its own configurations; the image names."""
    images = []
    for sweep in runs.sweeps:
        if len(sweep.spec.search_space) != 2:
            continue
        labels = {t.group for t in runs.trials if t.source == sweep.prefix}
        image = f"heatmaps_{re.sub(r'[^A-Za-z0-9_.-]', '_', sweep.prefix)}.png" if sweep.prefix else "heatmaps.png"
        plot_heatmaps(list(sweep.spec.search_space), table[table["configuration"].isin(labels)], out / image)
        images.append(image)
    return images


def write_report(runs: str | Path | Sequence[str | Path], out: str | Path | None = None, *,
                 last_k: int | None = None) -> Path:
    """Writes summary.md/.csv, the PNG plots and index.html of sweep and train run directories; returns
    the report directory (default ``RUN/report`` for a single run; several runs need ``out``).

    Raises:
        ReportError: a path holds no run, or several runs and no ``out``; nothing is written then.
        SpecError: a sweep's saved spec does not load.
    """
    paths = [runs] if isinstance(runs, (str, Path)) else list(runs)
    report_runs = read_runs(paths)
    out = Path(out) if out else report_runs.default_out()
    last_k = last_k or report_runs.default_last_k()
    out.mkdir(parents=True, exist_ok=True)
    table = summary_table(report_runs.trials, last_k)
    table.to_csv(out / "summary.csv", index=False)
    (out / "summary.md").write_text(f"{best_feasible_sentence(table)}\n\n{markdown_table(table)}")
    images = ["learning_curves.png", "reward_vs_cost.png"]
    plot_learning_curves(_title(report_runs), report_runs.trials, table, out / images[0])
    plot_tradeoff(_title(report_runs), table, out / images[1])
    images += _heatmap_images(report_runs, table, out)
    if f"share_{MODE_METRICS[0]}" in table:
        images.append("pcrpo_update_modes.png")
        plot_mode_shares(table, out / images[-1])
    (out / "index.html").write_text(_html(report_runs, table, images, last_k))
    return out
