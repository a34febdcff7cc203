"""Where the hub keeps what it receives: SQLite (embedded default) or PostgreSQL (psycopg 3).

Two tables (names optionally prefixed, e.g. one prefix per hub deployment or per test)::

    aggregates(msg_id UNIQUE, node, kind, window_start, window_end, payload, received)
    nodes(node PRIMARY KEY, online, session, updated, meta)

Both writes are single idempotent statements, so a redelivered message is harmless:
aggregates use ``INSERT .. ON CONFLICT(msg_id) DO NOTHING`` (exactly once per ``msg_id``);
node state uses an upsert guarded by ``session``, so a Will from an older session can never
overwrite a newer ``online``.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

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
                         window_end: float, payload: str, received: float) -> bool:
        """Store one aggregate; False when ``msg_id`` is already stored (a duplicate)."""

    def update_node(self, node: str, online: bool, session: int, updated: float) -> bool:
        """Apply a ``state`` message; False for an offline one older than the stored session."""

    def set_meta(self, node: str, meta: str, updated: float) -> None:
        """Keep the node's latest ``meta`` payload."""

    def node(self, node: str) -> NodeState | None:
        """The stored state of ``node``."""

    def aggregate_ids(self) -> list[str]:
        """Every stored ``msg_id`` (tests and audits)."""

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

    def _sql(self, text: str) -> str:
        return text.replace("?", self._ph)

    def _create(self, id_column: str) -> None:
        self._conn.execute(
            f"CREATE TABLE IF NOT EXISTS {self.aggregates} ({id_column}, "
            "msg_id TEXT NOT NULL UNIQUE, node TEXT NOT NULL, kind TEXT NOT NULL, "
            "window_start DOUBLE PRECISION, window_end DOUBLE PRECISION, payload TEXT NOT NULL, "
            "received DOUBLE PRECISION NOT NULL)")
        self._conn.execute(
            f"CREATE INDEX IF NOT EXISTS {self.aggregates}_node_window "
            f"ON {self.aggregates}(node, window_start)")
        self._conn.execute(
            f"CREATE TABLE IF NOT EXISTS {self.nodes} (node TEXT PRIMARY KEY, "
            "online BOOLEAN NOT NULL, session BIGINT NOT NULL, updated DOUBLE PRECISION, "
            "meta TEXT)")

    def insert_aggregate(self, msg_id: str, node: str, kind: str, window_start: float,
                         window_end: float, payload: str, received: float) -> bool:
        cur = self._conn.execute(self._sql(
            f"INSERT INTO {self.aggregates}(msg_id, node, kind, window_start, window_end, "
            "payload, received) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(msg_id) DO NOTHING"),
            (msg_id, node, kind, window_start, window_end, payload, received))
        return cur.rowcount == 1

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


class PostgresHubStore(_SqlStore):
    """PostgreSQL store through psycopg 3 (autocommit)."""

    _ph = "%s"

    def __init__(self, url: str, prefix: str = ""):
        import psycopg  # only hubs with PostgreSQL need the driver loaded

        try:
            conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to PostgreSQL: {exc}".splitlines()[0]) from None
        super().__init__(conn, prefix)
        self._create("id BIGSERIAL PRIMARY KEY")

    def drop_tables(self) -> None:
        """Remove this prefix's tables (tests clean up with it)."""
        self._conn.execute(f"DROP TABLE IF EXISTS {self.aggregates}, {self.nodes}")


def open_store(url: str, prefix: str = "") -> HubStore:
    """``postgresql://...`` (or ``postgres://``) -> PostgreSQL, anything else -> SQLite path.

    :raises StoreError: when the store cannot be opened.
    """
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresHubStore(url, prefix)
    return SqliteHubStore(url.removeprefix("sqlite://"), prefix)
