"""The daemon's timetable: LessonRunner.tick starts and ends lessons at their times (the time
is passed in, nothing sleeps), per weekday, and respects a teacher who ended a lesson early."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

from scenegen import classroom_scene

from edge.config import EdgeConfig
from edge.daemon.lessons import LessonRunner, StreamSettings
from edge.lesson.live import LiveState

MONDAY = datetime(2025, 3, 3, tzinfo=timezone(timedelta(hours=8)))


@dataclass
class StepClock:
    """The runner's record clock, set by the test to the wall time it ticks with."""

    t: float = 0.0

    def now(self) -> float:
        return self.t


def _runner(records: list[dict]) -> tuple[LessonRunner, StepClock, LiveState]:
    config = EdgeConfig.model_validate({
        "node": {"demo": True},
        "lessons": {"timetable": [{"start": "09:00", "end": "09:45", "weekdays": [1, 3]}]},
    })
    scene = classroom_scene("TT", rows=3, per_row=4)
    clock, live = StepClock(), LiveState("classroom")
    runner = LessonRunner(config, {"front": StreamSettings(config, scene.zones)}, clock, live,
                          records.extend)
    return runner, clock, live


def _tick(runner: LessonRunner, clock: StepClock, when: datetime) -> None:
    clock.t = when.timestamp()
    runner.tick(when)


def test_a_timetabled_lesson_starts_and_ends_on_time():
    records: list[dict] = []
    runner, clock, live = _runner(records)
    _tick(runner, clock, MONDAY.replace(hour=8, minute=59))
    assert not runner.running
    start = MONDAY.replace(hour=9)
    _tick(runner, clock, start)
    assert runner.running and live.counters()["lesson_running"]
    for sample in classroom_scene("TT", rows=3, per_row=4).samples:
        runner.feed("front", replace(sample, t=start.timestamp() + sample.t))
    _tick(runner, clock, MONDAY.replace(hour=9, minute=30))
    assert runner.running  # still inside the slot
    _tick(runner, clock, MONDAY.replace(hour=9, minute=45))
    assert not runner.running
    lessons = [r for r in records if r["type"] == "lesson"]
    assert len(lessons) == 1
    lesson = lessons[0]
    assert (lesson["start"], lesson["end"]) == (start.timestamp(), start.timestamp() + 45 * 60)
    assert lesson["n"] == 12 and lesson["camera"] == "front" and lesson["demo"] is True
    windows = [r for r in records if r["type"] == "window"]
    # The minute of data fed: two 30 s windows; the empty rest of the slot adds none.
    assert [(w["start"] - start.timestamp(), w["end"] - start.timestamp()) for w in windows] == [
        (0.0, 30.0), (30.0, 60.0)]


def test_no_lesson_on_other_weekdays_or_outside_the_slot():
    records: list[dict] = []
    runner, clock, _ = _runner(records)
    tuesday = MONDAY + timedelta(days=1)
    for when in (tuesday.replace(hour=9, minute=10), MONDAY.replace(hour=10),
                 MONDAY.replace(hour=8, minute=59, second=59)):
        _tick(runner, clock, when)
        assert not runner.running, when
    _tick(runner, clock, (MONDAY + timedelta(days=2)).replace(hour=9, minute=44))  # Wednesday
    assert runner.running


def test_a_lesson_ended_early_is_not_restarted_in_its_slot():
    records: list[dict] = []
    runner, clock, _ = _runner(records)
    _tick(runner, clock, MONDAY.replace(hour=9, minute=1))
    assert runner.running
    runner.end_lesson()  # the teacher ends it from the page
    for minute in (20, 44):
        _tick(runner, clock, MONDAY.replace(hour=9, minute=minute))
        assert not runner.running
    _tick(runner, clock, MONDAY.replace(hour=9, minute=45))
    _tick(runner, clock, (MONDAY + timedelta(days=2)).replace(hour=9))  # the next slot
    assert runner.running
