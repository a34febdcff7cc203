"""The store loop: the only thread writing to SQLite; then the page hears about each record.

Records are written first (record and outbox row in one transaction) and pushed to the live
page right after, so the page never shows a window the store does not have. Writes go through
:class:`edge.store.maintenance.FreeSpaceGuard`: while the disk is low, fine-grained windows are held
back and lessons (with their outbox rows) are still written. The same thread runs the store's
maintenance (age retention, hourly roll-up, size budget) at start and every hour, so it never
competes with a write.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from typing import Any

from edge.config import StoreConfig
from edge.lesson.live import LiveState
from edge.store.maintenance import FreeSpaceGuard, RetentionPolicy, run_maintenance
from edge.store import Store, StoreError

from .heartbeat import Heartbeats

__all__ = ["HEARTBEAT_NAME", "MAINTENANCE_EVERY_S", "StoreWriter"]

log = logging.getLogger(__name__)

HEARTBEAT_NAME = "store"
MAINTENANCE_EVERY_S = 3600.0
_STOP = object()

Record = dict[str, Any]


class StoreWriter:
    """Owns a :class:`Store` connection on its own thread; :meth:`submit` never blocks.

    :param config: the ``[store]`` section (path, retention and disk budgets).
    """

    def __init__(self, config: StoreConfig, live: LiveState, heartbeats: Heartbeats):
        self.path = config.path
        self.policy = RetentionPolicy.from_config(config)
        self.guard = FreeSpaceGuard(self.path, self.policy.min_free_bytes)
        self.live = live
        self.heartbeats = heartbeats
        # Unbounded on purpose: a few records per window; losing one would lose data.
        self._queue: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="store", daemon=True)
        self.written = 0
        self.failed = 0
        self.maintenance_runs = 0

    @property
    def held_back(self) -> int:
        """Windows not written because the disk was low."""
        return self.guard.dropped_windows

    def start(self) -> None:
        """Start the writer thread."""
        self._thread.start()

    def submit(self, records: list[Record]) -> None:
        """Queue records for writing (any thread)."""
        for record in records:
            self._queue.put(record)

    def close(self, timeout: float = 10.0) -> bool:
        """Write everything queued, then stop; False when that took longer than ``timeout``."""
        if not self._thread.is_alive():
            return self._queue.empty()
        self._queue.put(_STOP)
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        with Store(self.path) as store:
            next_maintenance = 0.0  # at once: a device that was off for a month catches up
            while True:
                self.heartbeats.beat(HEARTBEAT_NAME)
                if time.monotonic() >= next_maintenance:
                    self._maintain(store)
                    next_maintenance = time.monotonic() + MAINTENANCE_EVERY_S
                try:
                    record = self._queue.get(timeout=1.0)
                except queue.Empty:
                    continue
                if record is _STOP:
                    break
                self._write(store, record)
        self.heartbeats.forget(HEARTBEAT_NAME)

    def _maintain(self, store: Store) -> None:
        try:
            run_maintenance(store, self.policy)
        except (StoreError, sqlite3.Error) as exc:  # retried next hour; writing goes on
            log.error("store maintenance failed: %s", exc)
        self.maintenance_runs += 1

    def _write(self, store: Store, record: Record) -> None:
        try:
            row = self.guard.write(store, record)
        except (StoreError, sqlite3.Error) as exc:  # incl. PrivacyViolation: logged, never crashes
            self.failed += 1
            log.error("record not stored: %s", exc)
            return
        if row is None:  # a window held back while the disk is low: the page must not show it
            return
        self.written += 1
        if record["type"] == "window":
            self.live.add_window(record)
        else:
            self.live.end_lesson(record)
