"""PE metrics end to end: a generated PE lesson (tests/pe_scenegen.py) through LessonSession.

The scene's ground truth comes from its script (who does what when, which repetitions are valid,
the heart-rate readings), so each assertion compares the engine with an independent answer.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from edge.config import EdgeConfig, ZonesConfig
from edge.metrics.pe.activity import CODES
from edge.metrics.pe.engine import PEEngine
from edge.metrics.pe.heart_rate import HeartRateMonitor
from edge.metrics.pe.reps import RepCounter
from edge.daemon.stations import FrameRate
from edge.tracking.people import TrackedPerson
from edge.lesson.session import LessonSession
from sensors.samples import HeartRateSample, PoseSample, StationSample
from tests.pe_bodies import exercise_frames
from tests.pe_scenegen import make_pe_scene

LESSON_KEYS = {
    "participants",
    "exercise_density_group",
    "exercise_density_mean",
    "mvpa_fraction",
    "activity",
    "hr",
    "reps",
    "alerts",
}
HR_KEYS = {"mean_bpm", "share_140_160", "zones", "trimp_edwards", "minutes_ge_120"}
ALERT_KEYS = {"kind", "start", "duration", "count"}


def run_lesson(samples: list, zones: ZonesConfig, config: EdgeConfig | None = None) -> list[dict]:
    session = LessonSession(config or EdgeConfig(), "pe", zones)
    records = []
    for sample in samples:
        records += session.feed(sample)
    return records + session.finish()


@pytest.fixture(scope="module")
def scene():
    return make_pe_scene(seed=0)


@pytest.fixture(scope="module")
def zones(scene) -> ZonesConfig:
    return ZonesConfig.model_validate(scene.header["zones"])


@pytest.fixture(scope="module")
def records(scene, zones) -> list[dict]:
    # HRmax from the scene header's age, as edge replay does
    config = EdgeConfig.model_validate({"node": {"age": scene.header["age"]}})
    return run_lesson(scene.samples(), zones, config)


@pytest.fixture(scope="module")
def lesson(records) -> dict:
    assert records[-1]["type"] == "lesson" and records[-1]["mode"] == "pe"
    return records[-1]["metrics"]


def test_lesson_has_exactly_the_spec_keys(records, lesson):
    assert set(lesson) == LESSON_KEYS
    assert set(lesson["hr"]) == HR_KEYS
    assert set(lesson["activity"]) == set(CODES)
    windows = [r for r in records if r["type"] == "window"]
    assert len(windows) == 8  # 240 s in 30 s windows
    assert all(set(w["metrics"]) == LESSON_KEYS for w in windows)


def test_densities_match_the_script(scene, lesson):
    truth = scene.truth
    for key in ("exercise_density_group", "exercise_density_mean", "mvpa_fraction"):
        assert lesson[key] == pytest.approx(truth[key], abs=0.05), key
    for code in CODES:
        assert lesson["activity"][code] == pytest.approx(truth["activity"][code], abs=0.05), code
    assert lesson["participants"] == truth["participants"]  # no zone: nobody is the teacher


def test_heart_rate_matches_the_readings(scene, lesson):
    truth, hr = scene.truth["hr"], lesson["hr"]
    assert hr["mean_bpm"] == pytest.approx(truth["mean_bpm"], abs=1.0)
    assert hr["share_140_160"] == pytest.approx(truth["share_140_160"], abs=0.03)
    for zone, share in truth["zones"].items():
        assert hr["zones"][zone] == pytest.approx(share, abs=0.03), zone
    assert hr["minutes_ge_120"] == pytest.approx(truth["minutes_ge_120"], abs=0.1)
    assert hr["trimp_edwards"] > 0


def test_repetitions_follow_the_test_rules(scene, records, lesson):
    for station, expected in scene.truth["reps"].items():
        assert abs(lesson["reps"][station]["count"] - expected) <= 1, station
        per_window = sum(
            r["metrics"]["reps"][station]["count"] for r in records if r["type"] == "window"
        )
        assert per_window == lesson["reps"][station]["count"], station
    assert lesson["reps"]["mat-1"]["exercise"] == "situp"
    assert lesson["reps"]["rope-1"]["exercise"] == "rope_skip"
    rope = [r["metrics"]["reps"]["rope-1"]["count"] for r in records if r["type"] == "window"]
    assert rope[0] == 0 and rope[3] < rope[1]  # nothing before skipping starts; the pause shows


def test_alerts_once_per_episode_without_identity(scene, records, lesson):
    kinds = [a["kind"] for a in lesson["alerts"]]
    assert kinds.count("hr_high") == scene.truth["hr_high_alerts"] == 1
    assert kinds.count("fall") == scene.truth["falls"] == 1
    assert "hr_contact_lost" not in kinds  # the scene's 3 s contact blip is too short
    high = next(a for a in lesson["alerts"] if a["kind"] == "hr_high")
    assert 165 <= high["start"] <= 172 and 15 <= high["duration"] <= 30 and high["count"] == 1
    fall = next(a for a in lesson["alerts"] if a["kind"] == "fall")
    assert 150.0 <= fall["start"] <= 151.0
    for alert in lesson["alerts"]:
        assert set(alert) <= ALERT_KEYS
    window_alerts = [
        a["kind"] for r in records if r["type"] == "window" for a in r["metrics"]["alerts"]
    ]
    assert sorted(window_alerts) == sorted(kinds)  # each episode reported in one window only


def test_alerts_leave_at_detection_not_with_the_window(scene, records, lesson):
    """Each episode also comes out once as an ``alert`` record, right after the sample that
    raised it (between the windows), without identity."""
    alerts = [r for r in records if r["type"] == "alert"]
    assert sorted(a["metrics"]["alert"]["kind"] for a in alerts) == ["fall", "hr_high"]
    fall = next(a for a in alerts if a["metrics"]["alert"]["kind"] == "fall")
    assert fall["n"] == 1 and fall["suppressed"] is False and fall["start"] == fall["end"]
    onset = next(a["start"] for a in lesson["alerts"] if a["kind"] == "fall")
    assert 0 < fall["start"] - onset <= 1.0  # confirmed half a second after lying down
    high = next(a for a in alerts if a["metrics"]["alert"]["kind"] == "hr_high")
    assert 170 + EdgeConfig().pe.hr_sustain_s - 1 <= high["start"] <= 195  # sustained, not later
    index = records.index(fall)  # between windows: the window holding it closes later
    window_after = next(r for r in records[index:] if r["type"] == "window")
    assert window_after["start"] <= fall["start"] < window_after["end"]


def _leaves(value: Any, path: str = "") -> list[str]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _leaves(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _leaves(v, f"{path}[]")]
    return [path]


def test_no_per_band_or_per_student_series(scene, records):
    text = json.dumps(records)
    bands = {b for s in scene.heart for b in s.bpm}
    assert bands and not any(b in text for b in bands)
    allowed = (
        {
            ".participants",
            ".exercise_density_group",
            ".exercise_density_mean",
            ".mvpa_fraction",
            ".hr",
        }
        | {f".activity.{c}" for c in CODES}
        | {f".hr.{k}" for k in HR_KEYS - {"zones"}}
        | {f".hr.zones.{z}" for z in ("light", "moderate", "vigorous", "near_max")}
        | {
            f".reps.{s}.{k}"
            for s in scene.header["zones"]["stations"]
            for k in ("exercise", "count")
        }
        | {f".alerts[].{k}" for k in ALERT_KEYS}
        | {".alert.kind", ".alert.count"}  # real-time alert records (edge.alerts)
    )
    for record in records:
        extra = set(_leaves(record["metrics"])) - allowed
        assert not extra, f"unexpected values in a PE record: {sorted(extra)}"


def test_absent_heart_rate_is_null_not_zero(scene, zones):
    records = run_lesson([s for s in scene.samples() if isinstance(s, PoseSample)][:600], zones)
    assert records and all(r["metrics"]["hr"] is None for r in records)


def test_small_group_is_suppressed(scene, zones):
    few = [PoseSample(t=s.t, people=s.people[:3], size=s.size) for s in scene.poses[:400]]
    lesson = run_lesson(few, zones)[-1]
    assert lesson["n"] == 3 and lesson["suppressed"] is True
    assert lesson["metrics"]["exercise_density_mean"] is None
    assert lesson["metrics"]["activity"] is None


def test_contact_lost_during_activity_raises_one_alert():
    monitor = HeartRateMonitor(EdgeConfig().pe, age=12)
    for t in range(120):
        lost = 30 <= t < 60 or 80 <= t < 84  # 30 s off the skin, then a 4 s blip
        monitor.on_sample(HeartRateSample(t=float(t), bpm={"b": None if lost else 150}), True)
    alerts = monitor.all_alerts()
    assert [a["kind"] for a in alerts] == ["hr_contact_lost"]
    assert alerts[0]["start"] == 30.0 and alerts[0]["count"] == 1


def test_contact_lost_at_rest_is_not_an_alert():
    monitor = HeartRateMonitor(EdgeConfig().pe, age=12)
    for t in range(60):
        monitor.on_sample(HeartRateSample(t=float(t), bpm={"b": None if t >= 20 else 85}), False)
    assert monitor.all_alerts() == []


@pytest.mark.parametrize("exercise", ["jumping_jack", "squat", "pullup"])
def test_other_station_exercises_ignore_partial_repetitions(exercise):
    amplitudes = [1.0, 1.0, 0.5, 1.0, 0.4, 1.0, 0.6, 1.0]
    counter = RepCounter(exercise)
    for t, kp in exercise_frames(exercise, amplitudes):
        counter.update(t, kp)
    assert counter.count == sum(1 for a in amplitudes if a >= 1.0)


def test_station_exercise_is_not_counted_for_standing_still():
    frames = exercise_frames("squat", [])
    for exercise in ("situp", "rope_skip", "jumping_jack", "squat", "pullup"):
        counter = RepCounter(exercise)
        assert not any(counter.update(t, kp) for t, kp in frames), exercise
    assert np.isfinite(frames[0][1]).all()


def test_activity_without_floor_calibration_uses_body_scale(scene):
    """Without zones.floor, speeds are in torso lengths per second; the codes still hold."""
    zones = {k: v for k, v in scene.header["zones"].items() if k != "floor"}
    engine = PEEngine(EdgeConfig(), ZonesConfig.model_validate(zones))
    for s in scene.poses:  # ids by list position: the generator keeps people in order
        people = [TrackedPerson(track=i, kp=p.kp) for i, p in enumerate(s.people)]
        engine.on_people(s.t, people, s.size)
    lesson = engine.close_lesson(0.0, 240.0).metrics
    for key in ("exercise_density_group", "exercise_density_mean", "mvpa_fraction"):
        assert lesson[key] == pytest.approx(scene.truth[key], abs=0.05), key
    assert lesson["activity"]["walking"] == pytest.approx(
        scene.truth["activity"]["walking"], abs=0.05
    )


def test_zero_bpm_is_no_contact_not_a_reading():
    monitor = HeartRateMonitor(EdgeConfig().pe, age=12)
    for t in range(60):
        monitor.on_sample(HeartRateSample(t=float(t), bpm={"b": 0 if t >= 30 else 150}), True)
    assert monitor.lesson.result()["mean_bpm"] == 150.0
    assert [a["kind"] for a in monitor.all_alerts()] == ["hr_contact_lost"]


def test_degenerate_floor_calibration_is_a_clear_error():
    # Rejected when the zones are validated, long before an engine uses them.
    with pytest.raises(ValueError, match="do not define a plane"):
        ZonesConfig.model_validate(
            {
                "floor": {
                    "image": [[0, 0], [1, 1], [2, 2], [3, 3]],
                    "world_m": [[0, 0], [1, 0], [1, 1], [0, 1]],
                }
            }
        )


def _fragmented_tracks(scene, every_s: float) -> list[list[int]]:
    """Track ids per frame as a tracker that loses running students would give them: each
    student's id changes every ``every_s`` seconds while the student is in MVPA (a new id at
    every break, as after an occlusion while running)."""
    ids, next_id, since = [], 0, {}
    current: dict[int, int] = {}
    for s in scene.poses:
        frame = []
        for i in range(len(s.people)):
            moving = scene.codes[len(ids)][i] in ("walking", "very_active")
            if i not in current or (moving and s.t - since[i] >= every_s):
                current[i], since[i], next_id = next_id, s.t, next_id + 1
            frame.append(current[i])
        ids.append(frame)
    return ids


def test_density_mean_ignores_broken_tracks(scene, zones):
    """Tracks broken every 6 s while students move: the fragments are the same students, so
    exercise_density_mean stays at the script's value (a per-track mean read 0.1 higher)."""
    ids = _fragmented_tracks(scene, every_s=6.0)
    assert len({t for frame in ids for t in frame}) > 5 * len(scene.poses[0].people)
    engine = PEEngine(EdgeConfig(), zones)
    for s, frame in zip(scene.poses, ids):
        engine.on_people(s.t, [TrackedPerson(track=k, kp=p.kp) for k, p in zip(frame, s.people)],
                         s.size)
    lesson = engine.close_lesson(0.0, 240.0).metrics
    assert lesson["exercise_density_mean"] == pytest.approx(
        scene.truth["exercise_density_mean"], abs=0.03
    )


