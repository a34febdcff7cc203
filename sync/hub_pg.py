"""PostgreSQL layout of the hub's aggregates: one partition per calendar month (UTC).

The parent table is ``PARTITION BY RANGE (window_start)`` (epoch seconds); a month's partition
``<table>_yYYYYmMM`` is created the first time a window of that month arrives (several hub
workers may race to create it: the loser's error is absorbed). Retention is ``DROP TABLE`` of
whole months (instant, no vacuum), the page's indexes are declared on the parent and so exist
on every partition. PostgreSQL requires the partition key in every unique key, so the key is
``(msg_id, window_start)``: a msg_id always names the same window, so it is still one row
per msg_id.

A hub store made before partitioning has a plain ``aggregates`` table: the first worker that
starts moves it into the partitioned layout (:meth:`MonthlyPartitions.migrate_plain`, inside
the worker's start-up transaction and advisory lock, so it happens once, entirely or not at
all, while the other workers wait).
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
import re
from typing import Any

__all__ = ["MigrationError", "MonthlyPartitions", "create_views", "month_bounds"]

log = logging.getLogger(__name__)

_PARTITION = re.compile(r"_y(\d{4})m(\d{2})$")


class MigrationError(Exception):
    """A plain aggregates table that cannot be moved into partitions (the text says why)."""


def month_bounds(ts: float) -> tuple[int, int, float, float]:
    """(year, month, start, end) of the UTC calendar month holding epoch second ``ts``."""
    day = dt.datetime.fromtimestamp(ts, dt.UTC)
    start = dt.datetime(day.year, day.month, 1, tzinfo=dt.UTC)
    days = calendar.monthrange(day.year, day.month)[1]
    end = start + dt.timedelta(days=days)
    return day.year, day.month, start.timestamp(), end.timestamp()


class MonthlyPartitions:
    """Creates and drops the monthly partitions of ``table`` on connection ``conn``."""

    def __init__(self, conn: Any, table: str):
        self._conn, self._table = conn, table
        self._known: set[tuple[int, int]] = set()

    def create_parent(self) -> None:
        """The partitioned parent table and its unique key (idempotent)."""
        self._conn.execute(
            f"CREATE TABLE IF NOT EXISTS {self._table} ("
            "id BIGINT GENERATED ALWAYS AS IDENTITY, "
            "msg_id TEXT NOT NULL, node TEXT NOT NULL, kind TEXT NOT NULL, "
            "epoch TEXT NOT NULL DEFAULT '', seq BIGINT, "
            "window_start DOUBLE PRECISION NOT NULL, window_end DOUBLE PRECISION, "
            "payload TEXT NOT NULL, received DOUBLE PRECISION NOT NULL, "
            "UNIQUE (msg_id, window_start)) PARTITION BY RANGE (window_start)")

    def migrate_plain(self) -> int | None:
        """Move a plain (pre-partitioning) table into the partitioned layout, ids and rows kept.

        Call inside a transaction with the start-up advisory lock held, before
        :meth:`create_parent` and the indexes. Returns the rows moved, None when the table is
        not a plain one (new store, or migrated already).

        :raises MigrationError: when rows cannot be placed (no ``window_start``) or the copy
            does not match; the transaction must then be rolled back.
        """
        found = self._conn.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)",
                                   (self._table,)).fetchone()
        if found is None or found[0] != "r":
            return None
        old = f"{self._table}_unpartitioned"
        unplaceable = self._conn.execute(
            f"SELECT count(*) FROM {self._table} WHERE window_start IS NULL").fetchone()[0]
        if unplaceable:
            raise MigrationError(f"{self._table}: {unplaceable} rows have no window_start, so "
                                 "no monthly partition; give them one, then start the hub again")
        self._conn.execute(f"ALTER TABLE {self._table} RENAME TO {old}")
        # Its indexes keep their names and would make the parent's CREATE INDEX IF NOT EXISTS
        # a no-op; stores from before store epochs lack epoch and seq.
        self._conn.execute(f"DROP INDEX IF EXISTS {self._table}_node_window, "
                           f"{self._table}_kind_window")
        self._conn.execute(f"ALTER TABLE {old} ADD COLUMN IF NOT EXISTS epoch TEXT NOT NULL "
                           "DEFAULT '', ADD COLUMN IF NOT EXISTS seq BIGINT")
        self.create_parent()
        months = self._conn.execute(
            f"SELECT min(window_start) FROM {old} GROUP BY "
            "date_trunc('month', to_timestamp(window_start) AT TIME ZONE 'UTC')").fetchall()
        for (window_start,) in months:
            self.ensure(window_start)
        columns = "id, msg_id, node, kind, epoch, seq, window_start, window_end, payload, received"
        moved = self._conn.execute(
            f"INSERT INTO {self._table} ({columns}) OVERRIDING SYSTEM VALUE "
            f"SELECT {columns} FROM {old} ORDER BY id").rowcount
        before = self._conn.execute(f"SELECT count(*) FROM {old}").fetchone()[0]
        if moved != before:
            raise MigrationError(f"{self._table}: copied {moved} of {before} rows")
        # New rows continue after the old ids instead of reusing them.
        self._conn.execute(f"SELECT setval(pg_get_serial_sequence(%s, 'id'), "
                           f"(SELECT coalesce(max(id), 0) + 1 FROM {self._table}), false)",
                           (self._table,))
        self._conn.execute(f"DROP TABLE {old}")
        log.info("hub store: moved %d rows of the plain table %s into %d monthly partitions",
                 moved, self._table, len(months))
        return moved

    def ensure(self, window_start: float) -> None:
        """Create the partition of ``window_start``'s month unless this process made it."""
        import psycopg

        year, month, start, end = month_bounds(window_start)
        if (year, month) in self._known:
            return
        try:
            with self._conn.transaction():  # a savepoint inside the hub's batch transaction
                self._conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {self._table}_y{year:04d}m{month:02d} "
                    f"PARTITION OF {self._table} FOR VALUES FROM ({start!r}) TO ({end!r})")
        except (psycopg.errors.UniqueViolation, psycopg.errors.DuplicateTable):
            pass  # another worker created it between our check and our CREATE
        self._known.add((year, month))

    def names(self) -> list[str]:
        """The partitions that exist now, oldest first."""
        rows = self._conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s", (self._table,))
        return sorted(r[0] for r in rows.fetchall())

    def drop_before(self, cutoff: float) -> list[str]:
        """Drop the partitions of months that end at or before ``cutoff``; returns their names."""
        dropped = []
        for name in self.names():
            found = _PARTITION.search(name)
            if not found:
                continue
            year, month = int(found[1]), int(found[2])
            days = calendar.monthrange(year, month)[1]
            end = dt.datetime(year, month, 1, tzinfo=dt.UTC) + dt.timedelta(days=days)
            if end.timestamp() <= cutoff:
                self._conn.execute(f"DROP TABLE IF EXISTS {name}")
                self._known.discard((year, month))
                dropped.append(name)
        return dropped


