"""Where the hub keeps what it receives: SQLite (embedded default) or PostgreSQL (psycopg 3).

Two tables (names optionally prefixed, e.g. one prefix per hub deployment or per test)::

    aggregates(msg_id UNIQUE, node, kind, epoch, seq, window_start, window_end, payload,
               received)
    nodes(node PRIMARY KEY, online, session, updated, meta)

On PostgreSQL ``aggregates`` is partitioned by month of ``window_start`` (see
:mod:`sync.hub_pg`): retention drops whole months, and the unique key is
``(msg_id, window_start)`` (a msg_id's window never changes, so that is still one row per id).

Both writes are single idempotent statements, so a redelivered message is harmless:
aggregates use ``INSERT .. ON CONFLICT DO NOTHING`` (exactly once per ``msg_id``);
node state uses an upsert guarded by ``session``, so a Will from an older session can never
overwrite a newer ``online``.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from .hub_pg import MigrationError, MonthlyPartitions, create_views

__all__ = [
    "HubStore",
    "NodeState",
    "PostgresHubStore",
    "SqliteHubStore",
    "StoreError",
    "open_store",
]

_PREFIX = re.compile(r"^[a-z_][a-z0-9_]{0,30}$")


class StoreError(Exception):
    """The hub store cannot be opened or written."""


@dataclass(frozen=True)
class NodeState:
    """A node as the hub last saw it."""

    node: str
    online: bool
    session: int


class HubStore(Protocol):
    """What the hub needs from a store."""

    def insert_aggregate(self, msg_id: str, node: str, kind: str, window_start: float,
                         window_end: float, payload: str, received: float,
                         epoch: str = "", seq: int | None = None) -> bool:
        """Store one aggregate; False when ``msg_id`` is already stored (a duplicate)."""

    def stored_payload(self, msg_id: str) -> str | None:
        """The payload stored under ``msg_id`` (None when there is none)."""

    def update_node(self, node: str, online: bool, session: int, updated: float) -> bool:
        """Apply a ``state`` message; False for an offline one older than the stored session."""

    def set_meta(self, node: str, meta: str, updated: float) -> None:
        """Keep the node's latest ``meta`` payload."""

    def node(self, node: str) -> NodeState | None:
        """The stored state of ``node``."""

    def aggregate_ids(self) -> list[str]:
        """Every stored ``msg_id`` (tests and audits)."""

    def set_health(self, node: str, backlog: int, ts: float) -> None:
        """Keep the outbox backlog the node last reported in ``health``."""

    def acknowledge(self, msg_id: str, by: str, at: float) -> bool:
        """Mark the alert ``msg_id`` acknowledged; False when it already was."""

    def begin(self) -> None:
        """Open a transaction (the hub commits a batch of messages at once)."""

    def commit(self) -> None:
        """Commit the open transaction."""

    def rollback(self) -> None:
        """Roll the open transaction back."""

    def close(self) -> None:
        """Release the connection."""


