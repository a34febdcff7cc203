"""Question-answer exchanges and wait time (SPEC 4.1): the definitions on segments, then whole
lessons from scene files with known exchanges, with a teacher channel and with a room microphone
only (the answer is a student standing up)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scenegen import classroom_scene

from edge.metrics.classroom.exchanges import QaRules, Segment, find_exchanges, qa_metrics
from edge.config import EdgeConfig
from edge.lesson.session import LessonSession
from sensors.samples import AudioFeatures, PoseSample
from sensors.scene import SceneHeader, SceneSource, write_scene
from tests.daemon_process import SCENE

RULES = QaRules()


def kinds(teacher, responses):
    return [(ev.kind, ev.wait) for ev in find_exchanges(
        [Segment(*s) for s in teacher], [Segment(*s) for s in responses], RULES)]


def test_answer_after_a_pause_is_an_exchange_with_that_wait():
    assert kinds([(0, 8), (15, 20)], [(11, 14)]) == [("exchange", 3.0)]


def test_teacher_resuming_without_an_answer_is_an_unanswered_question():
    assert kinds([(0, 8), (10, 20)], []) == [("unanswered", 2.0)]


def test_breath_pauses_and_long_seat_work_are_no_questions():
    # 0.5 s between sentences is one turn; 30 s of silence is seat work, then the lesson ends
    assert kinds([(0, 8), (8.5, 12), (42, 50)], []) == []


def test_second_student_answering_belongs_to_the_same_exchange():
    assert kinds([(0, 8), (20, 25)], [(9, 11), (12.5, 15)]) == [("exchange", 1.0)]


def test_student_talk_after_long_silence_or_without_a_question_is_student_initiated():
    events = kinds([(0, 8), (40, 45)], [(30, 33)])
    assert events == [("student_initiated", None)]
    assert kinds([], [(3, 6)]) == [("student_initiated", None)]


def test_short_noise_and_short_teacher_words_are_ignored():
    assert kinds([(0, 8), (15, 20)], [(10, 10.5)]) == [("unanswered", 7.0)]
    assert kinds([(0, 0.5)], [(1, 4)]) == [("student_initiated", None)]  # "Yes?" is no question


def test_answer_under_way_when_the_teacher_stops_has_wait_zero():
    # the named student stands up while the teacher finishes the sentence
    assert kinds([(0, 8), (20, 25)], [(7, 12)]) == [("exchange", 0.0)]


def test_metrics_mean_median_rowe_share_and_histogram():
    events = find_exchanges([Segment(0, 8), Segment(10, 20), Segment(24, 30)],
                            [Segment(23.5, 23.9), Segment(35, 40)], RULES)
    qa = qa_metrics(events, RULES, "teacher_channel")
    # 8 -> 10 unanswered (2 s); 20 -> 24 unanswered (4 s, the 0.4 s noise ignored); 30 -> 35
    # answered (5 s)
    assert (qa["exchanges"], qa["unanswered"], qa["student_initiated"]) == (1, 2, 0)
    assert qa["wait_mean_s"] == pytest.approx(11 / 3)
    assert qa["wait_median_s"] == pytest.approx(4.0)
    assert qa["wait_3s_share"] == pytest.approx(2 / 3)
    assert qa["wait_hist"] == {"under_1s": 0, "1_to_3s": 1, "3_to_5s": 1, "5s_or_more": 1}
    empty = qa_metrics([], RULES, None)
    assert empty["exchanges"] == 0 and empty["wait_mean_s"] is None


# -- whole lessons from scene files ------------------------------------------------------------

DURATION = 120.0
# (start, end, who): T teacher speaks, S a student speaks (room speech, not the teacher's).
TEACHER_CHANNEL_SCRIPT = [
    (0, 8, "T"),
    (11, 15, "S"),  # answered after 3 s
    (15, 25, "T"),
    (27, 35, "T"),  # 25 -> 27: asked, nobody answered, the teacher goes on (2 s)
    (36.5, 40, "S"),  # answered after 1.5 s ...
    (40.5, 43, "S"),  # ... and a second student adds to it (same exchange)
    (43, 50, "T"),
    (70, 73, "S"),  # 20 s into seat work a student speaks up: student-initiated
    (80, 90, "T"),  # then silence to the end: no question
]
TRUTH = {"exchanges": 2, "unanswered": 1, "student_initiated": 1,
         "wait_mean_s": (3.0 + 2.0 + 1.5) / 3, "wait_3s_share": 1 / 3}


def _audio(script, teacher_channel: bool) -> list[AudioFeatures]:
    out = []
    for t in np.arange(0.0, DURATION, 0.5):
        who = next((w for a, b, w in script if a <= t < b), None)
        teacher = 0.9 if who == "T" else 0.05
        speech = 0.9 if who else 0.05
        out.append(AudioFeatures(t=float(t), speech=speech,
                                 teacher_speech=teacher if teacher_channel else None,
                                 dba=60.0 if who else 36.0))
    return out


def _scene_file(path: Path, script, stands, teacher_channel: bool) -> Path:
    """Six seated students (the leftmost stands during ``stands``) and ``script``'s audio."""
    scene = classroom_scene("QQQQ", rows=1, per_row=6, teacher=False, miss_p=0.0,
                            activities={"none": 1.0})
    frames = []
    for sample in scene.samples:
        if not isinstance(sample, PoseSample):
            continue
        people = sample.people
        if any(a <= sample.t < b for a, b in stands) and people:
            left = min(people, key=lambda p: p.kp[5:7, 0].mean())
            width = float(np.hypot(*(left.kp[5, :2] - left.kp[6, :2])))
            kp = left.kp.copy()
            kp[:, 1] -= 1.5 * width  # standing lifts the shoulders by over a shoulder width
            people = [replace(p, kp=kp) if p is left else p for p in people]
        frames.append(replace(sample, people=people))
    samples = sorted(frames + _audio(script, teacher_channel), key=lambda s: s.t)
    write_scene(path, SceneHeader(mode="classroom", size=(1920, 1080)), samples)
    return path


