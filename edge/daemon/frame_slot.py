"""A one-slot frame buffer between a capture loop and its analysis loop.

Capture never waits for analysis: a new frame replaces the one not yet taken (counted as
skipped), so memory holds at most one waiting frame per camera however slow the model is.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sensors.samples import Frame

__all__ = ["FrameSlot", "StampedFrame"]


@dataclass(frozen=True)
class StampedFrame:
    """A frame and the daemon-clock time it was captured at."""

    t: float
    frame: Frame


class FrameSlot:
    """Holds the latest frame; ``put`` never blocks, ``take`` waits for a fresh one."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._pending: StampedFrame | None = None
        self._latest: StampedFrame | None = None
        self.captured = 0
        self.taken = 0
        self.skipped = 0

    def put(self, item: StampedFrame) -> None:
        """Offer the newest frame; an untaken older one is dropped (and counted)."""
        with self._cond:
            if self._pending is not None:
                self.skipped += 1
            self._pending = self._latest = item
            self.captured += 1
            self._cond.notify_all()

    def take(self, timeout: float) -> StampedFrame | None:
        """The frame not yet taken, waiting up to ``timeout`` s; None when none arrived."""
        with self._cond:
            if self._pending is None:
                self._cond.wait(timeout)
            item, self._pending = self._pending, None
            if item is not None:
                self.taken += 1
            return item

    def latest(self) -> StampedFrame | None:
        """The most recent frame, taken or not (for the calibration snapshot)."""
        with self._cond:
            return self._latest

    def clear(self) -> None:
        """Forget frames (the camera is gone: an old picture must not pass for a live one)."""
        with self._cond:
            self._pending = self._latest = None