class _SqlStore:
    """The SQL shared by both backends; ``_ph`` is the driver's placeholder."""

    _ph = "?"

    def __init__(self, conn: Any, prefix: str):
        if prefix and not _PREFIX.match(prefix):
            raise StoreError(f"table prefix {prefix!r}: use lowercase letters, digits, _")
        self._conn = conn
        self.aggregates, self.nodes = f"{prefix}aggregates", f"{prefix}nodes"
        self.acks = f"{prefix}alert_acks"  # district page: acknowledged alerts

    @property
    def connection(self) -> Any:
        """The DB-API connection (read-only queries of the district page)."""
        return self._conn

    def sql(self, text: str) -> str:
        """``text`` with ``?`` placeholders in this driver's style."""
        return self._sql(text)

    def _sql(self, text: str) -> str:
        return text.replace("?", self._ph)

    _conflict = "ON CONFLICT(msg_id)"

    def _create(self, id_column: str) -> None:
        self._conn.execute(
            f"CREATE TABLE IF NOT EXISTS {self.aggregates} ({id_column}, "
            "msg_id TEXT NOT NULL UNIQUE, node TEXT NOT NULL, kind TEXT NOT NULL, "
            "epoch TEXT NOT NULL DEFAULT '', seq BIGINT, "
            "window_start DOUBLE PRECISION, window_end DOUBLE PRECISION, payload TEXT NOT NULL, "
            "received DOUBLE PRECISION NOT NULL)")
        self._create_indexes()
        self._create_nodes()

    def _create_indexes(self) -> None:
        # The district page's queries: one node's (or kind's) windows in a time range.
        self._conn.execute(
            f"CREATE INDEX IF NOT EXISTS {self.aggregates}_node_window "
            f"ON {self.aggregates}(node, window_start)")
        self._conn.execute(
            f"CREATE INDEX IF NOT EXISTS {self.aggregates}_kind_window "
            f"ON {self.aggregates}(kind, window_start)")

    def _create_nodes(self) -> None:
        self._conn.execute(
            f"CREATE TABLE IF NOT EXISTS {self.nodes} (node TEXT PRIMARY KEY, "
            "online BOOLEAN NOT NULL, session BIGINT NOT NULL, updated DOUBLE PRECISION, "
            "meta TEXT, backlog BIGINT, health_ts DOUBLE PRECISION)")
        self._conn.execute(
            f"CREATE TABLE IF NOT EXISTS {self.acks} (msg_id TEXT PRIMARY KEY, "
            "acked_by TEXT NOT NULL, acked_at DOUBLE PRECISION NOT NULL)")

    def insert_aggregate(self, msg_id: str, node: str, kind: str, window_start: float,
                         window_end: float, payload: str, received: float,
                         epoch: str = "", seq: int | None = None) -> bool:
        cur = self._conn.execute(self._sql(
            f"INSERT INTO {self.aggregates}(msg_id, node, kind, epoch, seq, window_start, "
            "window_end, payload, received) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            f"{self._conflict} DO NOTHING"),
            (msg_id, node, kind, epoch, seq, window_start, window_end, payload, received))
        return cur.rowcount == 1

    def stored_payload(self, msg_id: str) -> str | None:
        row = self._conn.execute(self._sql(
            f"SELECT payload FROM {self.aggregates} WHERE msg_id = ? LIMIT 1"),
            (msg_id,)).fetchone()
        return row[0] if row else None

    def update_node(self, node: str, online: bool, session: int, updated: float) -> bool:
        # "online" always applies: a node announces it only on the connection it is using, so
        # it is the newest session by definition. Without that, one retained state with an
        # absurd session (9e15, or a store re-created at session 1) hid the node for good.
        # An offline message applies when ">=": the current session's orderly exit or Will;
        # an older session's late Will is ignored.
        cur = self._conn.execute(self._sql(
            f"INSERT INTO {self.nodes}(node, online, session, updated) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(node) DO UPDATE SET online = excluded.online, "
            "session = excluded.session, updated = excluded.updated "
            f"WHERE excluded.online OR excluded.session >= {self.nodes}.session"),
            (node, online, session, updated))
        return cur.rowcount == 1

    def set_health(self, node: str, backlog: int, ts: float) -> None:
        """Keep the outbox backlog the node last reported in ``health``."""
        self._conn.execute(self._sql(
            f"INSERT INTO {self.nodes}(node, online, session, updated, backlog, health_ts) "
            "VALUES (?, FALSE, 0, ?, ?, ?) ON CONFLICT(node) DO UPDATE SET "
            "backlog = excluded.backlog, health_ts = excluded.health_ts"),
            (node, ts, backlog, ts))

    def acknowledge(self, msg_id: str, by: str, at: float) -> bool:
        """Mark the alert ``msg_id`` acknowledged; False when it already was."""
        cur = self._conn.execute(self._sql(
            f"INSERT INTO {self.acks}(msg_id, acked_by, acked_at) VALUES (?, ?, ?) "
            "ON CONFLICT(msg_id) DO NOTHING"), (msg_id, by, at))
        return cur.rowcount == 1

    def set_meta(self, node: str, meta: str, updated: float) -> None:
        self._conn.execute(self._sql(
            f"INSERT INTO {self.nodes}(node, online, session, updated, meta) "
            "VALUES (?, FALSE, 0, ?, ?) ON CONFLICT(node) DO UPDATE SET meta = excluded.meta"),
            (node, updated, meta))

    def node(self, node: str) -> NodeState | None:
        row = self._conn.execute(self._sql(
            f"SELECT node, online, session FROM {self.nodes} WHERE node = ?"), (node,)).fetchone()
        return NodeState(row[0], bool(row[1]), int(row[2])) if row else None

    def aggregate_ids(self) -> list[str]:
        return [r[0] for r in self._conn.execute(
            f"SELECT msg_id FROM {self.aggregates} ORDER BY msg_id").fetchall()]

    def begin(self) -> None:
        self._conn.execute("BEGIN")

    def commit(self) -> None:
        self._conn.execute("COMMIT")

    def rollback(self) -> None:
        self._conn.execute("ROLLBACK")

    def close(self) -> None:
        self._conn.close()


class SqliteHubStore(_SqlStore):
    """Embedded store in one SQLite file (WAL, autocommit: each statement is a transaction)."""

    def __init__(self, path: str | Path, prefix: str = ""):
        try:
            conn = sqlite3.connect(path, timeout=10.0, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
        except sqlite3.Error as exc:
            raise StoreError(f"{path}: cannot open hub store ({exc})") from None
        super().__init__(conn, prefix)
        self._create("id INTEGER PRIMARY KEY AUTOINCREMENT")
        have = {r[1] for r in conn.execute(f"PRAGMA table_info({self.aggregates})")}
        for column, decl in (("epoch", "TEXT NOT NULL DEFAULT ''"), ("seq", "BIGINT")):
            if column not in have:  # a hub store from before store epochs
                conn.execute(f"ALTER TABLE {self.aggregates} ADD COLUMN {column} {decl}")
        have = {r[1] for r in conn.execute(f"PRAGMA table_info({self.nodes})")}
        for column, decl in (("backlog", "BIGINT"), ("health_ts", "DOUBLE PRECISION")):
            if column not in have:  # a hub store from before the district page
                conn.execute(f"ALTER TABLE {self.nodes} ADD COLUMN {column} {decl}")


class PostgresHubStore(_SqlStore):
    """PostgreSQL store through psycopg 3 (autocommit); aggregates partitioned by month."""

    _ph = "%s"
    _conflict = "ON CONFLICT(msg_id, window_start)"

    def __init__(self, url: str, prefix: str = ""):
        import psycopg  # only hubs with PostgreSQL need the driver loaded

        try:
            conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to PostgreSQL: {exc}".splitlines()[0]) from None
        super().__init__(conn, prefix)
        self._partitions = MonthlyPartitions(conn, self.aggregates)
        # Several workers start together: one at a time runs the (idempotent) DDL, and the
        # migration of a pre-partitioning table with it, in one transaction.
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (self.aggregates,))
        try:
            with conn.transaction():
                self._partitions.migrate_plain()
                self._partitions.create_parent()
                self._create_indexes()
                self._create_nodes()
                # A nodes table from before the district page lacks these.
                conn.execute(f"ALTER TABLE {self.nodes} ADD COLUMN IF NOT EXISTS backlog "
                             "BIGINT, ADD COLUMN IF NOT EXISTS health_ts DOUBLE PRECISION")
                create_views(conn, self.aggregates, self.nodes, self.acks)
        except (MigrationError, psycopg.Error) as exc:
            raise StoreError(f"hub store {self.aggregates}: {exc}".splitlines()[0]) from None
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (self.aggregates,))

    def insert_aggregate(self, msg_id: str, node: str, kind: str, window_start: float,
                         window_end: float, payload: str, received: float,
                         epoch: str = "", seq: int | None = None) -> bool:
        self._partitions.ensure(window_start)
        return super().insert_aggregate(msg_id, node, kind, window_start, window_end, payload,
                                        received, epoch, seq)

    def drop_months_before(self, cutoff: float) -> list[str]:
        """Retention: drop every monthly partition that ends before ``cutoff`` (epoch s)."""
        return self._partitions.drop_before(cutoff)

    def drop_tables(self) -> None:
        """Remove this prefix's tables (tests clean up with it)."""
        self._conn.execute(f"DROP TABLE IF EXISTS {self.aggregates}, {self.nodes}, {self.acks} "
                           "CASCADE")  # CASCADE: the views go with them


def open_store(url: str, prefix: str = "") -> HubStore:
    """``postgresql://...`` (or ``postgres://``) -> PostgreSQL, anything else -> SQLite path.

    :raises StoreError: when the store cannot be opened.
    """
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresHubStore(url, prefix)
    return SqliteHubStore(url.removeprefix("sqlite://"), prefix)
