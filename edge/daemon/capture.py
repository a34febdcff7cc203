"""Per-camera capture loop: keep the latest frame in a one-slot buffer, survive lost sources.

Live cameras (RTSP/HTTP/USB) deliver frames as they come; files and folders (demo, tests) are
paced to their media time, so a video plays in real time like a camera would. When a source
fails or vanishes the loop logs one line (rate-limited), waits with exponential backoff and
jitter, and reopens it; the first good frame resets the backoff.
"""

from __future__ import annotations

import logging
import random
import threading
import time

from edge.config import CameraConfig
from edge.live import LiveState
from sensors import SourceError, open_source
from sensors.camera import CameraSource, is_camera_spec
from sensors.samples import Frame

from .clock import DaemonClock
from .frame_slot import FrameSlot, StampedFrame
from .heartbeat import Heartbeats
from .ratelimit import RateLimitedLog

__all__ = ["BACKOFF_CAP_S", "BACKOFF_FIRST_S", "CAPTURE_HEADROOM", "CaptureLoop"]

log = logging.getLogger(__name__)

# Frames are decoded at this multiple of analyse_fps: the analyser always finds a fresh frame,
# and the skipped count shows how far the model lags behind; the rest are grabbed, not decoded.
CAPTURE_HEADROOM = 2.0
BACKOFF_FIRST_S = 0.5
BACKOFF_CAP_S = 60.0
_BEAT_S = 1.0  # longest wait between heartbeats while pacing or backing off


class CaptureLoop:
    """Reads camera ``camera_id`` into ``slot`` until ``stop`` is set (run it in a thread).

    :param backoff_cap_s: longest wait between reconnection attempts.
    """

    def __init__(self, camera_id: str, config: CameraConfig, slot: FrameSlot, clock: DaemonClock,
                 live: LiveState, heartbeats: Heartbeats, stop: threading.Event, *,
                 errors: RateLimitedLog | None = None, backoff_cap_s: float = BACKOFF_CAP_S):
        self.camera_id = camera_id
        self.config = config
        self.slot = slot
        self.clock = clock
        self.live = live
        self.heartbeats = heartbeats
        self.stop = stop
        self.errors = errors or RateLimitedLog(log)
        self.backoff_cap_s = backoff_cap_s
        self.name = f"capture:{camera_id}"
        self.reconnects = 0
        self._failures = 0

    def run(self) -> None:
        """Capture, reconnecting after failures, until stopped."""
        fps = self.config.analyse_fps * CAPTURE_HEADROOM
        live_camera = is_camera_spec(self.config.source)
        while not self.stop.is_set():
            self.heartbeats.beat(self.name)
            self.live.update_camera(self.camera_id, state="connecting")
            try:
                if live_camera:
                    self._stream(CameraSource(self.config.source, fps=fps))
                else:
                    self._play(fps)
                    if not self.config.loop and not self.stop.is_set():
                        log.info("camera %s: %s ended (loop = false); capture stops",
                                 self.camera_id, self.config.source)
                        break
                    continue
            except SourceError as exc:
                self._failed(str(exc))
            except Exception as exc:  # noqa: BLE001 - a broken backend must not end the daemon
                self._failed(f"{type(exc).__name__}: {exc}")
            self._wait(self._next_delay())
        self.slot.clear()
        self.live.update_camera(self.camera_id, state="unreachable")
        self.heartbeats.forget(self.name)

    def _stream(self, camera: CameraSource) -> None:
        """A live camera until it fails (its iterator raises SourceError when frames stop)."""
        camera.open()
        try:
            for frame in camera:
                self._deliver(frame)
                if self.stop.is_set():
                    return
        finally:
            camera.close()

    def _play(self, fps: float) -> None:
        """A file or folder paced to its media time (``t`` of its frames)."""
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
                    self.stop.wait(min(due, _BEAT_S))
                if self.stop.is_set():
                    return
                self._deliver(frame)

    def _deliver(self, frame: Frame) -> None:
        self.heartbeats.beat(self.name)
        self.slot.put(StampedFrame(self.clock.now(), frame))
        if self._failures:
            self._failures = 0
            if self.errors.ok(self.camera_id):
                log.info("camera %s: frames again", self.camera_id)
        self.live.update_camera(self.camera_id, state="streaming")

    def _failed(self, problem: str) -> None:
        self._failures += 1
        self.reconnects += 1
        self.slot.clear()
        self.live.update_camera(self.camera_id, state="unreachable")
        self.errors.warning(self.camera_id, "camera %s: %s; retrying", self.camera_id,
                            problem)

    def _next_delay(self) -> float:
        base = min(self.backoff_cap_s, BACKOFF_FIRST_S * 2 ** max(0, self._failures - 1))
        return base * random.uniform(0.8, 1.2)  # jitter: 200 cameras must not retry in step

    def _wait(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.stop.is_set() and (left := deadline - time.monotonic()) > 0:
            self.heartbeats.beat(self.name)
            self.stop.wait(min(left, _BEAT_S))
