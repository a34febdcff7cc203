"""Classroom metrics (SPEC 4.1) against synthetic lessons whose ground truth is known."""

from __future__ import annotations

import numpy as np
import pytest
from scenegen import Scene, classroom_scene, write_scene_file

from edge.metrics.classroom.events import HoldEvent, StandState
from edge.config import EdgeConfig, ZonesConfig
from edge.lesson.session import LessonSession
from sensors.scene import SceneSource


def run(scene: Scene, config: EdgeConfig | None = None, zones: bool = True) -> list[dict]:
    session = LessonSession(config or EdgeConfig(), "classroom", scene.zones if zones else None)
    records = [r for sample in scene.samples for r in session.feed(sample)]
    return records + session.finish()


@pytest.fixture(scope="module")
def lesson() -> tuple[Scene, list[dict]]:
    scene = classroom_scene()  # 10 minutes, 2 fps, 5 rows x 6 students, teacher, audio
    return scene, run(scene)


def test_lesson_metrics_match_ground_truth(lesson):
    scene, records = lesson
    truth, m = scene.truth, records[-1]["metrics"]
    assert records[-1]["type"] == "lesson" and records[-1]["n"] == truth.students
    assert m["students_present"] == truth.students
    assert truth.flickers > 0 and truth.dropout_raises > 0  # the scene exercises both rules
    assert abs(m["hand_raises"] - truth.hand_raises) <= 1
    assert m["stand_events"] == truth.stand_events
    assert m["head_up_rate"] == pytest.approx(truth.head_up_rate, abs=0.03)
    assert m["writing_rate"] == pytest.approx(truth.writing_rate, abs=0.03)
    assert m["hand_raise_rate"] == pytest.approx(m["hand_raises"] / truth.students / 10.0, rel=1e-3)
    assert 0.5 < m["participation"] <= 1.0
    assert m["activity_index"] > 0


def test_every_window_counts_the_whole_class(lesson):
    scene, records = lesson
    windows = [r for r in records if r["type"] == "window"]
    assert len(windows) == 20
    assert [w["start"] for w in windows] == [30.0 * k for k in range(20)]
    assert all(w["metrics"]["students_present"] == scene.truth.students for w in windows)
    assert (
        sum(w["metrics"]["hand_raises"] for w in windows) == records[-1]["metrics"]["hand_raises"]
    )
    assert (
        sum(w["metrics"]["stand_events"] for w in windows) == records[-1]["metrics"]["stand_events"]
    )


def test_teacher_zone_board_and_distance(lesson):
    scene, records = lesson
    teacher = records[-1]["metrics"]["teacher"]
    assert teacher["zone_share"] == pytest.approx(1.0, abs=0.01)
    assert teacher["board_share"] == pytest.approx(scene.truth.board_share, abs=0.02)
    # Metres through the floor homography; jitter must not inflate the walked path.
    assert teacher["distance"] == pytest.approx(scene.truth.teacher_distance_m, rel=0.1)


def test_teacher_pointing_upward_is_not_a_student_raise():
    quiet = {"none": 1.0}  # students only sit; the teacher still points upward now and then
    scene = classroom_scene("TTTTTT", activities=quiet)
    m = run(scene)[-1]["metrics"]
    assert m["hand_raises"] == 0 and m["stand_events"] == 0
    assert m["students_present"] == scene.truth.students


def test_teacher_found_without_zones_by_the_front_standing_heuristic():
    scene = classroom_scene("TTTTTT", activities={"none": 0.8, "raise": 0.2})
    m = run(scene, zones=False)[-1]["metrics"]
    assert m["students_present"] == scene.truth.students
    assert abs(m["hand_raises"] - scene.truth.hand_raises) <= 1
    assert m["teacher"]["zone_share"] is None and m["teacher"]["board_share"] is None
    assert m["teacher"]["distance"] > 0  # in body scales without a floor calibration


