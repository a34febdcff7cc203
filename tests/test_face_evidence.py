"""Face evidence for students whose bodies are hidden: BlazeFace full range decoding on a real
face, the geometric rule on synthetic keypoints, and the pose pipeline on the real class photo."""

from __future__ import annotations

from functools import cache

import cv2
import numpy as np
import pytest
from conftest import shared_file

from edge.perception.features import body_scales, head_states, raised_arms
from edge.tracking.tracker import Tracker
from models.blazeface_full import Face, FullRangeFaces, anchors, face_tiles
from models.face_evidence import Bodies, face_person, hidden_people, on_body
from models.pose import PoseEstimator, PoseOptions, describe_plan
from models.runtime import SessionOptions
from sensors.samples import KP, Person

ONE_THREAD = SessionOptions(intra_op_threads=1, inter_op_threads=1)
CLASS_PHOTO = "media/coco/coco_val2017_000000002299.jpg"


@cache
def estimator(face_evidence: bool) -> PoseEstimator:
    return PoseEstimator(PoseOptions(face_evidence=face_evidence), ONE_THREAD)


def class_1080p() -> np.ndarray:
    """The class photo (38 children) filling the height of a grey 1920x1080 frame, centred (as
    bench/daemon.py --class-1080p plays it)."""
    frame = np.full((1080, 1920, 3), 90, np.uint8)
    photo = cv2.imread(str(shared_file(CLASS_PHOTO)))
    frame[:, 66:66 + 1788] = cv2.resize(photo, (1788, 1080), interpolation=cv2.INTER_LINEAR)
    return frame


def test_anchor_grid_and_tiles() -> None:
    a = anchors()
    assert a.shape == (2304, 2)
    assert np.allclose(a[0], [1 / 96, 1 / 96]) and np.allclose(a[48], [1 / 96, 3 / 96])
    squares = face_tiles(1920, 1080)
    assert len(squares) == 12 and {s for _, _, s in squares} == {576}
    xs = sorted({x for x, _, _ in squares})
    assert xs[0] == 0 and xs[-1] + 576 == 1920
    assert all(576 - (b - a) >= 0.2 * 576 for a, b in zip(xs, xs[1:]))  # overlap kept
    assert face_tiles(500, 302) == [(0, 0, 500)]


def test_full_range_finds_the_astronaut_face_with_its_landmarks() -> None:
    image = cv2.imread(str(shared_file("media/skimage_astronaut.png")))
    faces = FullRangeFaces(ONE_THREAD).detect(image)
    assert len(faces) == 1
    face = faces[0]
    assert face.score > 0.8 and 70 < face.width < 140  # her face is ~100 px wide
    assert np.hypot(*(face.centre - (0.44 * 512, 0.25 * 512))) < 20
    person = face_person(face)
    # Her right eye is on the image's left; the nose between the eyes and below them.
    r_eye, l_eye, nose = person.kp[KP["r_eye"]], person.kp[KP["l_eye"]], person.kp[KP["nose"]]
    assert r_eye[0] < nose[0] < l_eye[0] and nose[1] > max(r_eye[1], l_eye[1])
    assert (person.kp[:5, 2] == pytest.approx(face.score)) and (person.kp[5:] == 0).all()


# A synthetic seated student: COCO-17 keypoints in pixels, head ~40 px, shoulders 80 px apart.
def student(x: float, y: float = 100.0) -> Person:
    kp = np.zeros((17, 3), np.float32)
    points = {
        "nose": (0, 0), "l_eye": (8, -6), "r_eye": (-8, -6), "l_ear": (18, -2), "r_ear": (-18, -2),
        "l_shoulder": (40, 50), "r_shoulder": (-40, 50), "l_elbow": (55, 110),
        "r_elbow": (-55, 110), "l_wrist": (50, 160), "r_wrist": (-50, 160), "l_hip": (30, 170),
        "r_hip": (-30, 170), "l_knee": (35, 250), "r_knee": (-35, 250), "l_ankle": (35, 330),
        "r_ankle": (-35, 330),
    }
    for name, (dx, dy) in points.items():
        kp[KP[name]] = (x + dx, y + dy, 0.8)
    return Person(kp, 0.8)


def face_at(x: float, y: float, width: float = 40.0, score: float = 0.9) -> Face:
    h = width / 2
    marks = np.array([[x - 8, y - 6], [x + 8, y - 6], [x, y], [x, y + 10], [x - 18, y - 2],
                      [x + 18, y - 2]], np.float32)
    return Face((x - h, y - h, x + h, y + h), score, marks)


ROW = [student(100), student(300)]
OWN_FACES = [face_at(100, 98), face_at(300, 98)]  # the detected students' own faces


