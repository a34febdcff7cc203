"""Heartbeats of the daemon's loops: each loop beats while it is alive and not wedged."""

from __future__ import annotations

import threading
import time

__all__ = ["BEAT_S", "Heartbeats"]

BEAT_S = 1.0  # longest a waiting loop goes without a beat


class Heartbeats:
    """Thread-safe registry ``loop name -> last beat`` (``time.monotonic()`` seconds).

    A loop beats at least once per pass, including while idle or backing off, so an old beat
    means the loop is stuck (or dead), never merely that it has nothing to do.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._beats: dict[str, float] = {}

    def beat(self, name: str) -> None:
        """Record that loop ``name`` is alive now."""
        now = time.monotonic()
        with self._lock:
            self._beats[name] = now

    def sleep(self, name: str, seconds: float, stop: threading.Event) -> bool:
        """Wait ``seconds`` while beating for ``name`` every :data:`BEAT_S`; False when ``stop``
        was set first (the daemon is stopping), True when the time is up."""
        deadline = time.monotonic() + seconds
        while not stop.is_set():
            self.beat(name)
            left = deadline - time.monotonic()
            if left <= 0:
                return True
            stop.wait(min(left, BEAT_S))
        return False

    def dead(self, name: str) -> None:
        """Record that loop ``name`` died: it counts as stale from now on, whatever the age."""
        with self._lock:
            self._beats[name] = float("-inf")

    def forget(self, name: str) -> None:
        """Stop watching ``name`` (the loop ended on purpose)."""
        with self._lock:
            self._beats.pop(name, None)

    def ages(self) -> dict[str, float]:
        """Seconds since each loop's last beat."""
        now = time.monotonic()
        with self._lock:
            return {name: now - t for name, t in self._beats.items()}

    def stale(self, max_age_s: float) -> list[str]:
        """Loops whose last beat is older than ``max_age_s`` (empty = all healthy)."""
        return sorted(name for name, age in self.ages().items() if age > max_age_s)
