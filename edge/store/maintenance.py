"""Keep the store inside its age, size and free-disk budgets without losing what must be kept.

What is kept no matter what: **lessons** and **unsent outbox rows** (the hub has not seen them;
bounding the outbox is sync/'s job, SPEC 7). Only window aggregates are coarsened or dropped.

- **Age** (``store.retention_days``): windows and lessons older than that go
  (:func:`edge.store.apply_retention`).
- **Roll-up** (``store.rollup_after_days``): older windows become hourly ones: the windows
  of one mode whose ``created`` time falls in the same wall-clock hour become one row spanning
  them, merged by the one rule of :mod:`edge.store.rollup`. Only whole hours are rolled up, so an hour is merged once. A rolled-up
  row has no outbox row of its own (the hub got the fine windows): its ``outbox_seq`` is the
  negated smallest ``outbox_seq`` of its windows, which keeps the column unique and marks it.
- **Size** (``store.max_mb``, pages in use, not file size: SQLite reuses freed pages): first
  roll up every whole hour older than an hour, then drop the oldest windows.
- **Free space** (``store.min_free_mb``): :class:`FreeSpaceGuard` stops fine-grained window
  writes while the disk is low; lessons and their outbox rows are still written.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.config import StoreConfig
from edge.store.rollup import merge_window_records
from edge.store import Store, apply_retention

__all__ = [
    "FreeSpaceGuard",
    "MaintenanceReport",
    "RetentionPolicy",
    "enforce_size",
    "rollup_windows",
    "run_maintenance",
    "store_size_bytes",
]

log = logging.getLogger(__name__)

HOUR_S = 3600.0
DAY_S = 86400.0
MB = 1024 * 1024


@dataclass(frozen=True)
class RetentionPolicy:
    """Budgets; :meth:`from_config` reads them from ``[store]``."""

    retention_days: int = 400
    max_bytes: int = 512 * MB
    min_free_bytes: int = 200 * MB
    rollup_after_days: float = 7.0

    @classmethod
    def from_config(cls, cfg: StoreConfig) -> RetentionPolicy:
        """The policy of a ``[store]`` section."""
        return cls(cfg.retention_days, cfg.max_mb * MB, cfg.min_free_mb * MB,
                   cfg.rollup_after_days)


@dataclass
class MaintenanceReport:
    """What one maintenance pass did."""

    expired_windows: int = 0
    expired_lessons: int = 0
    rolled_windows: int = 0  # fine windows merged away
    rollups: int = 0  # hourly rows written
    dropped_for_size: int = 0
    size_bytes: int = 0
    over_budget: bool = False  # still too big with no windows left to drop


def rollup_windows(store: Store, before: float) -> tuple[int, int]:
    """Merge windows created before ``before`` (rounded down to a whole hour) into hourly rows.

    :returns: (fine windows merged away, hourly rows written).
    """
    cutoff = (before // HOUR_S) * HOUR_S
    rows = store.db.execute(
        'SELECT id, mode, start, "end", n, suppressed, metrics, created, outbox_seq FROM windows '
        "WHERE created < ? ORDER BY mode, created, id", (cutoff,),
    ).fetchall()
    groups: dict[tuple[str, int], list[tuple]] = {}
    for row in rows:
        groups.setdefault((row[1], int(row[7] // HOUR_S)), []).append(row)
    merged = written = 0
    for group in groups.values():
        if len(group) < 2:
            continue  # a lone window (or an hour already rolled up) stays as it is
        with store.db.atomic():
            _replace_group(store, group)
        merged += len(group)
        written += 1
    return merged, written


def _replace_group(store: Store, group: list[tuple]) -> None:
    merged = merge_window_records([
        {"mode": r[1], "start": r[2], "end": r[3], "n": r[4], "suppressed": bool(r[5]),
         "metrics": json.loads(r[6])} for r in group
    ])
    seq = -min(abs(int(r[8])) for r in group)
    store.db.execute(
        f"DELETE FROM windows WHERE id IN ({','.join('?' * len(group))})", [r[0] for r in group]
    )
    store.db.execute(
        'INSERT INTO windows (mode, start, "end", n, suppressed, metrics, created, outbox_seq) '
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (merged["mode"], merged["start"], merged["end"], merged["n"], int(merged["suppressed"]),
         json.dumps(merged["metrics"], separators=(",", ":"), ensure_ascii=False),
         min(r[7] for r in group), seq),
    )


def store_size_bytes(store: Store) -> int:
    """Bytes of pages in use (file size minus free pages; the WAL is not counted)."""
    page_size, pages, free = (
        store.db.execute(f"PRAGMA {p}").fetchone()[0]
        for p in ("page_size", "page_count", "freelist_count")
    )
    return int((pages - free) * page_size)


def enforce_size(store: Store, max_bytes: int, now: float, batch: int = 100) -> MaintenanceReport:
    """Roll up, then drop the oldest windows, until the pages in use fit ``max_bytes``."""
    report = MaintenanceReport(size_bytes=store_size_bytes(store))
    if report.size_bytes <= max_bytes:
        return report
    report.rolled_windows, report.rollups = rollup_windows(store, now - HOUR_S)
    while (size := store_size_bytes(store)) > max_bytes:
        with store.db.atomic():
            dropped = store.db.execute(
                "DELETE FROM windows WHERE id IN "
                "(SELECT id FROM windows ORDER BY created, id LIMIT ?)", (batch,),
            ).rowcount
        # Keep the WAL from growing by a whole pass: on a nearly full disk it is the WAL that
        # would fill it.
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        if not dropped:
            report.over_budget = True
            log.warning("store uses %d bytes, over its %d byte budget, with no windows left to "
                        "drop (lessons and unsent outbox rows are kept)", size, max_bytes)
            break
        report.dropped_for_size += dropped
    report.size_bytes = store_size_bytes(store)
    return report


def run_maintenance(store: Store, policy: RetentionPolicy, now: float | None = None
                    ) -> MaintenanceReport:
    """One pass: age retention, roll-up of old windows, size budget. Run it hourly and at start."""
    now = time.time() if now is None else now
    expired = apply_retention(store, policy.retention_days, now=now)
    rolled, rollups = rollup_windows(store, now - policy.rollup_after_days * DAY_S)
    report = enforce_size(store, policy.max_bytes, now)
    report.expired_windows, report.expired_lessons = expired.windows, expired.lessons
    report.rolled_windows += rolled
    report.rollups += rollups
    if report.expired_windows or report.rolled_windows or report.dropped_for_size:
        log.info("store maintenance: %s", report)
    return report


class FreeSpaceGuard:
    """Decide per record whether to write it, given the free space where the store lives.

    Lessons are always written; windows only while at least ``min_free_bytes`` are free. While
    low, the WAL is checkpointed and truncated before every write (it can hold megabytes the
    store no longer needs, and a full disk would refuse even lessons). Disk usage is sampled at
    most every ``check_every_s`` seconds; ``min_free_bytes`` is the room kept for lessons.

    :param path: the store file (its folder is measured).
    """

    def __init__(self, path: str | Path, min_free_bytes: int, *, check_every_s: float = 10.0,
                 clock: Callable[[], float] = time.monotonic):
        self.folder = Path(path).parent
        self.min_free_bytes = min_free_bytes
        self.check_every_s = check_every_s
        self.clock = clock
        self.dropped_windows = 0
        self.low = False
        self._checked = float("-inf")

    def free_bytes(self) -> int:
        """Free bytes for an unprivileged writer on the store's filesystem."""
        return shutil.disk_usage(self.folder).free

    def windows_allowed(self, store: Store | None = None) -> bool:
        """Whether fine-grained windows may be written now (checkpoints ``store`` when low)."""
        now = self.clock()
        if now - self._checked < self.check_every_s:
            return not self.low
        self._checked = now
        low = self.free_bytes() < self.min_free_bytes
        if low and store is not None:
            store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            low = self.free_bytes() < self.min_free_bytes
        if low != self.low:
            log.warning("free space %s: %d MB free, limit %d MB; fine windows %s",
                        "low" if low else "recovered", self.free_bytes() // MB,
                        self.min_free_bytes // MB, "paused" if low else "resumed")
        self.low = low
        return not low

    def write(self, store: Store, record: dict[str, Any], **kwargs: Any) -> int | None:
        """``store.write_record(record)`` unless it is a window and the disk is low.

        :returns: the row id, or None when the window was held back (counted in
            ``dropped_windows``).
        """
        allowed = self.windows_allowed(store)
        if record.get("type") == "window" and not allowed:
            self.dropped_windows += 1
            return None
        if self.low:
            store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return store.write_record(record, **kwargs)