def test_rule_accepts_a_face_between_bodies_and_rejects_faces_on_them() -> None:
    # A hidden student's face in the gap between the two, at head height behind them.
    between = face_at(200, 60)
    assert [p.kp[KP["nose"], 0] for p in hidden_people(OWN_FACES + [between], ROW)] == [200]
    # A hand (just past a wrist along the forearm), a shoe (at an ankle), a tie (mid-torso),
    # and the students' own faces: all on a detected body.
    hand, shoe, tie = face_at(150, 275), face_at(135, 430), face_at(300, 200)
    for face in (hand, shoe, tie, *OWN_FACES):
        assert on_body(face, Bodies.of(ROW))
    assert not on_body(between, Bodies.of(ROW))
    assert hidden_people(OWN_FACES + [hand, shoe, tie], ROW) == []


def test_rule_wants_the_neighbours_face_size_a_confident_score_and_a_reference() -> None:
    assert hidden_people(OWN_FACES + [face_at(200, 60, width=90)], ROW) == []  # too big
    assert hidden_people(OWN_FACES + [face_at(200, 60, width=18)], ROW) == []  # too small
    assert hidden_people(OWN_FACES + [face_at(200, 60, score=0.62)], ROW) == []
    # Perspective: far away (small faces at the top), near (large faces below); a candidate is
    # compared with its nearest neighbours, not with the frame's mean.
    far = [student(100, 100), student(300, 100)]
    near = [Person(student(0).kp * (2, 2, 1) + (x, 500, 0)) for x in (600, 1000)]  # noses y 700
    faces = [face_at(100, 98), face_at(300, 98), face_at(600, 698, 80), face_at(1000, 698, 80)]
    assert len(hidden_people(faces + [face_at(200, 60, 40), face_at(800, 620, 80)], far + near)) == 2
    assert hidden_people(faces + [face_at(800, 620, 40)], far + near) == []
    # No face at any detected head: no scale to judge by, nothing added.
    assert hidden_people([face_at(200, 60)], ROW) == []


def test_a_face_only_person_is_tracked_but_unknown_for_head_and_hands() -> None:
    person = face_person(face_at(200, 60))
    kp = person.kp[None]
    scale = body_scales(kp, 0.3)
    assert np.isfinite(scale).all()  # twice the ear distance
    assert not raised_arms(kp, scale, 0.3, 0.1)[1].any()  # hand raise unknown, not "no"
    assert not head_states(kp, scale, 0.3, 0.1, 0.5)[1].any()  # head state unknown
    tracker = Tracker(confirm_frames=2)
    confirmed = [tracker.update(t, [person]) for t in (0.0, 0.5, 1.0)]
    assert len(confirmed[-1]) == 1  # counts as a present student


def test_the_classroom_engine_counts_a_face_only_student_but_judges_no_head_or_hand() -> None:
    from edge.config.metrics import ClassroomConfig
    from edge.metrics.classroom.engine import ClassroomEngine
    from edge.tracking.people import TrackedPerson

    engine = ClassroomEngine(ClassroomConfig())
    whole, face = student(100), face_person(face_at(200, 60))
    for i in range(20):
        engine.on_people(i * 0.5, [TrackedPerson(1, whole.kp), TrackedPerson(2, face.kp)],
                         (640, 480))
    result = engine.close_window(0.0, 10.0)
    assert result.n == 2  # both present
    # Head up judged on the whole student alone: the face-only one is unknown, not "down".
    assert result.metrics["head_up_rate"] == pytest.approx(1.0)


def test_faces_lift_the_1080p_class_to_36_of_38() -> None:
    """The class photo filling a 1920x1080 frame: the pose pass alone finds 32 of the 38
    children; the faces of hidden ones bring it to >= 36, each inside the photo."""
    frame = class_1080p()
    plain = estimator(False).detect(frame)
    found = estimator(True).detect(frame)
    assert len(plain) < 36 <= len(found) <= 38
    faces_only = found[len(plain):]
    assert all((p.kp[5:] == 0).all() and (p.kp[:5, 2] >= 0.7).all() for p in faces_only)
    assert all(66 < p.kp[0, 0] < 66 + 1788 for p in faces_only)
    assert "faces 12 tiles of 576 px" in describe_plan(estimator(True).options, 1920, 1080)


def test_face_evidence_follows_the_config_and_is_off_in_pe(tmp_path) -> None:
    from edge.config import load_config
    from edge.perception.options import pose_options

    path = tmp_path / "edge.toml"
    path.write_text("[pose]\nface_evidence = false\n")
    assert pose_options(load_config(path, env={})).face_evidence is False
    path.write_text("")
    assert pose_options(load_config(path, env={})).face_evidence is True
    assert pose_options(load_config(path, env={}), mode="pe").face_evidence is False


@pytest.mark.parametrize("relative", ["media/skimage_astronaut.png",
                                      "media/coco/coco_val2017_000000000785.jpg"])
def test_no_face_person_where_everyone_is_found(relative: str) -> None:
    image = cv2.imread(str(shared_file(relative)))
    assert len(estimator(True).detect(image)) == len(estimator(False).detect(image)) == 1
