"""S-T analysis (SPEC 4.1): code every interval T (teacher transmitting) or S, then Rt, Ch, type.

An interval is T when the teacher speaks for at least ``st_teacher_share`` of it, or stands at
the board writing for that share of its frames. Teacher speech comes from the teacher channel
(``teacher_speech``) when the source has one. Without it, room speech is taken as the teacher's
only in an interval where no student stood to answer (someone standing for ``stand_hold_s`` or
more, from the classroom engine's stand states): a single room microphone cannot tell voices
apart, but a standing student is the one talking. Discussion at the desks still codes T.
Intervals are laid end to end from the lesson start; a last partial interval is coded when it
covers at least half an interval. Without any audio in the lesson the engine reports nothing
(no source), never an all-S lesson.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise

from sensors.samples import AudioFeatures, EnvironmentSample, HeartRateSample

from edge.metrics.classroom.teacher import writing_at_board
from edge.config.metrics import ClassroomConfig
from edge.config.zones import ZonesConfig
from edge.metrics.base import EngineResult
from edge.tracking.people import TrackedPerson
from edge.geometry.zones import ZoneGeometry

__all__ = ["STEngine", "lesson_type", "st_summary"]

_EPS = 1e-6


def lesson_type(rt: float, ch: float) -> str:
    """SPEC 4.1: practice (Rt <= 0.3), lecture (Rt >= 0.7), dialogue (Ch >= 0.4), else mixed."""
    if rt <= 0.3:
        return "practice"
    if rt >= 0.7:
        return "lecture"
    return "dialogue" if ch >= 0.4 else "mixed"


def st_summary(codes: str) -> dict:
    """``{"samples", "rt", "ch", "lesson_type"}`` of a T/S code string (None values if empty)."""
    n = len(codes)
    if n == 0:
        return {"samples": "", "rt": None, "ch": None, "lesson_type": None}
    runs = 1 + sum(a != b for a, b in pairwise(codes))
    rt, ch = codes.count("T") / n, (runs - 1) / n
    return {"samples": codes, "rt": rt, "ch": ch, "lesson_type": lesson_type(rt, ch)}


class STEngine:
    """Codes S-T intervals from audio features and the teacher's board writing."""

    name = "st"

    def __init__(
        self,
        cfg: ClassroomConfig,
        zones: ZonesConfig | None = None,
        students_standing: Callable[[], int] | None = None,
    ) -> None:
        """``students_standing``: how many students stand in the frame being fed (from the
        classroom engine, called in :meth:`on_people`); None = never known."""
        self.cfg = cfg
        self.geometry = ZoneGeometry(zones)
        self.students_standing = students_standing
        # (t, duration, speaking, heard on the room microphone only)
        self._speech: list[tuple[float, float, bool, bool]] = []
        # (t, teacher writing at the board, a student standing)
        self._frames: list[tuple[float, bool, bool]] = []
        self._anchor: float | None = None
        self._coded = 0  # intervals coded so far
        self._codes = ""
        self._had_audio = False
        self._window_audio = False

    def on_people(self, t: float, people: list[TrackedPerson], size: tuple[int, int]) -> None:
        """Note whether the teacher is writing at the board and whether a student stands."""
        writing = any(writing_at_board(p, self.geometry, self.cfg) for p in people)
        standing = self.students_standing is not None and self.students_standing() > 0
        self._frames.append((t, writing, standing))

    def on_audio(self, sample: AudioFeatures) -> None:
        """Note whether the teacher speaks in this audio span."""
        self._had_audio = self._window_audio = True
        room_only = sample.teacher_speech is None
        level = sample.speech if room_only else sample.teacher_speech
        self._speech.append(
            (sample.t, sample.duration, level >= self.cfg.speech_threshold, room_only)
        )

    def on_heart_rate(self, sample: HeartRateSample) -> None:
        """Not used."""

    def on_environment(self, sample: EnvironmentSample) -> None:
        """Not used."""

    def close_window(self, start: float, end: float) -> EngineResult | None:
        """Codes of the intervals that ended in this window; None when no audio came in it."""
        codes = self._code_until(start, end, partial=False)
        heard, self._window_audio = self._window_audio, False
        return EngineResult(n=None, metrics={"st": st_summary(codes)}) if heard else None

    def close_lesson(self, start: float, end: float) -> EngineResult | None:
        """The lesson's S-T samples, Rt, Ch and type; None without audio."""
        self._code_until(start, end, partial=True)
        return (
            EngineResult(n=None, metrics={"st": st_summary(self._codes)})
            if self._had_audio
            else None
        )

    def _code_until(self, start: float, end: float, partial: bool) -> str:
        if self._anchor is None:
            self._anchor = start
        step = self.cfg.st_interval_s
        new = ""
        while True:
            a = self._anchor + self._coded * step
            b = a + step
            if b > end + _EPS and not (partial and end - a >= step / 2 - _EPS):
                break
            new += self._code(a, min(b, end))
            self._coded += 1
        self._codes += new
        return new

    def _code(self, a: float, b: float) -> str:
        """T or S for [a, b), "" when nothing was heard or seen in it; consumes its evidence."""
        speech = [(d, on, room) for t, d, on, room in self._speech if a <= t < b]
        frames = [(writing, standing) for t, writing, standing in self._frames if a <= t < b]
        self._speech = [s for s in self._speech if s[0] >= b]
        self._frames = [f for f in self._frames if f[0] >= b]
        if not speech and not frames:
            return ""  # not observed (inputs paused): no sample rather than a guessed S
        share = self.cfg.st_teacher_share
        # Frames are evenly spread over the interval: the standing frames' share of its length.
        stood_s = (b - a) * sum(st for _, st in frames) / len(frames) if frames else 0.0
        answered = stood_s >= self.cfg.stand_hold_s - _EPS
        heard = sum(d for d, _, _ in speech)
        talk = sum(d for d, on, room in speech if on and not (room and answered))
        if heard > 0 and talk / heard >= share - _EPS:
            return "T"
        if frames and sum(w for w, _ in frames) / len(frames) >= share - _EPS:
            return "T"
        return "S"
