"""`rllib-safe report`: tables, plots and an HTML page from a sweep's Tune results."""

from __future__ import annotations

import argparse
import sys


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "report",
        help="summarise a sweep run directory (Markdown/CSV table, PNG plots, index.html)",
        description="Reads each trial's Tune result.json; works on finished, partial and resumed runs.",
    )
    parser.add_argument("run_dir", help="the sweep's run directory (<storage_path>/<name>)")
    parser.add_argument("--out", help="report directory (default RUN_DIR/report)")
    parser.add_argument("--last-k", type=int, help="final value = mean of the last K iterations "
                        "(default: the spec's final_iterations)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rllib_safe.sweeps import SpecError
    from rllib_safe.sweeps.report import write_report

    if args.last_k is not None and args.last_k < 1:
        print(f"rllib-safe report: --last-k = {args.last_k} is invalid: it must be >= 1", file=sys.stderr)
        return 2
    try:
        out = write_report(args.run_dir, args.out, last_k=args.last_k)
    except SpecError as err:
        print(err, file=sys.stderr)
        return 2
    print(f"report written to {out}/index.html")
    return 0
