"""The loop every non-camera feed runs in: open the source, deliver, back off on failure, retry.

A feed (microphone, environment sensor, ...) implements :meth:`SupervisedFeed.play`: open its
source and deliver samples until the source ends or fails. The loop around it beats the feed's
heartbeat, keeps its state and counters in :class:`edge.lesson.live.LiveState` (``/api/health``,
``/metrics``, the MQTT health record), logs a failing source once a minute rather than on every
retry, and waits on the shared backoff ladder (:class:`sensors.backoff.Backoff`) between
attempts, so a source that comes back (a microphone replugged, a broker restarted, a file
restored) is picked up without restarting the daemon.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace

from edge.lesson.live import LiveState
from sensors import SourceError
from sensors.backoff import Backoff
from sensors.samples import AudioFeatures, Sample

from ..clock import DaemonClock
from ..heartbeat import Heartbeats
from ..ratelimit import RateLimitedLog

__all__ = ["FeedContext", "SupervisedFeed"]

log = logging.getLogger(__name__)

BACKOFF_START_S = 1.0
BACKOFF_MAX_S = 30.0  # a classroom sensor that comes back is in use within half a minute
ENDED_POLL_S = 1.0  # a finite source that ended normally (file played) is looked at again this often

Deliver = Callable[[str, Sample], None]


class FeedContext:
    """What every feed shares: the daemon clock, the lesson to feed, heartbeats, live counters
    and the stop event (the daemon's, or a reload's own so feeds can be replaced)."""

    def __init__(self, clock: DaemonClock, deliver: Deliver, stream: str | None,
                 heartbeats: Heartbeats, live: LiveState, stop: threading.Event):
        self.clock, self.deliver, self.stream = clock, deliver, stream
        self.heartbeats, self.live, self.stop = heartbeats, live, stop


class SupervisedFeed:
    """Base of a supervised feed named ``name``; subclasses implement :meth:`play`.

    :meth:`play` returns normally when a finite source ended (``once`` feeds stop then, others
    are played again), and raises :class:`SourceError` or ``OSError`` when the source failed.
    """

    name = "feed"
    once = False  # True: a source that ended normally is not played again

    def __init__(self, ctx: FeedContext):
        self.ctx = ctx
        self.samples = 0
        self.failures = 0
        self.errors = RateLimitedLog(log)
        self.backoff = Backoff(initial_s=BACKOFF_START_S, cap_s=BACKOFF_MAX_S)

    def play(self) -> None:
        """Open the source and deliver its samples until it ends, fails, or the feed stops."""
        raise NotImplementedError

    def run(self) -> None:
        """The thread's body: play, and after a failure back off and play again, until stopped."""
        try:
            while not self.ctx.stop.is_set():
                self.beat()
                self.set_state("starting" if not self.samples else "running")
                try:
                    self.play()
                except (SourceError, OSError) as exc:
                    self._failed(exc)
                    continue
                if self.once:
                    log.info("%s: source ended", self.name)
                    break
                self.sleep(ENDED_POLL_S)
        except Exception:  # noqa: BLE001 - a bug in one feed must not end the daemon
            log.exception("%s: stopped by an error", self.name)
        finally:
            self.set_state("stopped")
            self.ctx.heartbeats.forget(self.name)

    # -- helpers for play() ----------------------------------------------------------------

    def deliver(self, sample: Sample) -> None:
        """Stamp ``sample`` on the daemon clock (arrival time) and give it to the lesson."""
        now = self.ctx.clock.now()
        if isinstance(sample, AudioFeatures):  # its speech segments move with it
            sample = sample.shifted(now - sample.t)
        else:
            sample = replace(sample, t=now)
        if self.ctx.stream is not None:
            self.ctx.deliver(self.ctx.stream, sample)
        self.samples += 1
        if self.samples == 1 or self.errors.ok(self.name):
            log.info("%s: delivering", self.name)
            self.backoff.reset()
        self.ctx.live.update_feed(self.name, state="running", samples=self.samples)

    def beat(self) -> None:
        """The feed is alive (call at least every :data:`~edge.daemon.heartbeat.BEAT_S`)."""
        self.ctx.heartbeats.beat(self.name)

    def sleep(self, seconds: float) -> bool:
        """Wait while beating; False when the feed is stopping."""
        return self.ctx.heartbeats.sleep(self.name, seconds, self.ctx.stop)

    def set_state(self, state: str) -> None:
        self.ctx.live.update_feed(self.name, state=state, samples=self.samples,
                                  failures=self.failures)

    def _failed(self, exc: Exception) -> None:
        self.failures += 1
        delay = self.backoff.next_delay()
        self.set_state("retrying")
        self.errors.warning(self.name, "%s: %s; retrying in %.0f s", self.name, exc, delay)
        self.sleep(delay)
