"""PE station loops: each camera's stations analysed at ``pe.station_fps``, beside the overview.

The overview (:mod:`.analysis`) sees a camera at its ``analyse_fps`` (2 by default), too slow to
count rope skips. In PE mode every camera also has a station loop: it takes the newest frame from
its own :class:`~.frame_slot.FrameSlot` (capture fills it beside the overview's; a frame not taken
in time is replaced, never queued, so capture never waits), runs
:class:`~edge.metrics.pe.stations.StationPose` for every station (BlazePose on the station's
crop, following the previous landmarks; an empty station is searched twice a second) and hands a
:class:`~sensors.samples.StationSample` to the lesson runner. The lesson's PE engine counts the
repetitions into windows and the lesson record; the overview's people then only say who is at a
station. The keypoints never leave this loop's iteration and the lesson's memory. The loop is the
feed ``station:<camera>`` in :class:`~edge.lesson.live.LiveState` (``/api/health``,
``/metrics``, MQTT ``health``): state, frames analysed, failures and analysed frames per second.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping

from edge.config.zones import StationConfig
from edge.lesson.live import LiveState
from edge.metrics.pe.stations import Refiner, StationPose
from sensors.samples import StationSample

from .frame_slot import FrameSlot, StampedFrame
from .heartbeat import BEAT_S, Heartbeats
from .lessons import LessonRunner
from .ratelimit import RateLimitedLog

__all__ = ["FrameRate", "StationLoop", "station_feed_name"]

log = logging.getLogger(__name__)

_IDLE_S = 0.25  # between lessons, or without stations
# An empty station is searched (three model runs) twice a second, not on every frame: someone
# stepping in is found within half a second, and an empty mat costs a tenth of an occupied one.
SEARCH_EVERY_S = 0.5
_RATES_EVERY_S = 2.0
# Frames a station loop may take ahead of its rate: capture thinned to station_fps delivers at
# uneven intervals (25 fps -> 15 fps alternates 40 and 80 ms), which a strict schedule would drop.
_BURST = 2.0


class FrameRate:
    """At most ``fps`` frames per second of frame time on average (a token bucket of
    :data:`_BURST` frames): ``due(t)`` says whether the frame of time ``t`` is taken."""

    def __init__(self, fps: float) -> None:
        self.fps = fps
        self._tokens, self._last_t = _BURST, float("-inf")

    def due(self, t: float) -> bool:
        """Whether to take the frame of time ``t`` (times must not go back)."""
        self._tokens = min(_BURST, self._tokens + (t - self._last_t) * self.fps)
        self._last_t = t
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True


def station_feed_name(camera_id: str) -> str:
    """The station loop's feed and heartbeat name."""
    return f"station:{camera_id}"


class StationLoop:
    """Camera ``camera_id``'s stations at up to ``fps`` frames/s, until ``stop`` (run in a thread).

    :param make_refiner: builds the top-down pose model; called when the first station frame is
        analysed (a camera without stations loads nothing).
    """

    def __init__(self, camera_id: str, slot: FrameSlot, stations: Mapping[str, StationConfig],
                 fps: float, make_refiner: Callable[[], Refiner], runner: LessonRunner,
                 live: LiveState, heartbeats: Heartbeats, stop: threading.Event):
        self.camera_id = camera_id
        self.name = station_feed_name(camera_id)
        self.slot = slot
        self.rate = FrameRate(fps)
        self.make_refiner = make_refiner
        self.runner, self.live, self.heartbeats, self.stop = runner, live, heartbeats, stop
        self.errors = RateLimitedLog(log)
        self.analysed = 0
        self.failures = 0
        self._refiner: Refiner | None = None
        self._stations = dict(stations)
        self._poses: dict[str, StationPose] | None = None  # built on use from _stations
        self._lock = threading.Lock()
        self._marks = (0.0, 0)
        self._state = "starting"

    def set_stations(self, stations: Mapping[str, StationConfig]) -> None:
        """New calibration (page save, reload): followed from the next frame (the lesson counts
        stations it did not start with from the next lesson)."""
        with self._lock:
            self._stations, self._poses = dict(stations), None

    def run(self) -> None:
        """Analyse until stopped; one failing frame is logged (once a minute) and skipped."""
        try:
            self._set_state("starting")
            while not self.stop.is_set():
                self.heartbeats.beat(self.name)
                self._publish_rate()
                if not self.runner.running or not self._stations:
                    self.stop.wait(_IDLE_S)
                    continue
                item = self.slot.take(BEAT_S / 2)
                if item is not None and self.rate.due(item.t):  # else faster than station_fps
                    self._analyse(item)
        except Exception:  # noqa: BLE001 - a bug here must not end the daemon
            log.exception("%s: stopped by an error", self.name)
        finally:
            self._set_state("stopped")
            self.heartbeats.forget(self.name)

    def _analyse(self, item: StampedFrame) -> None:
        try:
            poses = self._station_poses()
            sample = StationSample(item.t, {name: pose.update(item.frame.image, item.t)
                                            for name, pose in poses.items()})
            self.runner.feed(self.camera_id, sample)
            self.analysed += 1
            if self.errors.ok(self.name) or self._state != "running":
                log.info("%s: analysing %d station(s)", self.name, len(poses))
            self._set_state("running")  # the frame count on /metrics is never stale
        except Exception as exc:  # noqa: BLE001 - one bad frame or model error: next frame
            self.failures += 1
            self._set_state("retrying")
            self.errors.warning(self.name, "%s: analysis failed: %s: %s", self.name,
                                type(exc).__name__, exc)

    def _station_poses(self) -> dict[str, StationPose]:
        with self._lock:
            if self._poses is None:
                if self._refiner is None:
                    started = time.monotonic()
                    self._refiner = self.make_refiner()
                    log.info("%s: station model loaded in %.1f s", self.name,
                             time.monotonic() - started)
                self._poses = {name: StationPose(self._refiner, s.polygon, SEARCH_EVERY_S)
                               for name, s in self._stations.items()}
            return self._poses

    def _set_state(self, state: str, **rates: float) -> None:
        self._state = state
        self.live.update_feed(self.name, state=state, samples=self.analysed,
                              failures=self.failures, **rates)

    def _publish_rate(self) -> None:
        """Analysed frames per second over the last few seconds."""
        now = time.monotonic()
        then, analysed = self._marks
        if now - then < _RATES_EVERY_S:
            return
        self._marks = (now, self.analysed)
        if then:
            self._set_state(self._state, fps=round((self.analysed - analysed) / (now - then), 2))
