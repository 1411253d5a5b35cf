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
    parser.add_argument("--dashboard", action="store_true",
                        help="serve the Ray dashboard of the local Ray instance on 127.0.0.1 and print its URL")
    parser.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2),
                        help="0: the summary only; 1 (default): a line per trial iteration with return and J_c "
                        "against d; 2: also Tune's own trial tables and Ray's and RLlib's log lines")
    parser.add_argument("--mlflow", action="store_true",
                        help="log every trial to MLflow (as a spec's `tracking: {mlflow: {}}`; rllib-safe[mlflow])")
    parser.add_argument("--wandb", action="store_true",
                        help="log every trial to Weights & Biases (as `tracking: {wandb: {}}`; rllib-safe[wandb])")
    parser.set_defaults(func=run)


def with_tracker_flags(spec, *, mlflow: bool, wandb: bool):
    """The spec with the trackers ``--mlflow`` / ``--wandb`` ask for added (a spec's own settings stay)."""
    from rllib_safe.trackers import MLflowSettings, WandbSettings

    tracking = spec.tracking.model_copy(update={
        **({"mlflow": spec.tracking.mlflow or MLflowSettings()} if mlflow else {}),
        **({"wandb": spec.tracking.wandb or WandbSettings()} if wandb else {}),
    })
    return spec.model_copy(update={"tracking": tracking})


def run(args: argparse.Namespace) -> int:
    from rllib_safe.runs.console import quiet_console
    from rllib_safe.sweeps import SpecError, load_spec
    from rllib_safe.sweeps.runner import check_new_sweep, check_settings, resume_sweep, run_sweep

    quiet_console(args.verbose >= 2)
    if (args.spec is None) == (args.resume is None):
        print("rllib-safe sweep: give either SPEC or --resume RUN_DIR", file=sys.stderr)
        return 2
    if args.resume is not None and (args.mlflow or args.wandb):
        print("rllib-safe sweep: --mlflow and --wandb start with a sweep; --resume keeps the sweep's own trackers",
              file=sys.stderr)
        return 2
    from rllib_safe.runs.service import init_ray, local_ray_cpus, ray_address

    try:
        spec = load_spec(args.spec, smoke=args.smoke) if args.spec else None
        if spec is not None:
            spec = with_tracker_flags(spec, mlflow=args.mlflow, wandb=args.wandb)
            # before Ray starts: a bad value costs no start-up
            check_settings(spec, local_cpus=None if ray_address(args.address) else local_ray_cpus())
            check_new_sweep(spec, args.name)
    except (SpecError, OSError) as err:
        print(err, file=sys.stderr)
        return 2

    url = init_ray(args.address, dashboard=args.dashboard, verbose=args.verbose >= 2)
    if url:
        print(f"Ray dashboard: {url}", flush=True)
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
