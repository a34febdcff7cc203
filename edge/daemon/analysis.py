"""The one inference loop: runs the pose model on each camera's latest frame at its analyse_fps.

One loop (one model, one onnxruntime session) serves every camera, taking the camera that is due
next; a camera without a fresh frame is simply looked at again shortly. The model
(:class:`.pose_model.SharedPose`, which the calibration snapshot borrows) is loaded on first
use, after the web page is already up. Frames never outlive this loop's iteration, except the
latest one kept for the calibration snapshot.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field, replace

import numpy as np

from edge.lesson.live import LiveState

from .frame_slot import FrameSlot
from .heartbeat import Heartbeats
from .lessons import LessonRunner
from .pose_model import SharedPose
from .ratelimit import RateLimitedLog

__all__ = ["HEARTBEAT_NAME", "AnalysisLoop", "CameraLane"]

log = logging.getLogger(__name__)

HEARTBEAT_NAME = "inference"
_POLL_S = 0.05  # recheck of a camera that had no fresh frame
_IDLE_S = 0.25  # between lessons
_RATES_EVERY_S = 2.0


@dataclass
class CameraLane:
    """One camera as the inference loop sees it: its slot, schedule and counters."""

    camera_id: str
    slot: FrameSlot
    interval_s: float
    due: float = 0.0
    analysed: int = 0
    model_s: float = 0.0
    people: list[np.ndarray] = field(default_factory=list)
    _marks: tuple[float, int, int, float] = (0.0, 0, 0, 0.0)

    @property
    def skipped(self) -> int:
        """Frames captured that the model never saw (replaced in the slot while it was busy)."""
        return self.slot.skipped


class AnalysisLoop:
    """Pose estimation for ``lanes`` feeding ``runner`` until ``stop`` is set (run in a thread).

    :param pose: the pose step (loaded on first use).
    """

    def __init__(self, lanes: list[CameraLane], pose: SharedPose, runner: LessonRunner,
                 live: LiveState, heartbeats: Heartbeats, stop: threading.Event):
        self.lanes = lanes
        self.pose = pose
        self.runner = runner
        self.live = live
        self.heartbeats = heartbeats
        self.stop = stop
        self.errors = RateLimitedLog(log)
        self._next_rates = 0.0

    def run(self) -> None:
        """Analyse until stopped."""
        while not self.stop.is_set():
            self.heartbeats.beat(HEARTBEAT_NAME)
            self._publish_rates()
            if not self.runner.running:
                self.stop.wait(_IDLE_S)
                continue
            lane = min(self.lanes, key=lambda x: x.due)
            wait = lane.due - time.monotonic()
            if wait > 0:
                self.stop.wait(min(wait, 1.0))
                continue
            item = lane.slot.take(0)
            if item is None:
                lane.due = time.monotonic() + _POLL_S
                continue
            lane.due = max(lane.due + lane.interval_s, time.monotonic())
            self._analyse(lane, item.t, item.frame)
        self.heartbeats.forget(HEARTBEAT_NAME)

    def _analyse(self, lane: CameraLane, t: float, frame) -> None:
        try:
            sample, model_s = self.pose.sample(frame)
            lane.model_s += model_s
            lane.analysed += 1
            lane.people = [p.kp.copy() for p in sample.people]
            self.runner.feed(lane.camera_id, replace(sample, t=t))
            self.errors.ok(lane.camera_id)
        except Exception as exc:  # noqa: BLE001 - one bad frame or engine bug must not stop analysis
            self.errors.warning(lane.camera_id, "camera %s: analysis failed: %s: %s",
                                lane.camera_id, type(exc).__name__, exc)

    def _publish_rates(self) -> None:
        """Analysed/skipped fps and mean inference time per camera, every few seconds."""
        now = time.monotonic()
        if now < self._next_rates:
            return
        self._next_rates = now + _RATES_EVERY_S
        for lane in self.lanes:
            then, analysed, skipped, model_s = lane._marks
            lane._marks = (now, lane.analysed, lane.skipped, lane.model_s)
            if then == 0.0:
                continue
            span, frames = now - then, lane.analysed - analysed
            self.live.update_camera(
                lane.camera_id, fps_analysed=round(frames / span, 3),
                fps_skipped=round((lane.skipped - skipped) / span, 3),
                inference_ms=round(1000 * (lane.model_s - model_s) / frames, 1) if frames else 0.0,
            )