def _lesson(path: Path) -> tuple[list[dict], dict]:
    config = EdgeConfig.model_validate({"window": {"seconds": 10.0}})
    session = LessonSession(config, "classroom", start=0.0)
    records = [r for s in SceneSource(path) for r in session.feed(s)]
    records += session.finish(DURATION)
    windows = [r for r in records if r["type"] == "window"]
    return windows, records[-1]["metrics"]["qa"]


def _assert_truth(qa: dict, windows: list[dict]) -> None:
    for key, value in TRUTH.items():
        assert qa[key] == pytest.approx(value, abs=1e-4), key  # records keep 4 decimals
    for key in ("exchanges", "unanswered", "student_initiated"):  # windows add up to the lesson
        assert sum(w["metrics"]["qa"][key] for w in windows) == qa[key], key


def test_scene_with_teacher_channel_counts_the_known_exchanges(tmp_path):
    windows, qa = _lesson(_scene_file(tmp_path / "qa.jsonl", TEACHER_CHANNEL_SCRIPT, [], True))
    assert qa["source"] == "teacher_channel"
    _assert_truth(qa, windows)
    # the answer after 3 s becomes known in the window 10-20 s, the unanswered one at 27 s
    assert windows[1]["metrics"]["qa"]["exchanges"] == 1
    assert windows[2]["metrics"]["qa"]["unanswered"] == 1


def test_scene_with_room_microphone_only_answers_are_students_standing(tmp_path):
    # One microphone: speech while a student stands is theirs, other speech the teacher's.
    # Each "S" span of the script is a student who stood up from 1 s earlier (wait times then
    # shrink by 1 s); the seat-work remark at 70 s is a student who stands to speak.
    stands = [(a - 1.0, b) for a, b, who in TEACHER_CHANNEL_SCRIPT if who == "S"]
    windows, qa = _lesson(_scene_file(tmp_path / "room.jsonl", TEACHER_CHANNEL_SCRIPT, stands,
                                      False))
    assert qa["source"] == "room_and_standing"
    assert (qa["exchanges"], qa["unanswered"], qa["student_initiated"]) == (2, 1, 1)
    assert qa["wait_mean_s"] == pytest.approx((2.0 + 2.0 + 0.5) / 3, abs=1e-4)


def test_room_microphone_without_anyone_standing_hears_only_the_teacher(tmp_path):
    # The same audio and nobody stands: every voice is taken for the teacher's, so the answers
    # merge into the teacher's talk. What one microphone can and cannot tell, stated by a test.
    windows, qa = _lesson(_scene_file(tmp_path / "flat.jsonl", TEACHER_CHANNEL_SCRIPT, [], False))
    assert qa["exchanges"] == 0 and qa["student_initiated"] == 0


def test_demo_scene_has_its_scripted_exchanges():
    # sensors/demo/make_demo_scene.py: answers after 1.5, 3 (a student standing) and 4 s, one
    # question unanswered after 2.5 s, one remark during quiet practice.
    session = LessonSession(EdgeConfig(), "classroom")
    records = [r for s in SceneSource(SCENE) for r in session.feed(s)] + session.finish()
    qa = records[-1]["metrics"]["qa"]
    assert (qa["exchanges"], qa["unanswered"], qa["student_initiated"]) == (3, 1, 1)
    assert qa["wait_mean_s"] == pytest.approx((1.5 + 2.5 + 3.0 + 4.0) / 4, abs=1e-4)
    assert qa["wait_3s_share"] == pytest.approx(0.5)
