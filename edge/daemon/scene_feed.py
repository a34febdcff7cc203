"""Real-time feed of a scene file (``edge.scene/v1``) standing in for a camera and sensors.

Samples are released when their time comes (relative to the file's first sample), restamped on
the daemon clock, and fed to the lesson; with ``loop`` the file starts over at its end. This is
how the demo shows a live class with audio, heart rate and environment without hardware.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from pathlib import Path

from sensors import SourceError
from sensors.scene import SceneSource

from .clock import DaemonClock
from .heartbeat import Heartbeats
from .lessons import LessonRunner
from .ratelimit import RateLimitedLog

__all__ = ["SceneFeed"]

log = logging.getLogger(__name__)

_RETRY_S = 5.0


class SceneFeed:
    """Feeds the scene at ``path`` as stream ``stream`` of ``runner`` until ``stop`` is set."""

    def __init__(self, stream: str, path: str | Path, loop: bool, clock: DaemonClock,
                 runner: LessonRunner, heartbeats: Heartbeats, stop: threading.Event):
        self.stream = stream
        self.path = Path(path)
        self.loop = loop
        self.clock = clock
        self.runner = runner
        self.heartbeats = heartbeats
        self.stop = stop
        self.name = f"scene:{stream}"
        self.errors = RateLimitedLog(log)
        self.samples = 0

    def run(self) -> None:
        """Play the file (again and again with ``loop``) until stopped."""
        while not self.stop.is_set():
            self.heartbeats.beat(self.name)
            try:
                self._play()
                self.errors.ok(self.stream)
            except SourceError as exc:  # the file was edited or removed under us
                self.errors.warning(self.stream, "scene %s: %s; retrying", self.stream, exc)
                self._sleep(_RETRY_S)
                continue
            if not self.loop:
                log.info("scene %s: %s ended (loop = false)", self.stream, self.path)
                break
        self.heartbeats.forget(self.name)

    def _play(self) -> None:
        started, first_t = time.monotonic(), None
        with SceneSource(self.path) as source:
            for sample in source:
                first_t = sample.t if first_t is None else first_t
                if not self._sleep(started + (sample.t - first_t) - time.monotonic()):
                    return
                self.runner.feed(self.stream, replace(sample, t=self.clock.now()))
                self.samples += 1

    def _sleep(self, seconds: float) -> bool:
        """Wait ``seconds`` while beating; False when the daemon is stopping."""
        return self.heartbeats.sleep(self.name, seconds, self.stop)
