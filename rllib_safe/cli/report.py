"""`rllib-safe report`: tables, plots and an HTML page that compare sweeps and train runs, any mix."""

from __future__ import annotations

import argparse

from rllib_safe.cli.errors import usage_error


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "report",
        help="compare sweep and train run directories (Markdown/CSV table, PNG plots, index.html)",
        description=(
            "Reads each sweep trial's Tune result.json and each `rllib-safe train` run's results.jsonl; works on "
            "finished, partial, interrupted and resumed runs (each marked with its status). Seeds of one "
            "configuration are aggregated: a sweep's algorithm and search-space point, or train runs with the "
            "same algorithm, env and settings (the config less the seed and how the run is executed: resources, "
            "workers, timeouts, logging). Each configuration is marked feasible when its mean final episode cost "
            "is within its cost_limit, and the best feasible one is named."
        ),
    )
    parser.add_argument("runs", nargs="+", metavar="RUN",
                        help="a sweep's run directory (<storage_path>/<name>) or a `rllib-safe train` run directory")
    parser.add_argument("--out", help="report directory (default: RUN/report for a single RUN, ./report "
                        "for several)")
    parser.add_argument("--last-k", type=int, help="final value = mean of the last K iterations "
                        "(default: the first sweep's final_iterations, or 5 without a sweep)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rllib_safe.sweeps import SpecError
    from rllib_safe.sweeps.report import write_report
    from rllib_safe.sweeps.sources import ReportError

    if args.last_k is not None and args.last_k < 1:
        return usage_error("report", ValueError(f"--last-k = {args.last_k} is invalid: it must be >= 1"))
    try:
        out = write_report(args.runs, args.out, last_k=args.last_k)
    except (SpecError, ReportError) as err:
        return usage_error("report", err)
    print(f"report written to {out}/index.html")
    return 0
