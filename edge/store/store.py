"""The aggregate store: window and lesson records plus their outbox rows, in one SQLite file.

Durability (SPEC 9): WAL journal with ``synchronous=FULL``, so a committed record survives a
power loss, and every record is written together with its outbox row in ONE transaction, so
sync/ never misses or invents a record. Readers (web page, ``edge sync``) open their own
``Store`` on the same file; WAL lets them read while the pipeline writes.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
from pathlib import Path
from typing import Any, Self

import numpy as np
from sqlite_utils import Database

from edge.privacy.records import RecordError, kind_of, validate_record

from .schema import SchemaError, migrate

__all__ = ["RECORD_TYPES", "PrivacyViolation", "Store", "StoreError"]

RECORD_TYPES = {"window": "windows", "lesson": "lessons", "alert": "alerts"}
_COLUMNS = 'id, mode, start, "end", n, suppressed, metrics, created, outbox_seq'


class StoreError(Exception):
    """The store cannot be opened, or a record cannot be written as given."""


class PrivacyViolation(StoreError):
    """A record carries something about individuals (SPEC 3) and was refused."""


class Store:
    """Aggregates and outbox in one SQLite file (WAL, synchronous=FULL, migrated on open).

    Usage::

        with Store("/var/lib/classroom-edge/edge.db") as store:
            store.write_record({"type": "window", "mode": "classroom", "start": 0.0,
                                "end": 30.0, "n": 12, "suppressed": False, "metrics": {...}})
            store.windows(since=0.0)

    :param path: the database file (created with its parent folder when missing).
    :param busy_timeout_s: how long a write waits for another connection's lock.
    :raises StoreError: when the file is not a usable SQLite store.
    """

    def __init__(self, path: str | Path, *, busy_timeout_s: float = 5.0):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(self.path), timeout=busy_timeout_s)
            self.db = Database(conn)
            self._configure(busy_timeout_s)
            migrate(self.db)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"{self.path}: cannot open store: {exc}") from None
        except SchemaError as exc:
            raise StoreError(f"{self.path}: {exc}") from None

    def _configure(self, busy_timeout_s: float) -> None:
        self.db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        # journal_mode cannot change inside a transaction; ours is never open here.
        mode = self.db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError(f"{self.path}: WAL journal not available (got {mode})")
        # FULL: fsync the WAL on every commit, so committed windows survive power loss.
        self.db.execute("PRAGMA synchronous = FULL")

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection (committed data is already durable)."""
        self.db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing -----------------------------------------------------------------------------

    def write_record(
        self, record: dict[str, Any], *, historical: bool = False, now: float | None = None
    ) -> int:
        """Store one SPEC 5 record and its outbox row in one transaction; returns the row id.

        Windows go to ``windows`` (outbox kind = the record's mode), lessons to ``lessons``
        (outbox kind ``lesson``), alerts (edge.alerts) to ``alerts`` (outbox kind ``alert``). Numpy scalars become plain numbers and NaN/inf ``null``.

        :param record: ``{"type", "mode", "start", "end", "n", "suppressed", "metrics"}``.
        :param historical: mark the outbox row as backlog (replayed, not live).
        :param now: creation time (unix seconds); default the current time.
        :raises PrivacyViolation: when it does not match the closed record schema
            (:mod:`edge.privacy.records`); the message names the offending path.
        """
        record = _plain(record)
        try:
            validate_record(record)
        except RecordError as exc:
            raise PrivacyViolation(f"record refused: {exc}") from None
        table, kind = RECORD_TYPES[record["type"]], kind_of(record)
        try:
            text = json.dumps(record, separators=(",", ":"), ensure_ascii=False)
        except (TypeError, ValueError) as exc:
            raise StoreError(f"record is not JSON-serialisable: {exc}") from None
        created = time.time() if now is None else float(now)
        try:
            return self._insert(table, kind, record, text, created, historical)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: record not stored: {exc}") from exc

    def _insert(self, table: str, kind: str, record: dict[str, Any], text: str, created: float,
                historical: bool) -> int:
        # Outbox row first, then the aggregate pointing at it; any failure rolls back both.
        with self.db.atomic():
            seq = self.db.execute(
                "INSERT INTO outbox (kind, record, window_start, window_end, n, created, "
                "historical, bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (kind, text, record["start"], record["end"], record["n"], created,
                 int(historical), len(text.encode("utf-8"))),
            ).lastrowid
            row_id = self.db.execute(
                f'INSERT INTO {table} (mode, start, "end", n, suppressed, metrics, created, '
                "outbox_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (record["mode"], record["start"], record["end"], record["n"],
                 int(bool(record["suppressed"])),
                 json.dumps(record["metrics"], separators=(",", ":"), ensure_ascii=False),
                 created, seq),
            ).lastrowid
        return int(row_id)

    # -- reading -----------------------------------------------------------------------------

    def windows(
        self, since: float | None = None, *, after_id: int | None = None,
        mode: str | None = None, limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Window records in time order, as SPEC 5 dicts plus ``id`` and ``created``.

        :param since: only windows starting at or after this time (the records' own clock).
        :param after_id: only windows stored after the one with this id (incremental polling).
        :param mode: only ``classroom`` or ``pe`` windows.
        :param limit: at most this many, the latest ones.
        """
        where, params = [], []
        for clause, value in (("start >= ?", since), ("id > ?", after_id), ("mode = ?", mode)):
            if value is not None:
                where.append(clause)
                params.append(value)
        sql = f"SELECT {_COLUMNS} FROM windows"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY start DESC, id DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        rows = [_row_record("window", r) for r in self.db.execute(sql, params).fetchall()]
        return rows[::-1]

    def lessons(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Lesson records, oldest first (the latest ``limit`` when given)."""
        sql = f"SELECT {_COLUMNS} FROM lessons ORDER BY id DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [_row_record("lesson", r) for r in self.db.execute(sql).fetchall()][::-1]

    def lesson(self, lesson_id: int) -> dict[str, Any] | None:
        """One lesson record by id, or None when there is no such lesson."""
        row = self.db.execute(f"SELECT {_COLUMNS} FROM lessons WHERE id = ?", (lesson_id,)).fetchone()
        return None if row is None else _row_record("lesson", row)

    def latest(self, record_type: str = "window") -> dict[str, Any] | None:
        """The most recently stored ``window`` or ``lesson`` record, or None."""
        if record_type not in RECORD_TYPES:
            raise ValueError(f"record_type must be one of {sorted(RECORD_TYPES)}")
        row = self.db.execute(
            f"SELECT {_COLUMNS} FROM {RECORD_TYPES[record_type]} ORDER BY id DESC LIMIT 1"
        ).fetchone()
        return None if row is None else _row_record(record_type, row)

    # -- health ------------------------------------------------------------------------------

    def check_writable(self) -> None:
        """Fail unless this connection can write: SQLite opens a read-only file (or a file on a
        read-only mount) silently read-only, and only the first write would say so.

        :raises StoreError: naming the reason (e.g. "attempt to write a readonly database").
        """
        conn = self.db.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute("DELETE FROM meta WHERE 0")  # a write statement that changes nothing
            finally:
                conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: store is not writable: {exc}") from None

    def integrity_ok(self) -> bool:
        """Whether SQLite's full ``integrity_check`` passes."""
        rows = self.db.execute("PRAGMA integrity_check").fetchall()
        return [r[0] for r in rows] == ["ok"]


def _plain(value: Any) -> Any:
    """A JSON-ready copy of ``value``: numpy scalars as Python numbers, NaN/inf as None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _row_record(record_type: str, row: tuple) -> dict[str, Any]:
    row_id, mode, start, end, n, suppressed, metrics, created, _seq = row
    return {
        "id": row_id, "type": record_type, "mode": mode, "start": start, "end": end, "n": n,
        "suppressed": bool(suppressed), "metrics": json.loads(metrics), "created": created,
    }
