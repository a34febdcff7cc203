"""`edge doctor [--config F]`: check config, models, cameras, sensors, broker, store, clock, service."""

from __future__ import annotations

import argparse
import os

from edge.config import resolve_config

from .common import CONFIG_HELP, EXIT_FAILURE, EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    """Add `edge doctor`."""
    parser = sub.add_parser(
        "doctor", help="check config, models, cameras, sensors, broker, store, clock, service",
        description="Prints one line per check (OK/WARN/FAIL/SKIP). Exit 0 when nothing FAILed, "
        "1 otherwise.",
    )
    parser.add_argument("--config", metavar="F", help=CONFIG_HELP)
    parser.add_argument("--timeout", metavar="S", type=float, default=5.0,
                        help="seconds each camera, sensor and broker check may take (default 5)")
    parser.add_argument("--unit", default="edge", help="systemd unit to check (default edge)")
    parser.set_defaults(func=_doctor)


def _doctor(args: argparse.Namespace) -> int:
    from edge.config import load_config, validate_file
    from edge.cli.doctor import FAIL, OK, WARN, Check, format_report, run_checks

    source = resolve_config(args.config)
    path = source.path
    if path is None:
        first = Check("config", WARN, source.describe())
    else:
        problems = validate_file(path, env=os.environ)  # as `edge run` loads it
        if problems:  # nothing else can be checked without a valid config
            print(format_report([Check("config", FAIL, p) for p in problems]), flush=True)
            return EXIT_FAILURE
        first = Check("config", OK, f"{source.describe()}: valid")
    print(format_report([first]), flush=True)
    checks = [first]
    for check in run_checks(load_config(path), timeout_s=args.timeout, unit=args.unit):
        print(format_report([check]), flush=True)  # one line at a time: slow checks show progress
        checks.append(check)
    failed = [c.name for c in checks if c.status == FAIL]
    print(f"doctor: {len(failed)} problem(s)" + (f": {', '.join(failed)}" if failed else ""))
    return EXIT_FAILURE if failed else EXIT_OK
