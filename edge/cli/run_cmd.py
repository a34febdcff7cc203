"""`edge run [--config F]`: the daemon (SPEC 6). Exit 0 after SIGTERM/SIGINT with data flushed;
SIGHUP reloads the config file."""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from edge.config import ConfigError
from edge.daemon.logging_setup import setup_logging

from .common import (
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    add_config_argument,
    config_from_args,
)


def register(sub: argparse._SubParsersAction) -> None:
    """Add `edge run`."""
    parser = sub.add_parser(
        "run", help="the daemon: cameras, pose, lessons, store, web page, sync",
        description="Runs until SIGTERM or Ctrl-C; then the running lesson is closed and stored. "
        "Settings come from --config plus EDGE__SECTION__KEY environment overrides.",
    )
    add_config_argument(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    # Catch SIGTERM/SIGINT from here on: one arriving while the daemon still starts (model,
    # store, web) must lead to the same clean, flushed exit as one arriving later.
    stop, reload = threading.Event(), threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    # SIGHUP (systemctl reload) must never kill the daemon, not even while it starts.
    signal.signal(signal.SIGHUP, lambda *_: reload.set())
    config = config_from_args(args)
    from edge.daemon.memory import configure_malloc

    configure_malloc()  # before any thread starts: see edge/daemon/memory.py
    # The daemon logs for the journal: syslog priorities, key=value fields, and repeating
    # errors rate-limited (the count of dropped lines is in /metrics).
    limiter = setup_logging(logging.DEBUG if getattr(args, "debug", False) else logging.INFO)
    logging.getLogger("edge.cli.run").info("config: %s", args.config_source.describe())
    from edge.daemon import Daemon  # the daemon's imports (web, models) only when running it
    from edge.store import StoreError
    from edge.web.auth import TokenError
    from models.runtime import ModelError
    from sensors import SourceError

    try:
        daemon = Daemon(config, config_path=args.config, stop=stop, reload=reload,
                        log_limiter=limiter)
    except SourceError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    except ConfigError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    except ModelError as exc:
        raise CliError(f"pose.model {config.pose.model!r}: {exc}", EXIT_USAGE) from None
    try:
        flushed = daemon.run()
    except (StoreError, TokenError, OSError) as exc:
        raise CliError(str(exc), EXIT_FAILURE) from None
    if not flushed:
        raise CliError("stopped before every record was stored", EXIT_FAILURE)
    return EXIT_OK
