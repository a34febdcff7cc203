"""Entry point of the `edge` console script.

Sub-commands register themselves through the ``classroom_edge.commands`` entry-point group
(see pyproject.toml): each entry is a ``register(subparsers)`` function that adds a parser and
sets ``func`` to a handler ``(args) -> int``. This lets sync/ contribute `edge hub` without
edge/ importing sync/ (data flows one way).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
from importlib.metadata import entry_points
from typing import NoReturn

from edge import __version__

from .common import EXIT_FAILURE, CliError

COMMAND_GROUP = "classroom_edge.commands"


def build_parser() -> argparse.ArgumentParser:
    """The full parser with every installed sub-command."""
    parser = argparse.ArgumentParser(
        prog="edge", description="Classroom and PE analytics on the device; aggregates only."
    )
    parser.add_argument("--version", action="version", version=f"classroom-edge {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for ep in sorted(entry_points(group=COMMAND_GROUP), key=lambda e: e.name):
        ep.load()(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one `edge` command; returns (and exits with) 0 ok, 1 runtime failure, 2 usage error."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        code = args.func(args)
    except CliError as exc:
        print(f"edge {args.command}: {exc}", file=sys.stderr)
        code = exc.code
    except KeyboardInterrupt:
        code = 130
    except Exception as exc:  # noqa: BLE001 - last resort: one line unless --debug
        if args.debug:
            raise
        print(f"edge {args.command}: error: {exc}", file=sys.stderr)
        code = EXIT_FAILURE
    return int(code or 0)


def exit_process(code: int) -> NoReturn:
    """Exit with ``code``; without interpreter teardown while a daemon thread still runs.

    After the daemon has flushed and stopped, a loop may still be inside native code (an
    onnxruntime run on a slow, loaded machine outlives its join timeout). Tearing the interpreter
    down under it destroys C++ thread pools that are in use and aborts the process (SIGABRT,
    "terminate called without an active exception"), turning a clean stop into a crash that
    systemd restarts. Everything worth keeping is on disk by then, so leave at once.
    """
    lingering = [t for t in threading.enumerate()
                 if t is not threading.current_thread() and t.daemon and t.is_alive()]
    if not lingering:
        sys.exit(code)
    logging.getLogger(__name__).debug("leaving %d daemon thread(s) behind: %s", len(lingering),
                                      ", ".join(t.name for t in lingering))
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def run() -> None:
    """setuptools console-script shim."""
    exit_process(main())


if __name__ == "__main__":
    exit_process(main())
