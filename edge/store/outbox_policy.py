"""Keep the outbox within its row, byte and age bounds without losing more than necessary.

When the outbox is over a bound (``mqtt.outbox_max_rows`` / ``_mb`` / ``_age_days``), in order:

1. **Prune sent rows**, oldest first: they are already at the hub (kept only for ``resync``).
2. **Roll up** unsent window rows: runs of up to ``ROLLUP_FACTOR`` consecutive windows of the
   same kind and mode are merged into one coarser window (one transaction per merge; the new
   row replaces its sources and is ``historical``). Rows at or below the publish high-water
   mark are never rolled up: the hub may already hold them, and a roll-up would count them
   twice. Merge rules: the one rule of :mod:`edge.store.rollup`, shared with store retention.
3. **Drop** the oldest unsent rows (lesson rows last) until within bounds.

Rows older than the age bound are dropped directly: a coarser window is not any younger.
Counts of rolled-up, dropped and pruned rows accumulate in ``meta`` (``sync.*``).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from dataclasses import dataclass

from edge.config import MqttConfig
from edge.store.rollup import merge_window_records

from edge.store.outbox import DROPPED_KEY, HIGH_WATER_KEY, PRUNED_SENT_KEY, ROLLED_UP_KEY, add_counter, atomic, get_counter

__all__ = ["ROLLUP_FACTOR", "OutboxLimits", "PolicyReport", "enforce"]

log = logging.getLogger(__name__)

ROLLUP_FACTOR = 4  # windows merged per roll-up step (30 s -> 2 min -> 8 min -> ...)
MAX_ROLLUP_S = 3600.0  # never build windows longer than an hour
_DAY_S = 86_400.0


@dataclass(frozen=True)
class OutboxLimits:
    """Bounds of the outbox; build from config with :meth:`from_config`."""

    max_rows: int
    max_bytes: int
    max_age_s: float

    @classmethod
    def from_config(cls, mqtt: MqttConfig) -> OutboxLimits:
        return cls(mqtt.outbox_max_rows, mqtt.outbox_max_mb * 1024 * 1024,
                   mqtt.outbox_max_age_days * _DAY_S)


@dataclass
class PolicyReport:
    """What one :func:`enforce` pass did."""

    pruned_sent: int = 0
    rolled_up: int = 0  # source rows merged away
    dropped: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.pruned_sent or self.rolled_up or self.dropped)


def _over(conn: sqlite3.Connection, limits: OutboxLimits) -> bool:
    rows, size = conn.execute("SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM outbox").fetchone()
    return rows > limits.max_rows or size > limits.max_bytes


def enforce(conn: sqlite3.Connection, limits: OutboxLimits, now: float | None = None) -> PolicyReport:
    """Apply the policy once; returns what was pruned, rolled up and dropped."""
    now = time.time() if now is None else now
    report = PolicyReport()
    with atomic(conn):
        report.dropped += conn.execute(
            "DELETE FROM outbox WHERE sent_at IS NULL AND created < ?", (now - limits.max_age_s,)
        ).rowcount
        report.pruned_sent += conn.execute(
            "DELETE FROM outbox WHERE sent_at IS NOT NULL AND created < ?",
            (now - limits.max_age_s,),
        ).rowcount
    while _over(conn, limits) and _delete_oldest(conn, "sent_at IS NOT NULL"):
        report.pruned_sent += 1
    while _over(conn, limits):
        merged_away = _rollup_pass(conn, limits)
        if not merged_away:
            break
        report.rolled_up += merged_away
    while _over(conn, limits) and _delete_oldest(conn, "sent_at IS NULL"):
        report.dropped += 1
    if report.changed:
        with atomic(conn):
            add_counter(conn, PRUNED_SENT_KEY, report.pruned_sent)
            add_counter(conn, ROLLED_UP_KEY, report.rolled_up)
            add_counter(conn, DROPPED_KEY, report.dropped)
        log.warning("outbox over its bounds: pruned %d sent, rolled up %d, dropped %d unsent",
                    report.pruned_sent, report.rolled_up, report.dropped)
    return report


def _delete_oldest(conn: sqlite3.Connection, where: str) -> bool:
    # Lesson summaries are the most valuable rows: drop windows first.
    with atomic(conn):
        return conn.execute(
            f"DELETE FROM outbox WHERE seq = (SELECT seq FROM outbox WHERE {where} "
            "ORDER BY kind = 'lesson', seq LIMIT 1)"
        ).rowcount > 0


def _rollup_pass(conn: sqlite3.Connection, limits: OutboxLimits) -> int:
    """Merge runs of mergeable unsent windows, oldest first, until within bounds.

    Returns the number of source rows merged away (0 when nothing could be merged).
    """
    high_water = get_counter(conn, HIGH_WATER_KEY)
    rows = conn.execute(
        "SELECT seq, kind, json_extract(record, '$.mode'), window_start, window_end FROM outbox "
        "WHERE sent_at IS NULL AND seq > ? AND kind != 'lesson' ORDER BY seq",
        (high_water,),
    ).fetchall()
    merged_away = 0
    run: list[tuple] = []
    for row in rows:
        if run and not _extends(run, row):
            run = []
        run.append(row)
        if len(run) == ROLLUP_FACTOR:
            merged_away += _replace(conn, [r[0] for r in run])
            run = []
            if not _over(conn, limits):
                break
    return merged_away


def _extends(run: list[tuple], row: tuple) -> bool:
    """True when ``row`` directly continues ``run`` (same kind and mode, no gap, < 1 h total)."""
    first, last = run[0], run[-1]
    return (row[1] == first[1] and row[2] == first[2] and None not in (row[3], row[4], last[4])
            and abs(row[3] - last[4]) < 1.0 and row[4] - first[3] <= MAX_ROLLUP_S)


def _replace(conn: sqlite3.Connection, seqs: list[int]) -> int:
    """Replace rows ``seqs`` by their merge in one transaction; returns rows merged away."""
    marks = ",".join("?" * len(seqs))
    with atomic(conn):
        found = conn.execute(
            f"SELECT kind, record, created FROM outbox WHERE sent_at IS NULL AND seq IN ({marks}) "
            "ORDER BY seq", seqs,
        ).fetchall()
        if len(found) != len(seqs):  # sent meanwhile: leave them alone
            return 0
        merged = merge_window_records([json.loads(r[1]) for r in found])
        text = json.dumps(merged, separators=(",", ":"))
        conn.execute(f"DELETE FROM outbox WHERE seq IN ({marks})", seqs)
        conn.execute(
            "INSERT INTO outbox(kind, record, window_start, window_end, n, created, sent_at, "
            "historical, bytes) VALUES (?, ?, ?, ?, ?, ?, NULL, 1, ?)",
            (found[0][0], text, merged["start"], merged["end"], merged["n"], found[0][2],
             len(text.encode("utf-8"))),
        )
    return len(seqs) - 1
