"""ClassroomEngine: SPEC 4.1 classroom metrics per window and per lesson.

Per-track state (raise and stand machines, last pose) lives here in memory only; the results
hold aggregates only, never a track id or a per-student series. Pose features are computed for
all students of a frame at once (edge.perception.features); only the small state machines run per student.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field

import numpy as np

from sensors.samples import AudioFeatures, EnvironmentSample, HeartRateSample

from edge.config.metrics import ClassroomConfig
from edge.config.zones import ZonesConfig
from edge.metrics.base import EngineResult
from edge.tracking.people import TrackedPerson
from edge.privacy.records import RATE_KEYS as RECORD_RATE_KEYS
from edge.perception.features import Head, body_scales, head_states, legs_standing, raised_arms, shoulder_mids
from edge.geometry.zones import ZoneGeometry
from edge.metrics.classroom.events import HoldEvent, StandState
from edge.metrics.classroom.teacher import TeacherObserver, TeacherTally

__all__ = ["RATE_KEYS", "ClassroomEngine"]

# Per-person-derived values nulled for small groups: defined once, with the record schema.
RATE_KEYS = RECORD_RATE_KEYS["classroom"]
_DEFAULT_DT = 0.5  # frame interval assumed until two frames have been seen


@dataclass
class _Student:
    """Memory-only state of one student track."""

    raise_: HoldEvent
    stand: StandState
    kp: np.ndarray | None = None
    t: float = 0.0


@dataclass
class _Tally:
    """Sums over one window or one lesson."""

    counts: Counter = field(default_factory=Counter)  # students present per frame -> frames
    raises: int = 0
    raisers: set[int] = field(default_factory=set)
    standing: int = 0  # standing students summed over frames
    stand_events: int = 0
    head_frames: int = 0
    head_up: int = 0
    writing: int = 0
    motion: float = 0.0
    motion_n: int = 0
    teacher: TeacherTally = field(default_factory=TeacherTally)


class ClassroomEngine:
    """Hand raises, standing, head up / writing, activity and the teacher's movements."""

    name = "classroom"

    def __init__(self, cfg: ClassroomConfig, zones: ZonesConfig | None = None) -> None:
        self.cfg = cfg
        self.geometry = ZoneGeometry(zones)
        self._teacher = TeacherObserver(self.geometry, cfg)
        self._students: dict[int, _Student] = {}
        self._intervals: deque[float] = deque(maxlen=15)
        self._last_t: float | None = None
        self._window = _Tally()
        self._lesson = _Tally()
        self._standing_now = 0

    def students_standing(self) -> int:
        """Students standing in the latest frame (the S-T engine's "a student answers")."""
        return self._standing_now

    def on_people(self, t: float, people: list[TrackedPerson], size: tuple[int, int]) -> None:
        """One frame: update every student's state machines and the window/lesson sums."""
        if self._last_t is not None and t > self._last_t:
            self._intervals.append(t - self._last_t)
        self._last_t = t
        tallies = (self._window, self._lesson)
        students = []
        for person in people:
            if person.role == "teacher":
                self._students.pop(person.track, None)
                self._teacher.observe(person, [tl.teacher for tl in tallies], size[0])
            else:
                students.append(person)
        dt = float(np.median(self._intervals)) if self._intervals else _DEFAULT_DT
        if students:
            self._observe_students(t, dt, students)
        seen = {p.track for p in students}
        for track, state in self._students.items():
            if track not in seen:  # missed by the detector: not judged, not a dropout
                state.raise_.observe(t, None, dt)
        # A student missed by the detector for a frame or two is still in the room.
        self._students = {
            k: s for k, s in self._students.items() if t - s.t <= self.cfg.track_max_missed_s
        }
        standing = sum(s.stand.standing for s in self._students.values() if s.t == t)
        self._standing_now = standing
        for tally in tallies:
            tally.counts[len(self._students)] += 1
            tally.standing += standing

    def _observe_students(self, t: float, dt: float, students: list[TrackedPerson]) -> None:
        cfg = self.cfg
        kp = np.stack([p.kp for p in students])
        scale = body_scales(kp, cfg.kp_min_score)
        raised, arm_known = raised_arms(kp, scale, cfg.kp_min_score, cfg.hand_raise_margin)
        head, head_known = head_states(
            kp, scale, cfg.kp_min_score, cfg.head_up_margin, cfg.writing_wrist_below
        )
        mid, mid_known = shoulder_mids(kp, cfg.kp_min_score)
        legs, legs_known = legs_standing(kp, scale, cfg.kp_min_score)
        states = [self._state(p.track) for p in students]
        motion = self._motion(t, states, kp, scale)
        tallies = (self._window, self._lesson)
        for i, (person, state) in enumerate(zip(students, states)):
            raise_event = state.raise_.observe(t, bool(raised[i]) if arm_known[i] else None, dt)
            stand_event = False
            if mid_known[i] and np.isfinite(scale[i]):
                stand_event = state.stand.observe(
                    t, float(mid[i, 1]), float(scale[i]), bool(legs[i]) if legs_known[i] else None
                )
            for tally in tallies:
                if raise_event:
                    tally.raises += 1
                    tally.raisers.add(person.track)
                tally.stand_events += stand_event
            state.kp, state.t = kp[i], t
        for tally in tallies:
            tally.head_frames += int(head_known.sum())
            tally.head_up += int((head_known & (head == Head.UP)).sum())
            tally.writing += int((head_known & (head == Head.WRITING)).sum())
            tally.motion += float(motion.sum())
            tally.motion_n += len(motion)

    def _state(self, track: int) -> _Student:
        state = self._students.get(track)
        if state is None:
            cfg = self.cfg
            state = _Student(
                raise_=HoldEvent(cfg.hand_raise_hold_s, cfg.hand_raise_gap_s),
                stand=StandState(cfg.stand_rise, cfg.sit_rise, cfg.stand_hold_s),
            )
            self._students[track] = state
        return state

    def _motion(
        self, t: float, states: list[_Student], kp: np.ndarray, scale: np.ndarray
    ) -> np.ndarray:
        """Mean keypoint speed of each student since their previous frame, in scales per second."""
        rows = [
            i
            for i, s in enumerate(states)
            if s.kp is not None and s.t < t and np.isfinite(scale[i])
        ]
        if not rows:
            return np.zeros(0)
        prev = np.stack([states[i].kp for i in rows])
        cur = kp[rows]
        both = (prev[:, :, 2] >= self.cfg.kp_min_score) & (cur[:, :, 2] >= self.cfg.kp_min_score)
        count = both.sum(axis=1)
        dist = np.linalg.norm(cur[:, :, :2] - prev[:, :, :2], axis=-1)
        elapsed = np.array([t - states[i].t for i in rows])
        speed = (dist * both).sum(axis=1) / np.maximum(count, 1) / scale[rows] / elapsed
        return speed[count > 0]

    def on_audio(self, sample: AudioFeatures) -> None:
        """Audio is the audio and S-T engines' business."""

    def on_heart_rate(self, sample: HeartRateSample) -> None:
        """Not a classroom metric."""

    def on_environment(self, sample: EnvironmentSample) -> None:
        """Not a classroom metric."""

    def close_window(self, start: float, end: float) -> EngineResult | None:
        """Metrics of the window just ended; None when no frame arrived in it."""
        tally, self._window = self._window, _Tally()
        return self._result(tally, end - start)

    def close_lesson(self, start: float, end: float) -> EngineResult | None:
        """Metrics of the whole lesson; None when no frame arrived in it."""
        return self._result(self._lesson, end - start)

    def _result(self, tally: _Tally, seconds: float) -> EngineResult | None:
        frames = sum(tally.counts.values())
        if frames == 0:
            return None
        # Mode of the per-frame count; on a tie the larger count (missed detections only lower it).
        present = max(tally.counts.items(), key=lambda kv: (kv[1], kv[0]))[0]
        minutes = seconds / 60.0
        metrics = {
            "students_present": present,
            "hand_raises": tally.raises,
            "hand_raise_rate": tally.raises / present / minutes
            if present and minutes > 0
            else None,
            "participation": min(1.0, len(tally.raisers) / present) if present else None,
            "standing": tally.standing / frames,
            "stand_events": tally.stand_events,
            "head_up_rate": tally.head_up / tally.head_frames if tally.head_frames else None,
            "writing_rate": tally.writing / tally.head_frames if tally.head_frames else None,
            "activity_index": tally.motion / tally.motion_n if tally.motion_n else None,
            "teacher": tally.teacher.metrics(self.geometry),
        }
        return EngineResult(n=present, metrics=metrics, rate_keys=set(RATE_KEYS))