def create_views(conn: Any, aggregates: str, nodes: str, acks: str) -> None:
    """The documented SQL views for BI tools (Grafana, Superset) on the hub's PostgreSQL.

    Named after the tables (``<prefix>v_...``). Times are ``timestamptz``; metrics of a window
    the edge suppressed (``values.suppressed``: fewer than ``privacy.min_group`` people) are
    NULL, exactly as the edge would show them.
    """
    prefix = aggregates[: -len("aggregates")]
    value = "CASE WHEN (a.payload::jsonb #>> '{values,suppressed}')::boolean THEN NULL " \
            "ELSE (a.payload::jsonb #>> '{values,%s}')::double precision END AS %s"
    where = "split_part(a.node, '/', 1) AS district, split_part(a.node, '/', 2) AS school, " \
            "split_part(a.node, '/', 3) AS room, split_part(a.node, '/', 4) AS node_id"
    metrics = {
        "classroom_windows": ("classroom", ["students_present", "participation",
                                            "head_up_rate", "hand_raise_rate"]),
        "pe_windows": ("pe", ["participants", "exercise_density_group", "mvpa_fraction"]),
        "lessons": ("lesson", ["participation", "head_up_rate", "exercise_density_group"]),
    }
    for view, (kind, names) in metrics.items():
        columns = ", ".join(value % (name, name) for name in names)
        extra = (", a.payload::jsonb ->> 'mode' AS mode, a.payload::jsonb #>> "
                 "'{values,st,lesson_type}' AS lesson_type") if kind == "lesson" else ""
        conn.execute(
            f"CREATE OR REPLACE VIEW {prefix}v_{view} AS SELECT a.node, {where}, "
            "to_timestamp(a.window_start) AS window_start, "
            "to_timestamp(a.window_end) AS window_end, (a.payload::jsonb ->> 'n')::int AS n, "
            f"(a.payload::jsonb #>> '{{values,suppressed}}')::boolean AS suppressed, "
            f"{columns}{extra} FROM {aggregates} a WHERE a.kind = '{kind}'")
    conn.execute(
        f"CREATE OR REPLACE VIEW {prefix}v_env_compliance AS SELECT a.node, {where}, "
        "to_timestamp(a.window_start) AS window_start, "
        "(a.payload::jsonb #>> '{values,env,co2_ppm}')::double precision AS co2_ppm, "
        "(a.payload::jsonb #>> '{values,env,lux_desk}')::double precision AS lux_desk, "
        "(a.payload::jsonb #>> '{values,env,compliance,co2}')::boolean AS co2_ok, "
        "(a.payload::jsonb #>> '{values,env,compliance,lux_desk}')::boolean AS lux_desk_ok "
        f"FROM {aggregates} a WHERE a.kind = 'classroom'")
    conn.execute(
        f"CREATE OR REPLACE VIEW {prefix}v_alerts AS SELECT a.msg_id, a.node, {where}, "
        "to_timestamp(a.window_start) AS at, a.payload::jsonb -> 'values' AS alert, "
        f"k.acked_by, to_timestamp(k.acked_at) AS acked_at FROM {aggregates} a "
        f"LEFT JOIN {acks} k ON k.msg_id = a.msg_id WHERE a.kind = 'alert'")
    conn.execute(
        f"CREATE OR REPLACE VIEW {prefix}v_nodes AS SELECT n.node, "
        "split_part(n.node, '/', 2) AS school, split_part(n.node, '/', 3) AS room, "
        "n.online, n.session, to_timestamp(GREATEST(n.updated, n.health_ts)) AS last_seen, "
        f"n.backlog FROM {nodes} n")
