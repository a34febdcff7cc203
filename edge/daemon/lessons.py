"""Lessons of the running daemon: start/end (page, timetable, demo), one session per stream.

Every pose stream (a camera, or a scene file standing in for one) has its own
:class:`~edge.lesson.session.LessonSession` in a lesson: people seen by two cameras cannot be matched
(and must not be re-identified), so each stream is tracked and summarised on its own. Records
are tagged with the stream's ``camera`` id (and ``demo: true`` on a demo node) and handed to
``emit`` (the store writer) in the order they closed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from edge.config import EdgeConfig, ZonesConfig
from edge.lesson.live import LessonConflict, LiveState
from edge.lesson.session import LessonSession, lesson_at
from sensors.samples import Sample
from edge.privacy.records import RecordDict

from .clock import DaemonClock

__all__ = ["LessonRunner", "StreamSettings"]

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class StreamSettings:
    """How one stream's sessions are built: config (a scene may bring its own age), zones, and
    whether a station loop feeds its PE stations (:class:`edge.lesson.session.LessonSession`)."""

    config: EdgeConfig
    zones: ZonesConfig
    station_feed: bool = False


class LessonRunner:
    """The current lesson across streams; the page's lesson control (:class:`edge.lesson.live.LessonControl`).

    The one owner of the lesson state: only it starts and ends the lesson shown by
    :class:`~edge.lesson.live.LiveState` (the store writer only adds the stored records to it).

    :param emit: receives each list of closed records (called with the runner's lock held, so
        records of one stream arrive in order; it must not block).
    """

    def __init__(self, config: EdgeConfig, streams: dict[str, StreamSettings], clock: DaemonClock,
                 live: LiveState, emit: Callable[[list[RecordDict]], None]):
        self.config = config
        self.mode = config.node.mode
        self.streams = dict(streams)
        self.clock = clock
        self.live = live
        self.emit = emit
        self._lock = threading.Lock()
        self._sessions: dict[str, LessonSession] | None = None
        self._timetabled: tuple[datetime, datetime] | None = None

    @property
    def running(self) -> bool:
        """Whether a lesson is running (samples are dropped between lessons)."""
        return self._sessions is not None

    # -- LessonControl ---------------------------------------------------------------------

    def start_lesson(self) -> None:
        """Start a lesson now. :raises LessonConflict: when one is running."""
        with self._lock:
            if self._sessions is not None:
                raise LessonConflict("a lesson is already running")
            start = self.clock.now()
            self._sessions = {
                stream: LessonSession(s.config, self.mode, s.zones, start=start,
                                      station_feed=s.station_feed)
                for stream, s in self.streams.items()
            }
            self.live.start_lesson(start)
            log.info("lesson started (%d stream(s))", len(self._sessions))

    def end_lesson(self) -> None:
        """End the lesson now: last partial windows and the lesson records are emitted.

        :raises LessonConflict: when no lesson is running.
        """
        with self._lock:
            if self._sessions is None:
                raise LessonConflict("no lesson is running")
            end = self.clock.now()
            sessions, self._sessions = self._sessions, None
            for stream, session in sessions.items():
                self._emit(stream, session.finish(end))
            # Ended here, by the owner, whether or not the lesson had data (one that got no
            # sample has no lesson record to end it on the page).
            self.live.end_lesson(end)
            log.info("lesson ended")

    # -- feeding ---------------------------------------------------------------------------

    def feed(self, stream: str, sample: Sample) -> None:
        """Give ``sample`` (already on the daemon clock) to its stream's session, if a lesson runs."""
        with self._lock:
            if self._sessions is None:
                return
            # One feeder thread per stream, stamping on one monotonic clock: times never go back.
            self._emit(stream, self._sessions[stream].feed(sample))

    def tick(self, when: datetime | None = None) -> None:
        """Apply the timetable: start a lesson when one is due, end it at its end time.

        A timetabled lesson the teacher ended early is not restarted in the same slot.
        """
        timetable = self.config.lessons.timetable
        if not timetable:
            return
        when = when or datetime.now().astimezone()
        slot = lesson_at(when, timetable)
        if self._timetabled is not None and slot != self._timetabled and self.running:
            self._try(self.end_lesson)
        if slot is not None and not self.running and slot != self._timetabled:
            self._try(self.start_lesson)
            self._timetabled = slot

    def set_zones(self, zones: ZonesConfig) -> None:
        """Calibrated zones (the page's save): for every stream, now and in the next lesson."""
        self.reconfigure(self.config, {k: replace(s, zones=zones) for k, s in self.streams.items()})

    def reconfigure(self, config: EdgeConfig, streams: dict[str, StreamSettings]) -> None:
        """A reloaded config: the running lesson goes on with the new zones from its next frame
        (thresholds and PE stations apply from the next lesson); streams not in ``streams``
        keep their settings."""
        with self._lock:
            self.config = config
            self.streams = {**self.streams, **{k: s for k, s in streams.items()
                                                if k in self.streams}}
            for stream, session in (self._sessions or {}).items():
                if not session.set_zones(self.streams[stream].zones):
                    log.info("stream %s: stations and floor apply from the next lesson", stream)

    def _try(self, action: Callable[[], None]) -> None:
        try:
            action()
        except LessonConflict:  # the page acted first: nothing to do
            pass

    def _emit(self, stream: str, records: list[RecordDict]) -> None:
        if not records:
            return
        for record in records:
            record["camera"] = stream
            if self.config.node.demo:
                record["demo"] = True
        self.emit(records)
