"""Per-camera capture into a one-slot buffer (the latest frame), surviving lost sources.

Live cameras (RTSP/HTTP/USB) run under :class:`sensors.camera_supervisor.CameraSupervisor`: its
state machine (connecting / streaming / stalled / unreachable), capped jittered backoff and
counters go into :class:`~edge.lesson.live.LiveState` (health, Prometheus, the systemd status line).
Files and folders (demo, tests) are played by :class:`FilePlayback`, paced to their media time
so a video plays in real time like a camera would; a file that cannot be read is retried with
the same :class:`~sensors.backoff.Backoff`. Each frame goes into every slot of the camera (the
overview's, and in PE mode the station loop's): putting never waits, so neither consumer can
slow capture.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from edge.config import CameraConfig
from edge.lesson.live import LiveState
from sensors import SourceError, open_source
from sensors.backoff import Backoff
from sensors.camera import CameraSource
from sensors.camera_supervisor import CameraStatus, CameraSupervisor
from sensors.samples import Frame

from .clock import DaemonClock
from .frame_slot import FrameSlot, StampedFrame
from .heartbeat import BEAT_S, Heartbeats
from .ratelimit import RateLimitedLog

__all__ = ["BACKOFF_FIRST_S", "CAPTURE_HEADROOM", "FilePlayback", "capture_fps", "report_camera",
           "supervise_camera"]

log = logging.getLogger(__name__)

# Frames are decoded at this multiple of analyse_fps: the analyser always finds a fresh frame,
# and the skipped count shows how far the model lags behind; the rest are grabbed, not decoded.
CAPTURE_HEADROOM = 2.0
BACKOFF_FIRST_S = 0.5
_LOST = ("stalled", "unreachable", "stopped")


def _heartbeat_name(camera_id: str) -> str:
    """The capture loop's name in :class:`Heartbeats`."""
    return f"capture:{camera_id}"


def capture_fps(config: CameraConfig, station_fps: float | None = None) -> float:
    """Frames per second to decode: :data:`CAPTURE_HEADROOM` times ``analyse_fps``, and at
    least ``station_fps`` when a station loop reads the camera too."""
    return max(config.analyse_fps * CAPTURE_HEADROOM, station_fps or 0.0)


def _sink(slots: Sequence[FrameSlot], clock: DaemonClock) -> Callable[[Frame], None]:
    """Frames into every slot, stamped on the daemon clock (each consumer takes the latest)."""

    def deliver(frame: Frame) -> None:
        item = StampedFrame(clock.now(), frame)
        for slot in slots:
            slot.put(item)

    return deliver


def _clear(slots: Sequence[FrameSlot]) -> None:
    for slot in slots:
        slot.clear()


def report_camera(live: LiveState, status: CameraStatus) -> None:
    """Copy a supervisor's state and counters into ``live``."""
    live.update_camera(status.id, state=status.state, frames=status.frames,
                       reconnects=status.reconnects, failures=status.failures)


def supervise_camera(camera_id: str, config: CameraConfig, slots: Sequence[FrameSlot],
                     clock: DaemonClock, live: LiveState, heartbeats: Heartbeats,
                     fps: float) -> CameraSupervisor:
    """A started :class:`CameraSupervisor` for live camera ``camera_id`` delivering about ``fps``
    frames/s into ``slots``; stop it with ``stop()``.

    State changes reach ``live`` at once; the frame counter between them is refreshed by the
    caller (:func:`report_camera` with ``supervisor.status()``).
    """
    name = _heartbeat_name(camera_id)

    def on_state(status: CameraStatus) -> None:
        if status.state in _LOST:
            _clear(slots)  # the analysers must not take a frame of a stream that is gone
        report_camera(live, status)
        if status.state == "stopped":
            heartbeats.forget(name)

    source = CameraSource(config.source, fps=fps)
    return CameraSupervisor(camera_id, source, _sink(slots, clock), on_state=on_state,
                            heartbeat=lambda: heartbeats.beat(name),
                            backoff=Backoff(initial_s=BACKOFF_FIRST_S),
                            heartbeat_s=BEAT_S).start()


class FilePlayback:
    """Plays file/folder camera ``camera_id`` at about ``fps`` frames/s into ``slots`` until
    ``stop`` is set (run it in a thread); with ``loop = false`` it ends with the file."""

    def __init__(self, camera_id: str, config: CameraConfig, slots: Sequence[FrameSlot],
                 clock: DaemonClock, live: LiveState, heartbeats: Heartbeats,
                 stop: threading.Event, fps: float):
        self.camera_id = camera_id
        self.config = config
        self.slots = list(slots)
        self.fps = fps
        self.deliver = _sink(self.slots, clock)
        self.live = live
        self.heartbeats = heartbeats
        self.stop = stop
        self.errors = RateLimitedLog(log)
        self.backoff = Backoff(initial_s=BACKOFF_FIRST_S)
        self.name = _heartbeat_name(camera_id)
        self.frames = 0
        self.failures = 0

    def run(self) -> None:
        """Play, retrying a failing file, until stopped (or the end, without loop)."""
        while not self.stop.is_set():
            self.heartbeats.beat(self.name)
            self.live.update_camera(self.camera_id, state="connecting")
            try:
                self._play(self.fps)
                if not self.config.loop and not self.stop.is_set():
                    log.info("camera %s: %s ended (loop = false); capture stops",
                             self.camera_id, self.config.source)
                    break
                continue
            except SourceError as exc:
                self._failed(str(exc))
            except Exception as exc:  # noqa: BLE001 - a broken decoder must not end the daemon
                self._failed(f"{type(exc).__name__}: {exc}")
            self._wait(self.backoff.next_delay())
        _clear(self.slots)
        self.live.update_camera(self.camera_id, state="stopped")
        self.heartbeats.forget(self.name)

    def _play(self, fps: float) -> None:
        """The file or folder paced to its media time (``t`` of its frames)."""
        with open_source(self.config.source, fps=fps, loop=self.config.loop) as source:
            started, first_t = time.monotonic(), None
            for frame in source:
                if not isinstance(frame, Frame):
                    raise SourceError(self.config.source, "is not a camera or video source")
                first_t = frame.t if first_t is None else first_t
                while not self.stop.is_set():
                    self.heartbeats.beat(self.name)
                    due = started + (frame.t - first_t) - time.monotonic()
                    if due <= 0:
                        break
                    self.stop.wait(min(due, BEAT_S))
                if self.stop.is_set():
                    return
                self._deliver(frame)

    def _deliver(self, frame: Frame) -> None:
        self.heartbeats.beat(self.name)
        self.deliver(frame)
        self.frames += 1
        self.backoff.reset()
        if self.errors.ok(self.camera_id):
            log.info("camera %s: frames again", self.camera_id)
        self.live.update_camera(self.camera_id, state="streaming", frames=self.frames)

    def _failed(self, problem: str) -> None:
        self.failures += 1
        _clear(self.slots)
        self.live.update_camera(self.camera_id, state="unreachable", failures=self.failures)
        self.errors.warning(self.camera_id, "camera %s: %s; retrying", self.camera_id, problem)

    def _wait(self, seconds: float) -> None:
        self.heartbeats.sleep(self.name, seconds, self.stop)
