"""One lesson: samples in, gated window and lesson records (SPEC 5 replay output) out.

``LessonSession`` owns the tracker, the role assigner and the metric engines of one lesson, cuts
time into tumbling windows of ``window.seconds`` from the lesson start, and passes every record
through the privacy gate. Lesson boundaries come from the caller: the whole input (replay),
explicit start/finish (the teacher's page), or the timetable via :func:`lesson_at`, and from
time itself: samples more than ``window.max_gap_s`` apart (a scene or sensor clock jump) end
the lesson at the last sample and start a new one, so a jump writes no empty windows. Sample
times must be finite and within :data:`MAX_TIME` of 0 (unix time or seconds from a start).
"""

from __future__ import annotations

import math
from datetime import datetime, time, timedelta
from typing import Any, Protocol, runtime_checkable

from sensors.samples import (
    MAX_TIME,
    AudioFeatures,
    EnvironmentSample,
    HeartRateSample,
    PoseSample,
    Sample,
    StationSample,
)

from edge.alerts import AlertSource, alert_record
from edge.metrics.audio.metrics import AudioEngine
from edge.metrics.classroom import ClassroomEngine
from edge.metrics.classroom.qa_engine import QaEngine
from edge.config import EdgeConfig, ZonesConfig
from edge.config.sources import TimetableEntry
from edge.metrics.base import MetricEngine
from edge.metrics.environment import EnvironmentEngine
from edge.privacy.gate import aggregate_record
from edge.tracking.roles import RoleAssigner
from edge.metrics.classroom.st import STEngine
from edge.tracking.tracker import Tracker
from edge.geometry.zones import ZoneGeometry

__all__ = ["LessonSession", "StationSink", "TimeError", "engines_for_mode", "lesson_at"]

_EPS = 1e-6


class TimeError(ValueError):
    """A sample time that is not finite or is out of range."""


@runtime_checkable
class StationSink(Protocol):
    """An engine that counts repetitions on the station loop's frames (the PE engine)."""

    def on_stations(self, sample: StationSample) -> None:
        """One station-loop frame: each station's exerciser, or None."""
        ...


def engines_for_mode(
    mode: str, config: EdgeConfig, zones: ZonesConfig | None, station_feed: bool = False
) -> list[MetricEngine]:
    """The metric engines of a lesson in ``mode`` ("classroom" or "pe"); ``station_feed``: PE
    stations are counted from :class:`StationSample` only, not from the overview's people."""
    if mode == "classroom":
        classroom = ClassroomEngine(config.classroom, zones)
        # S-T without a teacher microphone asks whether a student stands to answer: the classroom
        # engine comes first in the list, so it has seen each frame when the S-T engine does.
        return [
            classroom,
            AudioEngine(config.classroom),
            STEngine(config.classroom, zones, students_standing=classroom.students_standing),
            QaEngine(config.classroom, students_standing=classroom.students_standing),
            EnvironmentEngine(config.environment),
        ]
    if mode == "pe":
        from edge.metrics.pe.engine import PEEngine  # imported here: classroom lessons never load PE code

        return [PEEngine(config, zones, station_feed), EnvironmentEngine(config.environment)]
    raise ValueError(f"unknown mode {mode!r} (expected 'classroom' or 'pe')")


