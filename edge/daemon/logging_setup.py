"""Daemon logging: journal-friendly lines and a rate limit for errors that repeat.

Under systemd, stderr goes to the journal, which stamps time and unit itself; a ``<N>`` prefix
(syslog priority, ``sd-daemon(3)``) sets each line's priority so ``journalctl -p err`` works.
In a terminal the lines carry a timestamp and level name instead.

A camera that is down or a broker that refuses would otherwise log the same line every few
seconds for days; :class:`RateLimitFilter` lets the first ``burst`` records of each
(logger, message template) through per ``interval_s`` and counts the rest; the next record let
through says how many were suppressed.

Extra structured fields: ``log.warning("camera lost", extra={"fields": {"camera": "front"}})``
renders as ``camera lost camera=front``.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import TextIO

__all__ = ["JournalFormatter", "RateLimitFilter", "journal_stream_matches", "setup_logging"]

# logging level -> syslog priority (sd-daemon(3) prefixes).
_PRIORITY = {logging.CRITICAL: 2, logging.ERROR: 3, logging.WARNING: 4, logging.INFO: 6,
             logging.DEBUG: 7}


def _priority(levelno: int) -> int:
    for level in sorted(_PRIORITY, reverse=True):
        if levelno >= level:
            return _PRIORITY[level]
    return 7


class RateLimitFilter(logging.Filter):
    """Pass the first ``burst`` records per (logger, template) in each ``interval_s``; count the
    rest. A passing record that follows suppressed ones carries ``suppressed_repeats``.

    The key is the unformatted template (``record.msg``), so "camera %s lost" with different
    cameras counts as one kind of message: the point is to bound the volume.
    """

    def __init__(self, burst: int = 5, interval_s: float = 60.0,
                 clock: Callable[[], float] = time.monotonic):
        super().__init__()
        if burst < 1 or interval_s <= 0:
            raise ValueError("burst must be >= 1 and interval_s > 0")
        self.burst, self.interval_s, self.clock = burst, interval_s, clock
        self._lock = threading.Lock()
        # key -> [interval start, passed in interval, suppressed since last passed record]
        self._seen: dict[tuple[str, str], list[float]] = {}
        self.suppressed_total = 0

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, str(record.msg))
        now = self.clock()
        with self._lock:
            entry = self._seen.get(key)
            if entry is None or now - entry[0] >= self.interval_s:
                pending = int(entry[2]) if entry else 0
                self._seen[key] = entry = [now, 0, pending]
                if len(self._seen) > 10_000:  # bound memory if templates are unique
                    self._seen = {key: entry}
            if entry[1] >= self.burst:
                entry[2] += 1
                self.suppressed_total += 1
                return False
            entry[1] += 1
            if entry[2]:
                record.suppressed_repeats = int(entry[2])
                entry[2] = 0
        return True


class JournalFormatter(logging.Formatter):
    """``<3>edge.camera: message key=value`` for the journal, or with a time and level name."""

    def __init__(self, journal: bool):
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.journal = journal

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        fields = getattr(record, "fields", None)
        if isinstance(fields, Mapping) and fields:
            message += " " + " ".join(f"{k}={_field(v)}" for k, v in fields.items())
        repeats = getattr(record, "suppressed_repeats", 0)
        if repeats:
            message += f" ({repeats} similar messages suppressed)"
        if record.exc_info:
            message += "\n" + self.formatException(record.exc_info)
        if not self.journal:
            return f"{self.formatTime(record)} {record.levelname} {record.name}: {message}"
        prefix = f"<{_priority(record.levelno)}>"
        # Every line of a multi-line message (tracebacks) keeps the record's priority.
        return "\n".join(f"{prefix}{record.name}: {line}" if i == 0 else f"{prefix}  {line}"
                         for i, line in enumerate(message.splitlines() or [""]))


def _field(value: object) -> str:
    text = str(value)
    return f'"{text}"' if (" " in text or not text) else text


def journal_stream_matches(stream: TextIO, env: Mapping[str, str] | None = None) -> bool:
    """True when ``stream`` is the journal's socket: ``$JOURNAL_STREAM`` is ``dev:inode`` of it."""
    value = (os.environ if env is None else env).get("JOURNAL_STREAM", "")
    if not value:
        return False
    try:
        st = os.fstat(stream.fileno())
        dev, inode = (int(part) for part in value.split(":"))
    except (OSError, ValueError, AttributeError):
        return False
    return (st.st_dev, st.st_ino) == (dev, inode)


def setup_logging(
    level: int = logging.INFO, *, stream: TextIO | None = None,
    env: Mapping[str, str] | None = None, burst: int = 5, interval_s: float = 60.0,
) -> RateLimitFilter:
    """Replace the root handlers with one rate-limited, journal-aware stderr handler.

    :returns: the filter (its ``suppressed_total`` can go into health).
    """
    stream = sys.stderr if stream is None else stream
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JournalFormatter(journal_stream_matches(stream, env)))
    limiter = RateLimitFilter(burst, interval_s)
    handler.addFilter(limiter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return limiter
