"""The daemon's one clock: unix seconds that never jump (monotonic, anchored at start)."""

from __future__ import annotations

import time

__all__ = ["DaemonClock"]


class DaemonClock:
    """``now()`` = unix time at construction + monotonic seconds since.

    Every sample fed to a lesson is stamped with it, whatever clock its source keeps (a looped
    file restarts at 0, a reconnected camera too), so lesson times only move forward and window
    records carry wall-clock times the hub can place; an NTP step cannot make them go back.
    """

    def __init__(self) -> None:
        self._unix0 = time.time()
        self._mono0 = time.monotonic()

    def now(self) -> float:
        """Seconds since the epoch, monotonic."""
        return self._unix0 + (time.monotonic() - self._mono0)
