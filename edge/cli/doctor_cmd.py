"""`edge doctor [--config F]`: check config, models, cameras, sensors, broker, store, clock, service."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from .common import EXIT_FAILURE, EXIT_OK

INSTALLED_CONFIG = Path("/etc/classroom-edge/edge.toml")


def register(sub: argparse._SubParsersAction) -> None:
    """Add `edge doctor`."""
    parser = sub.add_parser(
        "doctor", help="check config, models, cameras, sensors, broker, store, clock, service",
        description="Prints one line per check (OK/WARN/FAIL/SKIP). Exit 0 when nothing FAILed, "
        f"1 otherwise. Default config: {INSTALLED_CONFIG} when it exists.",
    )
    parser.add_argument("--config", metavar="F", help=f"TOML config (default {INSTALLED_CONFIG})")
    parser.add_argument("--timeout", metavar="S", type=float, default=5.0,
                        help="seconds each camera, sensor and broker check may take (default 5)")
    parser.add_argument("--unit", default="edge", help="systemd unit to check (default edge)")
    parser.set_defaults(func=_doctor)


def _doctor(args: argparse.Namespace) -> int:
    from edge.config import load_config, validate_file
    from edge.cli.doctor import FAIL, OK, WARN, Check, format_report, run_checks

    path = args.config or (str(INSTALLED_CONFIG) if INSTALLED_CONFIG.exists() else None)
    if path is None:
        first = Check("config", WARN, "no config file: built-in defaults")
    else:
        problems = validate_file(path, env=os.environ)  # as `edge run` loads it
        if problems:  # nothing else can be checked without a valid config
            print(format_report([Check("config", FAIL, p) for p in problems]), flush=True)
            return EXIT_FAILURE
        first = Check("config", OK, f"{path}: valid")
    print(format_report([first]), flush=True)
    checks = [first]
    for check in run_checks(load_config(path), timeout_s=args.timeout, unit=args.unit):
        print(format_report([check]), flush=True)  # one line at a time: slow checks show progress
        checks.append(check)
    failed = [c.name for c in checks if c.status == FAIL]
    print(f"doctor: {len(failed)} problem(s)" + (f": {', '.join(failed)}" if failed else ""))
    return EXIT_FAILURE if failed else EXIT_OK
