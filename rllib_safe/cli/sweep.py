"""`rllib-safe sweep`: run a sweep spec with Ray Tune, or resume an interrupted sweep."""

from __future__ import annotations

import argparse
import sys


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "sweep",
        help="multi-seed sensitivity sweep of a YAML spec with Ray Tune (tune_configs/*.yaml)",
        description="Runs every configuration x seed of SPEC, one Tune experiment per algorithm, on a local "
        "Ray instance or the cluster named by --address; Tune shows progress (trial table, counts) "
        "and writes results under <storage_path>/<name>/<algorithm>. Failed trials are retried "
        "max_failures times and listed at the end.",
    )
    parser.add_argument("spec", nargs="?", help="sweep spec YAML (see tune_configs/)")
    parser.add_argument("--smoke", action="store_true", help="apply the spec's `smoke:` overrides (short run)")
    parser.add_argument("--name", help="experiment name (default: the spec's name)")
    parser.add_argument("--address", help="Ray cluster address ('auto' for a running one)")
    parser.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted sweep from its run directory")
    parser.add_argument("--restart-errored", action="store_true",
                        help="with --resume: start errored trials from scratch instead of their last checkpoint")
    parser.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2), help="Tune's output verbosity")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rllib_safe.sweeps import SpecError, load_spec
    from rllib_safe.sweeps.runner import resume_sweep, run_sweep

    if (args.spec is None) == (args.resume is None):
        print("rllib-safe sweep: give either SPEC or --resume RUN_DIR", file=sys.stderr)
        return 2
    try:
        spec = load_spec(args.spec, smoke=args.smoke) if args.spec else None
    except (SpecError, OSError) as err:
        print(err, file=sys.stderr)
        return 2
    import ray

    ray.init(address=args.address, ignore_reinit_error=True)
    try:
        if spec is not None:
            summary = run_sweep(spec, name=args.name, verbose=args.verbose)
        else:
            summary = resume_sweep(args.resume, restart_errored=args.restart_errored, verbose=args.verbose)
    except SpecError as err:
        print(err, file=sys.stderr)
        return 2
    print(summary)
    print(f"report: rllib-safe report {summary.run_dir}")
    return 1 if summary.failed else 0
