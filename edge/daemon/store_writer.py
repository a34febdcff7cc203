"""The store loop: the only thread writing to SQLite; then the page hears about each record.

Records are written first (record and outbox row in one transaction) and pushed to the live
page right after, so the page never shows a window the store does not have.
"""

from __future__ import annotations

import logging
import queue
import threading
from pathlib import Path
from typing import Any

from edge.live import LiveState
from edge.store import Store, StoreError

from .heartbeat import Heartbeats

__all__ = ["HEARTBEAT_NAME", "StoreWriter"]

log = logging.getLogger(__name__)

HEARTBEAT_NAME = "store"
_STOP = object()

Record = dict[str, Any]


class StoreWriter:
    """Owns a :class:`Store` connection on its own thread; :meth:`submit` never blocks."""

    def __init__(self, path: str | Path, live: LiveState, heartbeats: Heartbeats):
        self.path = Path(path)
        self.live = live
        self.heartbeats = heartbeats
        # Unbounded on purpose: a few records per window; losing one would lose data.
        self._queue: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="store", daemon=True)
        self.written = 0
        self.failed = 0

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
            while True:
                self.heartbeats.beat(HEARTBEAT_NAME)
                try:
                    record = self._queue.get(timeout=1.0)
                except queue.Empty:
                    continue
                if record is _STOP:
                    break
                self._write(store, record)
        self.heartbeats.forget(HEARTBEAT_NAME)

    def _write(self, store: Store, record: Record) -> None:
        try:
            store.write_record(record)
        except StoreError as exc:  # includes PrivacyViolation: refused, logged, never crashes
            self.failed += 1
            log.error("record not stored: %s", exc)
            return
        self.written += 1
        if record["type"] == "window":
            self.live.add_window(record)
        else:
            self.live.end_lesson(record)
