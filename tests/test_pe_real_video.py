"""The PE station pipeline on real frames: bottom-up pose, BlazePose refinement of the station's
occupant, the PE engine and its repetition counters, on ../shared/media/sports2d_demo.mp4 (one
adult walks across the scene, one stands on a box). Someone who only walks must count no
repetition of any exercise, and must be coded as moving.

Identities come from a nearest-hips assignment (two people who never cross) rather than the
classroom tracker and role heuristics, so that this test is about the station pipeline only:
the classroom tracker's shoulder-width unit collapses for a person walking side-on.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge.config import EdgeConfig, StationConfig, ZonesConfig
from edge.pe.body import hips_point
from edge.pe.engine import PEEngine
from edge.pe.stations import refine_station_people, station_occupant, station_refine_hook
from edge.people import TrackedPerson
from edge.perception import Perception
from models.blazepose import BlazePoseRefiner
from models.pose import PoseEstimator, PoseOptions
from models.runtime import SessionOptions
from sensors.samples import Frame
from tests.conftest import shared_file

# the walker's path (hips around y 725..770, x 210..1570 between frames 40 and 180)
WALK_AREA = [(150.0, 560.0), (1720.0, 560.0), (1720.0, 900.0), (150.0, 900.0)]
EXERCISES = ("situp", "rope_skip", "jumping_jack", "squat", "pullup")
STRIDE = 3  # 10 frames/s of the 30 fps video keeps the test short


@pytest.fixture(scope="module")
def run():
    one_thread = SessionOptions(intra_op_threads=1)
    refiner = BlazePoseRefiner(one_thread)
    refine_zone = {"walk": StationConfig(exercise="squat", polygon=WALK_AREA)}
    refined_frames = []

    def hook(frame: Frame, people: list) -> list:
        out = refine_station_people(frame.image, people, refine_zone, refiner)
        idx = station_occupant([hips_point(p.kp) for p in out], WALK_AREA)
        if idx is not None and not any(p is out[idx] for p in people):
            refined_frames.append(frame.index)
        return out

    perception = Perception(PoseEstimator(PoseOptions(tiles=1), one_thread), hooks=[hook])
    zones = ZonesConfig(
        stations={f"walk-{e}": StationConfig(exercise=e, polygon=WALK_AREA) for e in EXERCISES}
    )
    engine = PEEngine(EdgeConfig(), zones)
    cap = cv2.VideoCapture(str(shared_file("media/sports2d_demo.mp4")))
    index, occupied, last_hips = 0, 0, {}
    while True:
        ok, image = cap.read()
        if not ok:
            break
        if 30 <= index <= 200 and index % STRIDE == 0:
            sample = perception.sample(Frame(t=index / 30.0, image=image, index=index))
            hips = [hips_point(p.kp) for p in sample.people]
            occupied += station_occupant(hips, WALK_AREA) is not None
            tracked = [
                TrackedPerson(track=_nearest(last_hips, h), kp=p.kp)
                for p, h in zip(sample.people, hips)
                if h is not None
            ]
            last_hips = {tp.track: hips_point(tp.kp) for tp in tracked}
            engine.on_people(sample.t, tracked, sample.size)
        index += 1
    cap.release()
    return engine.close_lesson(1.0, 6.7).metrics, refined_frames, occupied


def _nearest(last: dict[int, np.ndarray], hip: np.ndarray) -> int:
    """The previous frame's id whose hips were closest (within 300 px), else a new id."""
    if last:
        track, d = min(
            ((k, float(np.hypot(*(v - hip)))) for k, v in last.items()), key=lambda x: x[1]
        )
        if d < 300:
            return track
    return max(last, default=0) + 1


def test_walking_person_is_refined_and_counts_nothing(run):
    lesson, refined_frames, occupied = run
    assert occupied >= 35  # the walker is in the station area for most analysed frames
    assert len(refined_frames) >= 0.8 * occupied  # BlazePose replaced the bottom-up keypoints
    reps = lesson["reps"]
    assert set(reps) == {f"walk-{e}" for e in EXERCISES}
    assert {name: r["count"] for name, r in reps.items()} == {name: 0 for name in reps}


def test_walking_person_is_coded_as_moving(run):
    activity = run[0]["activity"]
    assert activity["walking"] + activity["very_active"] > 0.25  # one of two people walks
    assert activity["lying"] < 0.05 and np.isfinite(list(activity.values())).all()


def test_empty_station_is_searched_top_down(shared):
    """A station whose occupant the bottom-up model missed is searched with a crop of the
    station itself; the person found there (hips inside) is added."""
    cap = cv2.VideoCapture(str(shared("media/sports2d_demo.mp4")))
    cap.set(cv2.CAP_PROP_POS_FRAMES, 60)
    ok, image = cap.read()
    cap.release()
    assert ok
    one_thread = SessionOptions(intra_op_threads=1)
    people = PoseEstimator(PoseOptions(tiles=1), one_thread).detect(image)
    box_area = [(430.0, 0.0), (850.0, 0.0), (850.0, 640.0), (430.0, 640.0)]  # the man on the box
    on_box = station_occupant([hips_point(p.kp) for p in people], box_area)
    assert on_box is not None
    missed = [p for i, p in enumerate(people) if i != on_box]
    stations = {"box": StationConfig(exercise="squat", polygon=box_area)}
    hook = station_refine_hook(stations, BlazePoseRefiner(one_thread))
    found = hook(Frame(t=2.0, image=image, index=60), missed)
    assert len(found) == len(missed) + 1
    idx = station_occupant([hips_point(p.kp) for p in found], box_area)
    assert idx == len(found) - 1
    # the refined skeleton agrees with the bottom-up one the hook never saw
    assert np.hypot(*(hips_point(found[idx].kp) - hips_point(people[on_box].kp))) < 40
