"""`rllib-safe` command line: one sub-module per sub-command.

Each sub-module exposes ``add_parser(subparsers)`` (registers its arguments and sets
``func`` to its entry point) so the commands stay independent and importing one does not
import the others' heavy dependencies.
"""

from __future__ import annotations

import argparse
import importlib
import sys

SUBCOMMANDS = ("train", "evaluate", "sweep", "report", "submit")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rllib-safe",
        description="Safe reinforcement learning on Ray RLlib: train, evaluate, sweep, report, submit.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"rllib_safe.cli.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"rllib_safe.cli.{name}":
                raise
            continue
        module.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
