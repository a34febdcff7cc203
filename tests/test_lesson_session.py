"""LessonSession boundaries: whole input, explicit start/finish, timetable; engines per mode."""

from __future__ import annotations

from datetime import datetime

import pytest
from scenegen import classroom_scene

from edge.config import EdgeConfig
from edge.config.sources import TimetableEntry
from edge.lesson.session import LessonSession, engines_for_mode, lesson_at
from sensors.samples import EnvironmentSample, PoseSample


@pytest.fixture(scope="module")
def scene():
    return classroom_scene("TTSS", rows=1, per_row=6)


def test_whole_input_windows_tile_the_lesson(scene):
    session = LessonSession(
        EdgeConfig.model_validate({"window": {"seconds": 20}}), "classroom", scene.zones
    )
    records = [r for s in scene.samples for r in session.feed(s)] + session.finish()
    windows = [r for r in records if r["type"] == "window"]
    assert [(w["start"], w["end"]) for w in windows] == [
        (20.0 * k, 20.0 * (k + 1)) for k in range(6)
    ]
    lesson = records[-1]
    assert (lesson["type"], lesson["start"], lesson["end"]) == ("lesson", 0.0, 120.0)


def test_explicit_start_and_end(scene):
    session = LessonSession(EdgeConfig(), "classroom", scene.zones, start=30.0)
    records = []
    for sample in scene.samples:
        if sample.t > 100:
            break
        records += session.feed(sample)
    records += session.finish(end_t=100.0)
    spans = [(r["type"], r["start"], r["end"]) for r in records]
    assert spans == [
        ("window", 30.0, 60.0),
        ("window", 60.0, 90.0),
        ("window", 90.0, 100.0),
        ("lesson", 30.0, 100.0),
    ]
    assert records[-1]["metrics"]["students_present"] == 6
    # Script TTSS from t=0; intervals from the lesson start: 30-60 T, 60-90 S; 10 s tail dropped.
    assert records[-1]["metrics"]["st"]["samples"] == "TS"
    with pytest.raises(RuntimeError):
        session.feed(scene.samples[-1])


def test_engines_per_mode():
    config = EdgeConfig()
    assert {e.name for e in engines_for_mode("classroom", config, None)} == {
        "classroom",
        "audio",
        "st",
        "qa",
        "env",
    }
    assert {e.name for e in engines_for_mode("pe", config, None)} == {"pe", "env"}
    with pytest.raises(ValueError, match="unknown mode"):
        engines_for_mode("gym", config, None)


@pytest.mark.parametrize("mode", ["classroom", "pe"])
def test_environment_readings_reach_window_and_lesson_records(scene, mode):
    session = LessonSession(EdgeConfig(), mode, scene.zones)
    co2 = iter([900.0, 1200.0, 1700.0, 1800.0])  # the last two over the 1500 ppm default limit
    records = []
    for sample in scene.samples:
        records += session.feed(sample)
        if isinstance(sample, PoseSample) and sample.t % 15 == 0 and sample.t < 60:
            records += session.feed(EnvironmentSample(sample.t, {"co2_ppm": next(co2),
                                                                 "lux_desk": 420.0}))
    records += session.finish()
    # The breach is also raised at once as a real-time alert record (edge.alerts).
    assert [r["metrics"]["alert"]["kind"] for r in records if r["type"] == "alert"] == ["co2_high"]
    records = [r for r in records if r["type"] != "alert"]
    first, second = records[0]["metrics"]["env"], records[1]["metrics"]["env"]
    assert first["co2_ppm"] == pytest.approx(1050.0) and first["compliance"]["co2"] is True
    assert second["co2_ppm"] == pytest.approx(1750.0) and second["compliance"]["co2"] is False
    assert [a["kind"] for a in second["alerts"]] == ["co2_high"]
    assert records[-1]["metrics"]["env"]["compliance_share"]["co2"] < 1.0


def test_no_environment_source_means_no_env_block(scene):
    session = LessonSession(EdgeConfig(), "classroom", scene.zones)
    records = [r for s in scene.samples for r in session.feed(s)] + session.finish()
    assert all("env" not in r["metrics"] for r in records)  # absent, never zeros (SPEC 5)


def test_lesson_at_timetable():
    timetable = [
        TimetableEntry(start="08:00", end="08:45"),
        TimetableEntry(start="09:00", end="09:45", weekdays=[1]),
    ]
    monday = datetime(2026, 11, 23, 9, 10)
    assert lesson_at(monday, timetable) == (
        datetime(2026, 11, 23, 9, 0),
        datetime(2026, 11, 23, 9, 45),
    )
    assert lesson_at(datetime(2026, 11, 24, 9, 10), timetable) is None  # Tuesday: not timetabled
    assert lesson_at(datetime(2026, 11, 24, 8, 44), timetable)[0] == datetime(2026, 11, 24, 8, 0)
    assert lesson_at(datetime(2026, 11, 24, 8, 45), timetable) is None  # end is exclusive
    assert lesson_at(datetime(2026, 11, 28, 8, 10), timetable) is None  # Saturday
