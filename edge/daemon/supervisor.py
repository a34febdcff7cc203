"""The systemd watchdog feeder: it pings only while every loop of the daemon beats.

Every long-running loop of the daemon (capture per camera, inference, store writer, web,
scheduler) beats :class:`edge.daemon.heartbeat.Heartbeats` on each pass, idle passes included.
:class:`WatchdogFeeder` sends ``WATCHDOG=1`` to systemd only while *no* heartbeat is older than
``max_age_s``: a wedged loop (deadlock, hung driver, stuck I/O) stops the pings, and systemd
restarts the service ``WatchdogSec`` later. Status changes (cameras, broker, stalled loops) go
out as ``STATUS=`` lines, shown by ``systemctl status edge``.

Usage::

    feeder = WatchdogFeeder(daemon.heartbeats,
                            status=lambda: format_status(camera_states())).start()
    ...
    feeder.stop()
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Protocol

from edge.daemon.systemd_notify import notify, watchdog_interval_s

__all__ = ["STALE_AFTER_S", "WatchdogFeeder", "format_status"]

log = logging.getLogger(__name__)

Notifier = Callable[..., bool]
# Without a watchdog: a loop silent this long is reported stalled in STATUS. A loop may block
# legitimately for a camera open plus read timeout (5 s each) plus a beat interval.
STALE_AFTER_S = 15.0
MIN_STALE_S = 3.0


class StaleLoops(Protocol):
    """What the feeder needs from a heartbeat registry (``edge.daemon.heartbeat.Heartbeats``)."""

    def stale(self, max_age_s: float) -> list[str]: ...


def format_status(cameras: Mapping[str, str], broker: str | None = None,
                  outbox_depth: int | None = None) -> str:
    """One ``STATUS=`` text, e.g. ``cameras front=streaming back=unreachable; broker connected``.

    :param cameras: camera id -> state name.
    :param broker: broker state, or None to leave it out (unknown or MQTT disabled).
    :param outbox_depth: unsent outbox rows, or None to leave it out.
    """
    parts = ["cameras " + (" ".join(f"{c}={s}" for c, s in sorted(cameras.items())) or "none")]
    if broker is not None:
        parts.append(f"broker {broker}")
    if outbox_depth is not None:
        parts.append(f"outbox {outbox_depth}")
    return "; ".join(parts)


class WatchdogFeeder:
    """A thread that pings the systemd watchdog while all loops beat, and reports status changes.

    Ticks every ``tick_s`` (and on :meth:`stop`). Each tick: when no heartbeat is stale and the
    last ping is ``interval_s`` old, send ``WATCHDOG=1``; when the status text (the ``status``
    callback, plus the names of stale loops) differs from the last one sent, send ``STATUS=``.

    :param heartbeats: the loops to vouch for.
    :param max_age_s: a loop silent for longer counts as wedged (default: ``interval_s``, i.e.
        WatchdogSec/2, at least ``MIN_STALE_S``; WatchdogSec must exceed twice the longest
        legitimate block, e.g. a camera open plus read timeout; 30 s does).
    :param status: returns the current camera/broker status text (see :func:`format_status`).
    :param interval_s: ping period; default half of ``$WATCHDOG_USEC`` (None: never ping).
    :param notifier: the notify function (tests may pass one bound to another environment).
    """

    def __init__(
        self,
        heartbeats: StaleLoops,
        status: Callable[[], str] | None = None,
        *,
        max_age_s: float | None = None,
        interval_s: float | None = None,
        tick_s: float = 1.0,
        notifier: Notifier = notify,
    ):
        self.heartbeats = heartbeats
        self.status = status
        self.interval_s = watchdog_interval_s() if interval_s is None else interval_s
        # Default: a loop silent for a whole ping period is wedged, so systemd restarts us at
        # most WatchdogSec after it stopped (never under MIN_STALE_S: loops beat about once a
        # second); without a watchdog, STALE_AFTER_S (for STATUS).
        self.max_age_s = max_age_s or (
            max(self.interval_s, MIN_STALE_S) if self.interval_s else STALE_AFTER_S)
        # Tick at least twice per ping period so a ping is never more than half a period late.
        self.tick_s = min(tick_s, self.interval_s / 2) if self.interval_s else tick_s
        self.notifier = notifier
        self.pings = 0
        self.withheld = 0
        self._last_ping = float("-inf")
        self._last_status: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="watchdog-feeder", daemon=True)

    def start(self) -> WatchdogFeeder:
        """Start the feeder thread; returns self."""
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the thread (no further pings) and wait for it."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def tick(self) -> None:
        """One check: ping when every loop is fresh, send the status when it changed."""
        stale = self.heartbeats.stale(self.max_age_s)
        text = self.status() if self.status else ""
        if stale:
            text = f"{text}; stalled loops: {', '.join(stale)}" if text else (
                f"stalled loops: {', '.join(stale)}")
        if text and text != self._last_status:
            self.notifier(f"STATUS={text}")
            self._last_status = text
            if stale:
                log.error("loops not beating, watchdog withheld: %s", ", ".join(stale))
        if not self.interval_s:
            return
        now = time.monotonic()
        if now - self._last_ping < self.interval_s:
            return
        if stale:
            self.withheld += 1
            return
        self.notifier("WATCHDOG=1")
        self.pings += 1
        self._last_ping = now

    def _run(self) -> None:
        # Frigate-style: the wait is both the tick and the shutdown signal.
        while True:
            try:
                self.tick()
            except Exception:
                log.exception("watchdog feeder tick failed")
            if self._stop.wait(self.tick_s):
                return
