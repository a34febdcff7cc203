"""Read and update the store's outbox table (the only part of the edge store sync/ touches).

The outbox is written by the edge store in the same transaction as each aggregate (SPEC 7);
its shape is fixed::

    outbox(seq INTEGER PRIMARY KEY AUTOINCREMENT, kind, record JSON, window_start, window_end,
           n, created, sent_at NULL until delivered, historical, bytes,
           broker_acked_at NULL until the broker's PUBACK)
    meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)   -- includes the store epoch

*Delivered* (``sent_at``) means covered by a hub receipt (``delivery = "hub"``, the default)
or PUBACKed by the broker (``delivery = "broker"``); "unsent" everywhere means not delivered.
sync/ keeps its own counters (connection ``session``, roll-up/drop counts, the publish
high-water mark) in ``meta`` under the ``sync.`` prefix.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .store import Store, StoreError
from .schema import EPOCH_KEY

__all__ = [
    "has_undelivered",
    "OutboxError",
    "OutboxRow",
    "OutboxStats",
    "add_counter",
    "atomic",
    "confirm_ranges",
    "mark_broker_acked",
    "rows_by_seq",
    "store_epoch",
    "get_counter",
    "mark_sent",
    "mark_unsent_from",
    "open_outbox",
    "set_counter",
    "stats",
    "unsent_after",
]

SESSION_KEY = "sync.session"
HIGH_WATER_KEY = "sync.published_high_water"  # highest seq ever handed to the MQTT client
ROLLED_UP_KEY = "sync.rolled_up"
DROPPED_KEY = "sync.dropped"
PRUNED_SENT_KEY = "sync.pruned_sent"


class OutboxError(Exception):
    """The database has no outbox (not an edge store, or not created yet)."""


@dataclass(frozen=True)
class OutboxRow:
    """One unsent outbox row as the publisher needs it."""

    seq: int
    kind: str
    record: str
    historical: bool


@dataclass(frozen=True)
class OutboxStats:
    """What `edge sync status` and the health page report."""

    unsent: int
    unsent_bytes: int
    oldest_unsent_age_s: float | None
    rows: int
    bytes: int
    rolled_up: int
    dropped: int
    pruned_sent: int
    session: int
    unacked_by_broker: int = 0  # undelivered rows the broker has not PUBACKed either

    def as_dict(self) -> dict:
        """JSON-ready form with the SPEC key names."""
        return {
            "unsent": self.unsent, "unacked_by_broker": self.unacked_by_broker,
            "oldest_unsent_age_s": self.oldest_unsent_age_s,
            "bytes": self.unsent_bytes, "rows": self.rows, "total_bytes": self.bytes,
            "rolled_up": self.rolled_up, "dropped": self.dropped,
            "pruned_sent": self.pruned_sent, "session": self.session,
        }


def open_outbox(path: str | Path) -> sqlite3.Connection:
    """Open the store at ``path`` for syncing (autocommit; use :func:`atomic` for writes).

    :raises OutboxError: when the file does not exist or has no ``outbox`` table. sync/ never
        creates the outbox: that is the store's job, and creating it here could collide with
        the store's own migrations.
    """
    path = Path(path)
    if not path.is_file():
        raise OutboxError(f"{path}: no such store")
    conn = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
    try:
        found = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='outbox'"
        ).fetchone()
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise OutboxError(f"{path}: not a SQLite store ({exc})") from None
    if not found:
        conn.close()
        raise OutboxError(f"{path}: has no outbox table (not an edge store?)")
    if not _has_column(conn, "outbox", "broker_acked_at"):
        # A store from before schema v2 (no epoch): the store's own migration brings it up.
        conn.close()
        try:
            Store(path).close()
        except StoreError as exc:
            raise OutboxError(str(exc)) from None
        conn = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
    # NORMAL is durable across power loss in WAL mode except for the last commits, which the
    # at-least-once protocol absorbs (an unrecorded PUBACK only means one more duplicate).
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


@contextmanager
def atomic(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction (BEGIN IMMEDIATE .. COMMIT), rolled back on any exception."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _has_column(conn: sqlite3.Connection, table: str, column: str) -> bool:
    return any(row[1] == column for row in conn.execute(f"PRAGMA table_info({table})"))


def store_epoch(conn: sqlite3.Connection) -> str:
    """The store's epoch (random id made at creation, part of every ``msg_id``).

    :raises OutboxError: when the store has none (it was not opened by ``edge.store``).
    """
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (EPOCH_KEY,)).fetchone()
    if not row or not row[0]:
        raise OutboxError("store has no epoch (meta store.epoch); open it with edge.store")
    return str(row[0])


def unsent_after(conn: sqlite3.Connection, after_seq: int, limit: int) -> list[OutboxRow]:
    """Up to ``limit`` unsent rows with ``seq > after_seq``, in seq order."""
    rows = conn.execute(
        "SELECT seq, kind, record, historical FROM outbox "
        "WHERE sent_at IS NULL AND seq > ? ORDER BY seq LIMIT ?",
        (after_seq, limit),
    ).fetchall()
    return [OutboxRow(seq, kind, record, bool(hist)) for seq, kind, record, hist in rows]


def has_undelivered(conn: sqlite3.Connection) -> bool:
    """Whether any row still waits for delivery (``sent_at`` NULL)."""
    return conn.execute("SELECT 1 FROM outbox WHERE sent_at IS NULL LIMIT 1").fetchone() is not None


def mark_sent(conn: sqlite3.Connection, seqs: Iterable[int], when: float | None = None) -> int:
    """Mark rows delivered (``delivery = "broker"``: on PUBACK); returns rows changed."""
    seqs = list(seqs)
    if not seqs:
        return 0
    when = time.time() if when is None else when
    changed = 0
    for start in range(0, len(seqs), 500):  # stay under SQLite's bound-parameter limit
        chunk = seqs[start:start + 500]
        marks = ",".join("?" * len(chunk))
        changed += conn.execute(
            f"UPDATE outbox SET sent_at = ? WHERE sent_at IS NULL AND seq IN ({marks})",
            (when, *chunk),
        ).rowcount
    return changed


def rows_by_seq(conn: sqlite3.Connection, seqs: Iterable[int]) -> list[OutboxRow]:
    """The still undelivered rows among ``seqs``, in seq order (re-publishing)."""
    found: list[OutboxRow] = []
    seqs = sorted(set(seqs))
    for start in range(0, len(seqs), 500):
        chunk = seqs[start:start + 500]
        found += [OutboxRow(seq, kind, record, bool(hist)) for seq, kind, record, hist in
                  conn.execute(
                      "SELECT seq, kind, record, historical FROM outbox WHERE sent_at IS NULL "
                      f"AND seq IN ({','.join('?' * len(chunk))}) ORDER BY seq", chunk)]
    return found


def mark_broker_acked(conn: sqlite3.Connection, seqs: Iterable[int],
                      when: float | None = None) -> None:
    """Record the broker's PUBACK of ``seqs`` (caller owns the transaction)."""
    when = time.time() if when is None else when
    conn.executemany("UPDATE outbox SET broker_acked_at = ? WHERE seq = ? "
                     "AND broker_acked_at IS NULL", [(when, s) for s in seqs])


