"""Retention by age: drop aggregates older than ``store.retention_days`` (SPEC 9)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from .store import Store

__all__ = ["RetentionResult", "apply_retention"]

DAY_S = 86400.0


@dataclass(frozen=True)
class RetentionResult:
    """How many rows each table lost."""

    windows: int
    lessons: int
    alerts: int = 0


def apply_retention(store: Store, retention_days: int, now: float | None = None) -> RetentionResult:
    """Delete windows, lessons and alerts created more than ``retention_days`` ago.

    Age is taken from ``created`` (wall clock at write time) because record times of a replay
    start at 0. The outbox is left alone: bounding it (rows, bytes, age, roll-up) is sync/'s job
    (SPEC 7), and deleting unsent rows here would lose data the hub has never seen.

    :param retention_days: keep rows younger than this many days (``config.store.retention_days``).
    :param now: current unix time (tests pass a fixed clock).
    """
    if retention_days <= 0:
        raise ValueError(f"retention_days must be positive, got {retention_days}")
    cutoff = (time.time() if now is None else now) - retention_days * DAY_S
    with store.db.atomic():
        windows, lessons, alerts = (
            store.db.execute(f"DELETE FROM {table} WHERE created < ?", (cutoff,)).rowcount
            for table in ("windows", "lessons", "alerts")
        )
    return RetentionResult(windows=windows, lessons=lessons, alerts=alerts)
