"""Log a repeating problem once, then at most once per interval with a count of repeats."""

from __future__ import annotations

import logging
import time

__all__ = ["RateLimitedLog"]


class RateLimitedLog:
    """One warning line per ``interval_s`` for the same key (e.g. a camera that stays down).

    ``ok(key)`` resets the key, so the next failure after a recovery is logged at once.
    """

    def __init__(self, logger: logging.Logger, interval_s: float = 60.0):
        self._logger = logger
        self._interval_s = interval_s
        self._last: dict[str, float] = {}
        self._repeats: dict[str, int] = {}

    def warning(self, key: str, message: str, *args: object) -> None:
        """Log ``message`` unless ``key`` was logged less than ``interval_s`` ago."""
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self._interval_s:
            self._repeats[key] = self._repeats.get(key, 0) + 1
            return
        repeats = self._repeats.pop(key, 0)
        suffix = f" (repeated {repeats} times since last logged)" if repeats else ""
        self._logger.warning(message + suffix, *args)
        self._last[key] = now

    def ok(self, key: str) -> bool:
        """Forget ``key``; True when it had been failing (so the caller can log the recovery)."""
        self._repeats.pop(key, None)
        return self._last.pop(key, None) is not None