def test_flickers_never_count_and_dropouts_count_once():
    flickers = classroom_scene("TTTTTT", activities={"none": 0.5, "flicker": 0.5}, seed=3)
    assert flickers.truth.flickers > 20
    assert run(flickers)[-1]["metrics"]["hand_raises"] == 0
    dropouts = classroom_scene("TTTTTT", activities={"none": 0.5, "raise_dropout": 0.5}, seed=4)
    assert dropouts.truth.dropout_raises > 20
    got = run(dropouts)[-1]["metrics"]["hand_raises"]
    assert abs(got - dropouts.truth.hand_raises) <= 1


def test_students_present_is_exact_despite_many_missed_detections():
    scene = classroom_scene("TTTT", miss_p=0.15, seed=5)
    records = run(scene)
    assert all(r["metrics"]["students_present"] == scene.truth.students for r in records)


def test_hold_event_rules_at_two_fps():
    dt = 0.5

    def events(raised_frames: list[int], unseen: tuple[int, ...] = ()) -> int:
        machine = HoldEvent(hold_s=1.0, gap_s=0.5)
        return sum(
            machine.observe(k * dt, None if k in unseen else k in raised_frames, dt)
            for k in range(40)
        )

    assert events([3, 4]) == 0  # 0.5 s observed: a flicker
    assert events([3, 4, 5]) == 1  # held 1.0 s
    assert events(list(range(3, 12))) == 1  # one long raise is one event
    assert events([3, 4, 6, 7, 8]) == 1  # one-frame dropout merged
    assert events([3, 4, 5, 8, 9, 10]) == 2  # two frames down: two raises
    assert events([3, 4, 6, 7]) == 1  # the merged run reaches the hold only together
    assert events([3, 4, 5, 8, 9, 10], unseen=(7,)) == 1  # a missed detection is no dropout
    assert events([3, 4, 5, 9, 10, 11], unseen=(7,)) == 2  # but seen-down frames still split


def test_stand_state_hysteresis_and_scale_normalisation():
    for scale in (12.0, 80.0):  # back row and front row
        state = StandState(stand_rise=0.6, sit_rise=0.35, hold_s=1.0)
        rises = [0.0] * 10 + [0.3, 0.7] + [1.0] * 6 + [0.5, 0.45] + [1.0] * 4 + [0.2] + [0.0] * 10
        jitter = np.random.default_rng(0).normal(0, 0.03, len(rises))
        events = [
            state.observe(k * 0.5, 300.0 - (r + j) * scale, scale, None)
            for k, (r, j) in enumerate(zip(rises, jitter))
        ]
        assert sum(events) == 1 and not state.standing
    first_seen_standing = StandState(stand_rise=0.6, sit_rise=0.35, hold_s=0.0)
    assert first_seen_standing.observe(0.0, 300.0, 50.0, True)  # legs seed the baseline
    assert not first_seen_standing.observe(0.5, 350.0, 50.0, True)  # sat down: rise now 0
    assert not first_seen_standing.standing


def test_empty_session_and_video_without_students():
    session = LessonSession(EdgeConfig(), "classroom")
    assert session.finish() == []


def test_scene_file_round_trip_gives_the_same_lesson(tmp_path):
    scene = classroom_scene("TTSQ", rows=2, per_row=6, seed=7)
    path = tmp_path / "lesson.jsonl"
    assert write_scene_file(path, scene) == len(scene.samples)
    source = SceneSource(path)
    zones = ZonesConfig.model_validate(source.header.zones)
    session = LessonSession(EdgeConfig(), source.header.mode, zones)
    from_file = [r for s in source for r in session.feed(s)] + session.finish()
    direct = run(scene)
    assert len(from_file) == len(direct)
    for a, b in zip(from_file, direct, strict=True):
        assert_close(a["metrics"], b["metrics"])


def assert_close(a: dict, b: dict) -> None:
    """Same keys and counts; rates within 1% (pixels are rounded to 0.01 in the file)."""
    assert set(a) == set(b)
    for key, value in a.items():
        if isinstance(value, dict):
            assert_close(value, b[key])
        elif isinstance(value, float):
            assert value == pytest.approx(b[key], rel=0.01, abs=1e-3), key
        else:
            assert value == b[key], key
