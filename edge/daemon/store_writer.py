"""The store loop: the only thread writing to SQLite; then the page hears about each record.

Records are written first (record and outbox row in one transaction) and pushed to the live
page right after, so the page never shows a window the store does not have. Writes go through
:class:`edge.store.maintenance.FreeSpaceGuard`: while the disk is low, fine-grained windows are held
back and lessons (with their outbox rows) are still written. The same thread runs the store's
maintenance (age retention, hourly roll-up, size budget) at start and every hour, so it never
competes with a write.

Nothing is lost to a failing disk (full with the guard off, remounted read-only, I/O errors):
a record that cannot be written stays in memory, in order, and is retried every
:data:`RETRY_EVERY_S` (up to :data:`MAX_PENDING` records; beyond that the oldest *window* goes,
never a lesson). While records wait, the failure is a health problem (``/api/health`` 503, the
systemd status line), and a shutdown with records still waiting exits non-zero. Only a record
the closed schema refuses is dropped at once: retrying cannot make it valid.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from collections import deque

from edge.config import StoreConfig
from edge.lesson.live import LiveState
from edge.store.maintenance import FreeSpaceGuard, RetentionPolicy, run_maintenance
from edge.store import PrivacyViolation, Store, StoreError
from edge.privacy.records import RecordDict

from .heartbeat import Heartbeats

__all__ = ["HEARTBEAT_NAME", "MAINTENANCE_EVERY_S", "MAX_PENDING", "RETRY_EVERY_S", "StoreWriter"]

log = logging.getLogger(__name__)

HEARTBEAT_NAME = "store"
MAINTENANCE_EVERY_S = 3600.0
RETRY_EVERY_S = 5.0
MAX_PENDING = 20_000  # about a week of 30 s windows of two streams: a few MB of memory
PROBLEM = "store"  # the health problem's name
_STOP = object()



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
        self.failed = 0  # refused by the schema (dropped)
        self.lost = 0  # windows dropped because MAX_PENDING records were waiting
        self.maintenance_runs = 0
        self.problem: str | None = None  # why the store fails now (health shows it)
        self._pending: deque[RecordDict] = deque()
        self._retry_at = 0.0

    @property
    def pending(self) -> int:
        """Records waiting in memory for the store to take them again."""
        return len(self._pending)

    @property
    def held_back(self) -> int:
        """Windows not written because the disk was low."""
        return self.guard.dropped_windows

    def start(self) -> None:
        """Start the writer thread."""
        self._thread.start()

    def submit(self, records: list[RecordDict]) -> None:
        """Queue records for writing (any thread)."""
        for record in records:
            self._queue.put(record)

    def close(self, timeout: float = 10.0) -> bool:
        """Write everything queued, then stop; False when that took longer than ``timeout``."""
        if not self._thread.is_alive():
            return self._queue.empty()
        self._queue.put(_STOP)
        self._thread.join(timeout)
        return not self._thread.is_alive() and not self._pending

    def _run(self) -> None:
        store: Store | None = None
        next_maintenance = 0.0  # at once: a device that was off for a month catches up
        try:
            while True:
                self.heartbeats.beat(HEARTBEAT_NAME)
                if store is None:
                    store = self._open()
                if store is not None and time.monotonic() >= next_maintenance:
                    self._maintain(store)
                    next_maintenance = time.monotonic() + MAINTENANCE_EVERY_S
                try:
                    record = self._queue.get(timeout=1.0)
                except queue.Empty:
                    record = None
                if record is _STOP:
                    break
                if record is not None:
                    self._keep(record)
                if store is not None and time.monotonic() >= self._retry_at:
                    self._drain(store)
            if store is None:
                store = self._open()
            if store is not None:
                self._drain(store)  # one last try; what is left makes close() return False
        finally:
            if store is not None:
                store.close()
            self.heartbeats.forget(HEARTBEAT_NAME)
        if self._pending:
            log.error("%d records could not be stored before stopping: %s", len(self._pending),
                      self.problem or "store failing")

    def _open(self) -> Store | None:
        try:
            store = Store(self.path)
        except StoreError as exc:
            self._failing(str(exc))
            return None
        try:
            store.check_writable()
        except StoreError as exc:
            store.close()
            self._failing(str(exc))
            return None
        return store

    def _keep(self, record: RecordDict) -> None:
        self._pending.append(record)
        if len(self._pending) > MAX_PENDING:
            oldest_window = next((r for r in self._pending if r["type"] == "window"), None)
            if oldest_window is not None:
                self._pending.remove(oldest_window)
                self.lost += 1
                log.error("store failing for too long: oldest waiting window dropped (%d so far)",
                          self.lost)

    def _drain(self, store: Store) -> None:
        """Write the waiting records in order; stop at the first that the store cannot take."""
        while self._pending:
            record = self._pending[0]
            try:
                row = self.guard.write(store, record)
            except PrivacyViolation as exc:  # outside the closed schema: never valid, drop it
                self._pending.popleft()
                self.failed += 1
                log.error("record refused: %s", exc)
                continue
            except (StoreError, sqlite3.Error) as exc:  # disk full, read-only, I/O: retry later
                self._retry_at = time.monotonic() + RETRY_EVERY_S
                self._failing(f"{exc} ({len(self._pending)} records waiting in memory)")
                return
            self._pending.popleft()
            if row is not None:  # None: a window held back while the disk is low
                self.written += 1
                if record["type"] == "window":
                    self.live.add_window(record)
                elif record["type"] == "alert":
                    self.live.add_alert(record)
                else:
                    self.live.add_lesson_record(record)
        if self.problem is not None:
            log.warning("store writable again: every waiting record is stored")
            self.problem = None
            self.live.set_problem(PROBLEM, None)

    def _failing(self, problem: str) -> None:
        if self.problem is None:
            log.error("store failing, records kept in memory and retried: %s", problem)
        self.problem = problem
        self.live.set_problem(PROBLEM, problem)

    def _maintain(self, store: Store) -> None:
        try:
            run_maintenance(store, self.policy)
        except (StoreError, sqlite3.Error) as exc:  # retried next hour; writing goes on
            log.error("store maintenance failed: %s", exc)
        self.maintenance_runs += 1