def _jacks_at_a_station(reps: int) -> tuple[list[tuple[float, np.ndarray]], ZonesConfig]:
    """A student doing ``reps`` full jumping jacks (15 fps) and a station drawn around them."""
    frames = exercise_frames("jumping_jack", [1.0] * reps)
    pts = np.concatenate([kp[:, :2] for _, kp in frames])
    (x0, y0), (x1, y1) = pts.min(axis=0) - 20, pts.max(axis=0) + 20
    polygon = [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]
    zones = ZonesConfig.model_validate(
        {"stations": {"jacks": {"exercise": "jumping_jack", "polygon": polygon}}}
    )
    return frames, zones


def test_a_fed_station_is_counted_from_the_station_loop_only():
    """In the daemon the station loop feeds StationSample at the station rate and the overview
    feeds the same student as people: counted once, from the station loop. Replay (no station
    loop) counts from the overview's people."""
    frames, zones = _jacks_at_a_station(6)
    replayed = PEEngine(EdgeConfig(), zones)
    fed = PEEngine(EdgeConfig(), zones, station_feed=True)
    for t, kp in frames:
        for engine in (replayed, fed):
            engine.on_people(t, [TrackedPerson(track=7, kp=kp)], (1920, 1080))
    assert replayed.close_lesson(0.0, frames[-1][0]).metrics["reps"]["jacks"]["count"] == 6
    assert fed.close_window(0.0, frames[-1][0]).metrics["reps"]["jacks"]["count"] == 0
    for t, kp in frames:
        fed.on_stations(StationSample(t, {"jacks": kp, "drawn-later": kp}))
    lesson = fed.close_lesson(0.0, frames[-1][0]).metrics["reps"]
    assert lesson["jacks"]["count"] == 6
    assert set(lesson) == {"jacks"}  # a station the lesson did not start with waits for the next


