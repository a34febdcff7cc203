"""QaEngine: the ``qa`` block (question-answer exchanges, wait time) of windows and lessons.

Turns the audio feature stream and the students' standing into timed segments for
:func:`edge.metrics.classroom.exchanges.find_exchanges`. Teacher speech comes from the teacher channel
when the source has one (non-teacher room speech is then a student's). With one room microphone
the rule is the S-T engine's: room speech is a student's while a student stands, else the
teacher's. Standing up is a student response in both cases. Segments are times only, kept in
memory for the lesson; nothing per person.

A window reports the events that became known in it, so the windows of a lesson add up to
the lesson's counts.
"""

from __future__ import annotations

from collections.abc import Callable

from sensors.samples import AudioFeatures, EnvironmentSample, HeartRateSample

from edge.config.metrics import ClassroomConfig
from edge.metrics.base import EngineResult
from edge.tracking.people import TrackedPerson
from edge.metrics.classroom.exchanges import QaEvent, QaRules, Segment, find_exchanges, qa_metrics

__all__ = ["QaEngine", "qa_rules"]

_JOIN_S = 0.05  # spans closer than this (rounding of sample times) are one segment


def qa_rules(cfg: ClassroomConfig) -> QaRules:
    """The Q&A thresholds of the classroom config."""
    return QaRules(min_pause_s=cfg.qa_min_pause_s, min_turn_s=cfg.qa_min_turn_s,
                   answer_within_s=cfg.qa_answer_within_s, min_answer_s=cfg.qa_min_answer_s,
                   rowe_wait_s=cfg.qa_rowe_wait_s)


def _extend(segments: list[Segment], start: float, end: float) -> None:
    if segments and start - segments[-1].end <= _JOIN_S:
        segments[-1] = Segment(segments[-1].start, max(end, segments[-1].end))
    else:
        segments.append(Segment(start, end))


class QaEngine:
    """Exchanges, unanswered questions, student-initiated talk and wait times."""

    name = "qa"

    def __init__(self, cfg: ClassroomConfig,
                 students_standing: Callable[[], int] | None = None) -> None:
        """``students_standing``: students standing in the frame being fed (the classroom
        engine's, which sees each frame first); None = never known."""
        self.cfg = cfg
        self.rules = qa_rules(cfg)
        self.students_standing = students_standing
        self._teacher: list[Segment] = []
        self._responses: list[Segment] = []  # student speech
        self._stands: list[Segment] = []
        self._standing = False
        self._last_frame: float | None = None
        self._teacher_channel = False
        self._had_audio = self._window_audio = False
        self._reported: set[tuple[str, float]] = set()

    def on_people(self, t: float, people: list[TrackedPerson], size: tuple[int, int]) -> None:
        """Extend the current stand segment while a student stands."""
        standing = self.students_standing is not None and self.students_standing() > 0
        if standing:
            start = self._last_frame if self._standing and self._last_frame is not None else t
            _extend(self._stands, start, t)
        self._standing, self._last_frame = standing, t

    def on_audio(self, sample: AudioFeatures) -> None:
        """Add the span to the teacher's or the students' speech."""
        if sample.duration <= 0:
            return
        self._had_audio = self._window_audio = True
        threshold = self.cfg.speech_threshold
        end = sample.t + sample.duration
        if sample.teacher_speech is not None:
            self._teacher_channel = True
            if sample.teacher_speech >= threshold:
                _extend(self._teacher, sample.t, end)
            elif sample.speech >= threshold:
                _extend(self._responses, sample.t, end)
        elif sample.speech >= threshold:
            _extend(self._responses if self._standing else self._teacher, sample.t, end)

    def on_heart_rate(self, sample: HeartRateSample) -> None:
        """Not used."""

    def on_environment(self, sample: EnvironmentSample) -> None:
        """Not used."""

    def _events(self) -> list[QaEvent]:
        return find_exchanges(self._teacher, self._responses + self._stands, self.rules)

    def _result(self, events: list[QaEvent]) -> EngineResult:
        source = "teacher_channel" if self._teacher_channel else "room_and_standing"
        return EngineResult(n=None, metrics={"qa": qa_metrics(events, self.rules, source)})

    def close_window(self, start: float, end: float) -> EngineResult | None:
        """Events that became known before ``end`` and were not reported yet; None without audio."""
        fresh = [ev for ev in self._events()
                 if ev.at < end and (ev.kind, round(ev.at, 3)) not in self._reported]
        self._reported.update((ev.kind, round(ev.at, 3)) for ev in fresh)
        heard, self._window_audio = self._window_audio, False
        return self._result(fresh) if heard or fresh else None

    def close_lesson(self, start: float, end: float) -> EngineResult | None:
        """Every event of the lesson; None when the lesson had no audio."""
        return self._result(self._events()) if self._had_audio else None