class LessonSession:
    """Feeds one lesson's samples to its engines and yields gated records.

    :param config: the device configuration (windows, thresholds, privacy.min_group).
    :param mode: "classroom" or "pe".
    :param zones: calibrated zones; default ``config.zones`` (a scene header may bring its own).
    :param start: lesson start on the samples' clock; default the first sample's time.
    :param station_feed: PE stations are counted from the :class:`StationSample` of a station
        loop (the daemon's cameras), not from the overview's people (replay, scenes).
    """

    def __init__(
        self,
        config: EdgeConfig,
        mode: str,
        zones: ZonesConfig | None = None,
        start: float | None = None,
        station_feed: bool = False,
    ) -> None:
        self.config = config
        self.mode = mode
        self.station_feed = station_feed
        self.zones = zones if zones is not None else config.zones
        self._begin(start)

    def _begin(self, start: float | None) -> None:
        """Fresh engines, tracker and roles: a lesson's state starts empty."""
        config = self.config
        self.engines = engines_for_mode(self.mode, config, self.zones, self.station_feed)
        self.tracker = Tracker.from_config(config.classroom)
        self.roles = RoleAssigner(
            self.zones,
            config.classroom.kp_min_score,
            config.classroom.track_max_missed_s,
            front_heuristic=self.mode == "classroom",  # in a gym every student stands, legs in view
        )
        self.start = start
        self._window_start = start
        self._last_t: float | None = None
        self._frame_dt = 0.0
        self._finished = False

    def set_zones(self, zones: ZonesConfig) -> bool:
        """Use ``zones`` from the next frame on (roles, teacher and board zones, floor) without
        losing anything accumulated. False when a part keeps the lesson's start geometry (PE
        stations and floor: counters are tied to them) until the next lesson."""
        live = True
        for part in (self.roles, *self.engines):
            geometry = getattr(part, "geometry", None)
            if isinstance(geometry, ZoneGeometry):
                geometry.set(zones)
            elif getattr(part, "name", None) == "pe":
                live = False
        return live

    def feed(self, sample: Sample) -> list[dict[str, Any]]:
        """Process one sample (times must not go back); returns the records of windows it closed,
        then the ``alert`` records (edge.alerts) of alerts the sample raised.

        Samples before the lesson start are ignored. A sample more than ``window.max_gap_s``
        after the previous one ends this lesson (its records are returned) and starts the next.

        :raises TimeError: for a time that is not finite or beyond :data:`MAX_TIME`.
        """
        if self._finished:
            raise RuntimeError("this lesson has finished; start a new LessonSession")
        if not math.isfinite(sample.t) or abs(sample.t) > MAX_TIME:
            raise TimeError(f"sample time {sample.t!r} is not a finite time within {MAX_TIME:g} s")
        records: list[dict[str, Any]] = []
        if self._last_t is not None and sample.t - self._last_t > self.config.window.max_gap_s:
            records = self.finish()
            self._begin(sample.t)
        if self.start is None:
            self.start = self._window_start = sample.t
        if sample.t < self.start:
            return records
        records += self._close_windows_until(sample.t)
        if isinstance(sample, PoseSample):
            if self._last_t is not None and sample.t > self._last_t:
                self._frame_dt = sample.t - self._last_t
            people = self.roles.assign(sample.t, self.tracker.update(sample.t, sample.people))
            for engine in self.engines:
                engine.on_people(sample.t, people, sample.size)
        elif isinstance(sample, AudioFeatures):
            for engine in self.engines:
                engine.on_audio(sample)
        elif isinstance(sample, HeartRateSample):
            for engine in self.engines:
                engine.on_heart_rate(sample)
        elif isinstance(sample, EnvironmentSample):
            for engine in self.engines:
                engine.on_environment(sample)
        elif isinstance(sample, StationSample):
            for engine in self.engines:
                if isinstance(engine, StationSink):
                    engine.on_stations(sample)
        self._last_t = sample.t if self._last_t is None else max(self._last_t, sample.t)
        for engine in self.engines:
            if isinstance(engine, AlertSource):
                records += [alert_record(a, self.mode) for a in engine.take_alerts()]
        return records

    def finish(self, end_t: float | None = None) -> list[dict[str, Any]]:
        """End the lesson at ``end_t`` (default: one frame after the last sample).

        Returns the last (possibly partial) window and the lesson record. A lesson that never
        received a sample returns nothing.
        """
        if self._finished:
            raise RuntimeError("this lesson has already finished")
        self._finished = True
        if self.start is None or self._last_t is None:
            return []
        end = end_t if end_t is not None else self._last_t + self._frame_dt
        records = self._close_windows_until(end)
        if end > self._window_start + _EPS:
            records += self._close_window(self._window_start, end)
        results = [r for e in self.engines if (r := e.close_lesson(self.start, end)) is not None]
        if results:
            records.append(self._record("lesson", self.start, end, results))
        return records

    def _close_windows_until(self, t: float) -> list[dict[str, Any]]:
        records = []
        length = self.config.window.seconds
        while t >= self._window_start + length - _EPS:
            records += self._close_window(self._window_start, self._window_start + length)
            self._window_start += length
        return records

    def _close_window(self, start: float, end: float) -> list[dict[str, Any]]:
        results = [r for e in self.engines if (r := e.close_window(start, end)) is not None]
        return [self._record("window", start, end, results)] if results else []

    def _record(self, kind: str, start: float, end: float, results: list) -> dict[str, Any]:
        return aggregate_record(kind, self.mode, start, end, results, self.config.privacy.min_group)


def lesson_at(when: datetime, timetable: list[TimetableEntry]) -> tuple[datetime, datetime] | None:
    """The timetabled lesson (start, end) that ``when`` falls in, or None between lessons."""
    for entry in timetable:
        if when.isoweekday() not in entry.weekdays:
            continue
        start = datetime.combine(when.date(), time.fromisoformat(entry.start), when.tzinfo)
        end = datetime.combine(when.date(), time.fromisoformat(entry.end), when.tzinfo)
        if end <= start:  # a lesson running past midnight
            end += timedelta(days=1)
        if start <= when < end:
            return start, end
    return None
