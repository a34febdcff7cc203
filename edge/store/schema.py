"""Versioned schema of the aggregate store: an ordered list of migrations, one per version.

The schema version lives in SQLite's ``PRAGMA user_version``. Migration ``i`` (1-based) moves a
store from version ``i - 1`` to ``i``; each runs in its own transaction together with the
version bump, so a crash mid-migration leaves the previous version intact. Append new
migrations at the end; never edit a released one.

Privacy (SPEC 3): nothing here may describe an individual. No track ids, no blobs, no
per-person series: only window and lesson aggregates and the outbox of those same records.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence

from sqlite_utils import Database

__all__ = [
    "EPOCH_KEY", "MIGRATIONS", "SCHEMA_VERSION", "SchemaError", "migrate", "new_epoch",
    "schema_version",
]


class SchemaError(Exception):
    """The store's schema cannot be used by this software (e.g. it is newer)."""


def _v1_initial(db: Database) -> None:
    """Aggregates (windows, lessons), the outbox sync/ drains, and a small key/value table."""
    for table in ("windows", "lessons"):
        # outbox_seq links each aggregate to the outbox row written in the same transaction.
        db.execute(
            f"""CREATE TABLE {table} (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                mode TEXT NOT NULL,
                start REAL NOT NULL,
                "end" REAL NOT NULL,
                n INTEGER,
                suppressed INTEGER NOT NULL DEFAULT 0,
                metrics TEXT NOT NULL,
                created REAL NOT NULL,
                outbox_seq INTEGER NOT NULL UNIQUE
            )"""
        )
        db.execute(f"CREATE INDEX idx_{table}_start ON {table}(start)")
        db.execute(f"CREATE INDEX idx_{table}_created ON {table}(created)")
    # Exactly this shape: sync/ depends on it (SPEC 7 outbox).
    db.execute(
        """CREATE TABLE outbox (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL,
            record TEXT NOT NULL,
            window_start REAL,
            window_end REAL,
            n INTEGER,
            created REAL NOT NULL,
            sent_at REAL,
            historical INTEGER NOT NULL DEFAULT 0,
            bytes INTEGER NOT NULL
        )"""
    )
    db.execute("CREATE INDEX idx_outbox_sent_seq ON outbox(sent_at, seq)")
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")


def _v2_alerts(db: Database) -> None:
    """Real-time alert records (edge.alerts), shaped like the aggregates, with their outbox rows."""
    db.execute(
        """CREATE TABLE alerts (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            mode TEXT NOT NULL,
            start REAL NOT NULL,
            "end" REAL NOT NULL,
            n INTEGER,
            suppressed INTEGER NOT NULL DEFAULT 0,
            metrics TEXT NOT NULL,
            created REAL NOT NULL,
            outbox_seq INTEGER NOT NULL UNIQUE
        )"""
    )
    db.execute("CREATE INDEX idx_alerts_created ON alerts(created)")


EPOCH_KEY = "store.epoch"


def new_epoch() -> str:
    """A random store epoch: 16 hex digits (64 bits), so two stores never share one."""
    return secrets.token_hex(8)


def _v3_epoch_and_broker_ack(db: Database) -> None:
    """Store epoch (in ``msg_id``, SPEC 7) and the broker's PUBACK time per outbox row.

    ``sent_at`` now means *delivered* (covered by a hub receipt, or PUBACKed in
    ``delivery = "broker"`` mode); ``broker_acked_at`` records the PUBACK alone. A store
    migrated from v1 or v2 gets its epoch here: its old ids had none, so none can repeat.
    """
    db.execute("ALTER TABLE outbox ADD COLUMN broker_acked_at REAL")
    db.execute("INSERT OR IGNORE INTO meta(key, value) VALUES (?, ?)", (EPOCH_KEY, new_epoch()))


MIGRATIONS: list[Callable[[Database], None]] = [_v1_initial, _v2_alerts,
                                                 _v3_epoch_and_broker_ack]
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(db: Database) -> int:
    """The store's schema version (0 for a new, empty file)."""
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def migrate(
    db: Database, migrations: Sequence[Callable[[Database], None]] = tuple(MIGRATIONS)
) -> list[int]:
    """Apply the migrations a store lacks; returns the versions applied (empty when current).

    Idempotent: running it on a current store does nothing.

    :param migrations: the ordered migrations (default: this software's).

    :raises SchemaError: when the store was written by newer software (unknown version).
    """
    current, latest = schema_version(db), len(migrations)
    if current > latest:
        raise SchemaError(
            f"store schema v{current} is newer than this software supports (v{latest}); "
            "upgrade classroom-edge"
        )
    applied = []
    for version in range(current + 1, latest + 1):
        with db.atomic():
            migrations[version - 1](db)
            # user_version is part of the database header, so it commits with the migration.
            db.execute(f"PRAGMA user_version = {version}")
        applied.append(version)
    return applied