def test_a_student_still_in_the_overview_is_active_while_the_station_loop_counts():
    """The overview at 2 fps sees a jumping student as a blur of poses; the station loop's
    repetitions make the occupant very active (pe.rep_active_s), without any track id."""
    frames, zones = _jacks_at_a_station(8)
    engine = PEEngine(EdgeConfig(), zones, station_feed=True)
    still = frames[0][1]
    for i, (t, kp) in enumerate(frames):
        engine.on_stations(StationSample(t, {"jacks": kp}))
        if i % 7 == 0:  # the overview's rate, always the same standing pose
            engine.on_people(t, [TrackedPerson(track=3, kp=still)], (1920, 1080))
    activity = engine.close_lesson(0.0, frames[-1][0]).metrics["activity"]
    assert activity["very_active"] > 0.5, activity


def test_the_station_rate_takes_thinned_frames_and_caps_faster_ones():
    """A station loop at pe.station_fps = 15 takes every frame of a capture thinned to 15 fps
    (25 fps video: frames 40 and 80 ms apart) and 15 of a 30 fps camera's frames per second."""
    thinned = FrameRate(15.0)
    rng = np.random.default_rng(1)  # delivery stamps late by up to 30 ms (a busy machine)
    times = sorted(int(j * 25 / 15) / 25 + rng.uniform(0, 0.03) for j in range(150))
    assert all(thinned.due(t) for t in times)  # the 25 fps frame at each 15 fps tick
    fast = FrameRate(15.0)
    assert abs(sum(fast.due(k / 30) for k in range(300)) - 150) <= 2
