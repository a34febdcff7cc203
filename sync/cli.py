"""`edge sync drain|status` and `edge hub` (registered as `edge` plugins in pyproject.toml)."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import threading

from edge.cli.common import (
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    add_config_argument,
    config_from_args,
)

from edge.store import outbox
from .connection import ConfigurationError, parse_broker
from .hub import Hub, HubOptions
from .hub_store import StoreError, open_store
from .publisher import OutboxPublisher

__all__ = ["register_hub", "register_sync"]


def register_sync(sub: argparse._SubParsersAction) -> None:
    """Add `edge sync drain` and `edge sync status`."""
    parser = sub.add_parser("sync", help="MQTT outbox: drain it to the broker or show its state")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True
    drain = verbs.add_parser("drain", help="publish every unsent aggregate; exit 0 when empty, "
                                           "1 on timeout")
    drain.add_argument("--db", metavar="F", help="store file (default: store.path from config)")
    drain.add_argument("--broker", metavar="URL", help="mqtt://host:port or mqtts://host:port "
                                                       "(default: mqtt.broker from config)")
    drain.add_argument("--timeout", metavar="S", type=float, default=60.0,
                       help="give up after S seconds (default 60)")
    add_config_argument(drain)
    drain.set_defaults(func=_drain)
    status = verbs.add_parser("status", help="outbox depth, oldest unsent age, roll-up/drop counts")
    status.add_argument("--db", metavar="F", help="store file (default: store.path from config)")
    status.add_argument("--json", action="store_true", help="print one JSON object")
    add_config_argument(status)
    status.set_defaults(func=_status)


def register_hub(sub: argparse._SubParsersAction) -> None:
    """Add `edge hub`."""
    parser = sub.add_parser("hub", help="district hub ingest: store every aggregate exactly once")
    parser.add_argument("--broker", metavar="URL", required=True, help="mqtt://host:port")
    parser.add_argument("--store", metavar="URL", required=True,
                        help="SQLite file path or postgresql://user@host/db")
    parser.add_argument("--shared", metavar="GROUP",
                        help="MQTT 5 shared subscription group (several hub workers)")
    parser.add_argument("--client-id", default="cls-hub",
                        help="MQTT client id; keep it stable so the persistent session survives")
    parser.add_argument("--session-expiry", metavar="S", type=int, default=7 * 86_400,
                        help="seconds the broker keeps the session while the hub is away")
    parser.add_argument("--max-payload", metavar="BYTES", type=int, default=256 * 1024,
                        help="reject larger payloads (default 262144)")
    parser.add_argument("--table-prefix", default="", help="prefix for the hub's table names")
    add_config_argument(parser)
    parser.set_defaults(func=_hub)


def _open_outbox(args: argparse.Namespace, db: str) -> None:
    try:
        return outbox.open_outbox(db)
    except outbox.OutboxError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None


def _drain(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    db = args.db or str(config.store.path)
    _open_outbox(args, db).close()
    broker = args.broker or config.mqtt.broker
    try:
        parse_broker(broker)
        publisher = OutboxPublisher(db, config.mqtt, config.node, broker=broker,
                                    backoff_cap_s=min(5.0, max(args.timeout / 4, 0.5)))
    except ConfigurationError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    drained = publisher.drain(args.timeout)
    stats = publisher.stats()
    publisher.close()
    print(json.dumps({"drained": drained, "acked": publisher.counters["acked"],
                      "unsent": stats.unsent, "session": stats.session}))
    return EXIT_OK if drained else EXIT_FAILURE


def _status(args: argparse.Namespace) -> int:
    db = args.db or str(config_from_args(args).store.path)
    conn = _open_outbox(args, db)
    stats = outbox.stats(conn).as_dict()
    conn.close()
    if args.json:
        print(json.dumps(stats))
    else:
        for key, value in stats.items():
            print(f"{key:>20}: {value}")
    return EXIT_OK


def _hub(args: argparse.Namespace) -> int:
    # Rate-limited like `edge run`: a client flooding bad messages cannot flood the journal.
    from edge.daemon.logging_setup import setup_logging  # only `edge hub` needs it

    setup_logging(logging.DEBUG if getattr(args, "debug", False) else logging.INFO)
    config = config_from_args(args)
    try:
        parse_broker(args.broker)
        store = open_store(args.store, args.table_prefix)
    except (ConfigurationError, StoreError) as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    options = HubOptions(client_id=args.client_id, shared_group=args.shared,
                         session_expiry_s=args.session_expiry, max_payload_bytes=args.max_payload)
    hub = Hub(store, config.mqtt, args.broker, options,
              reopen_store=lambda: open_store(args.store, args.table_prefix))
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    hub.run(stop)
    hub.store.close()
    return EXIT_OK
