"""`edge privacy audit --db F [--config F] [--json]`: exit 1 listing findings, 0 "ok", 2 unreadable.

The audit (SPEC 3.5, :mod:`edge.privacy.audit`) checks the store against the closed record schema;
``--config`` supplies ``privacy.min_group`` for the suppression rule (default config otherwise).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from edge.privacy.audit import AuditError, audit_database
from edge.privacy.records import RECORD_SCHEMA_VERSION

from .common import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, CliError, add_config_argument, config_from_args


def register(sub: argparse._SubParsersAction) -> None:
    """Add `edge privacy audit`."""
    parser = sub.add_parser("privacy", help="privacy tools (SPEC 3)")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True
    audit = verbs.add_parser(
        "audit",
        help="check a store's tables, columns and every row (outbox included) against the closed "
        "record schema and the suppression rule; exit 1 naming anything else",
    )
    add_config_argument(audit)
    audit.add_argument("--db", metavar="F", required=True, help="SQLite store to scan")
    audit.add_argument("--json", action="store_true", help="print one JSON report")
    audit.set_defaults(func=_audit)


def _audit(args: argparse.Namespace) -> int:
    try:
        report = audit_database(args.db, config_from_args(args).privacy.min_group)
    except AuditError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    if args.json:
        print(json.dumps({"ok": report.ok, "tables": report.tables, "rows": report.rows,
                          "findings": [asdict(f) for f in report.findings]}))
    elif report.ok:
        print(f"ok: {report.tables} tables, {report.rows} rows match the closed record schema "
              f"v{RECORD_SCHEMA_VERSION}")
    else:
        for finding in report.findings:
            print(finding)
        print(f"{len(report.findings)} privacy finding(s) in {args.db}", file=sys.stderr)
    return EXIT_OK if report.ok else EXIT_FAILURE