def confirm_ranges(conn: sqlite3.Connection, ranges: Iterable[tuple[int, int]],
                   when: float | None = None) -> int:
    """Mark undelivered rows in the inclusive seq ``ranges`` delivered; returns rows changed."""
    when = time.time() if when is None else when
    changed = 0
    with atomic(conn):
        for low, high in ranges:
            changed += conn.execute(
                "UPDATE outbox SET sent_at = ? WHERE sent_at IS NULL AND seq BETWEEN ? AND ?",
                (when, low, high)).rowcount
    return changed


def mark_unsent_from(conn: sqlite3.Connection, from_seq: int) -> int:
    """Mark rows ``seq >= from_seq`` unsent again and historical (hub-requested resync)."""
    with atomic(conn):
        return conn.execute(
            "UPDATE outbox SET sent_at = NULL, broker_acked_at = NULL, historical = 1 "
            "WHERE seq >= ?", (from_seq,)
        ).rowcount


def get_counter(conn: sqlite3.Connection, key: str) -> int:
    """Integer value kept in ``meta`` (0 when absent)."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    try:
        return int(row[0]) if row else 0
    except ValueError:
        return 0


def set_counter(conn: sqlite3.Connection, key: str, value: int) -> None:
    """Store an integer in ``meta`` (caller owns the transaction)."""
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, str(int(value))),
    )


def add_counter(conn: sqlite3.Connection, key: str, delta: int) -> int:
    """Add ``delta`` to a ``meta`` counter (caller owns the transaction); returns the new value."""
    value = get_counter(conn, key) + delta
    set_counter(conn, key, value)
    return value


def stats(conn: sqlite3.Connection, now: float | None = None) -> OutboxStats:
    """Depth, bytes and oldest unsent age of the outbox, plus the sync counters."""
    now = time.time() if now is None else now
    unsent, unsent_bytes, oldest = conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(bytes), 0), MIN(created) FROM outbox WHERE sent_at IS NULL"
    ).fetchone()
    rows, total = conn.execute("SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM outbox").fetchone()
    unacked = conn.execute("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL "
                           "AND broker_acked_at IS NULL").fetchone()[0]
    return OutboxStats(
        unsent=unsent, unsent_bytes=unsent_bytes,
        oldest_unsent_age_s=None if oldest is None else round(max(0.0, now - oldest), 3),
        rows=rows, bytes=total,
        rolled_up=get_counter(conn, ROLLED_UP_KEY), dropped=get_counter(conn, DROPPED_KEY),
        pruned_sent=get_counter(conn, PRUNED_SENT_KEY), session=get_counter(conn, SESSION_KEY),
        unacked_by_broker=unacked,
    )
