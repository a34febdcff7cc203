"""Repetition counting on real exercise videos (../shared/media/exercise/, truth.csv): the
station pipeline at the clips' full frame rate (BlazePose following the person, the station's
box searched at every quarter turn when lost) and the repetition counter. Every clip must be
counted within 1 of its true count: a portrait sit-up with the body along the image's vertical
axis, jumping jacks, side-view rope skipping, squats (whose convention accepts 2-4)."""

from __future__ import annotations

import csv

import cv2
import numpy as np
import pytest

from edge.metrics.pe.reps import RepCounter
from edge.metrics.pe.stations import StationPose
from models.blazepose import BlazePoseRefiner
from sensors.video import VideoFileSource
from models.runtime import SessionOptions
from tests.conftest import shared_file

EXERCISE = {"sit_up": "situp", "jumping_jack": "jumping_jack", "rope_skipping": "rope_skip",
            "squat": "squat"}


def _clips() -> list[dict]:
    with open(shared_file("media/exercise/truth.csv"), newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def refiner() -> BlazePoseRefiner:
    return BlazePoseRefiner(SessionOptions(intra_op_threads=1))


@pytest.mark.parametrize("clip", _clips(), ids=lambda c: c["exercise"])
def test_real_clip_is_counted_within_one(clip, refiner):
    cap = cv2.VideoCapture(str(shared_file(f"media/exercise/{clip['file']}")))
    fps = cap.get(cv2.CAP_PROP_FPS)
    width, height = cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT)
    whole = [(0.0, 0.0), (width, 0.0), (width, height), (0.0, height)]  # the station: the view
    station, counter = StationPose(refiner, whole), RepCounter(EXERCISE[clip["exercise"]])
    index = seen = 0
    while True:
        ok, image = cap.read()
        if not ok:
            break
        kp = station.update(image)
        if kp is not None:
            seen += 1
            counter.update(index / fps, kp)
        index += 1
    cap.release()
    assert index > 200 and seen >= 0.85 * index  # the person is followed through the clip
    truth = int(clip["gt_count"])
    print(f"{clip['file']}: {counter.count} counted, truth {truth}")
    assert abs(counter.count - truth) <= 1, (counter.count, truth)


@pytest.mark.parametrize("exercise", ["rope_skipping", "jumping_jack"])
def test_at_the_overview_rate_the_fast_clips_are_missed(exercise, refiner):
    """Why a station has a loop of its own in `edge run` (tests/test_daemon_stations.py): the
    same station pipeline on the same clip at the classroom overview's 2 frames/s misses most
    repetitions, at the 15 frames/s of pe.station_fps it counts them."""
    clip = next(c for c in _clips() if c["exercise"] == exercise)
    path = shared_file(f"media/exercise/{clip['file']}")
    counts = {}
    for fps in (2.0, 15.0):
        with VideoFileSource(path, fps=fps) as source:
            station, counter = None, RepCounter(EXERCISE[exercise])
            for frame in source:
                if station is None:
                    width, height = frame.size
                    station = StationPose(refiner, [(0, 0), (width, 0), (width, height),
                                                    (0, height)])
                if (kp := station.update(frame.image)) is not None:
                    counter.update(frame.t, kp)
        counts[fps] = counter.count
    truth = int(clip["gt_count"])
    print(f"{clip['file']}: {counts} counted at 2 and 15 fps, truth {truth}")
    assert counts[2.0] < truth / 2 and abs(counts[15.0] - truth) <= 1, (counts, truth)


class _CountedSearches:
    """The real model, counting its searches of the station's box."""

    def __init__(self, refiner: BlazePoseRefiner) -> None:
        self.refiner, self.finds = refiner, 0

    def refine(self, image, kp):
        return self.refiner.refine(image, kp)

    def find(self, image, box):
        self.finds += 1
        return self.refiner.find(image, box)


def test_a_person_just_lost_is_searched_on_every_frame_an_empty_station_twice_a_second(refiner):
    """The station loop's search budget: the skipper leaves (grey frames from then on), so the
    first half second is searched on every frame, then twice a second."""
    with VideoFileSource(shared_file("media/exercise/chenwr727_ropeskip_demo.mp4")) as source:
        frames = [f.image for f, _ in zip(source, range(60))]
    counted = _CountedSearches(refiner)
    h, w = frames[0].shape[:2]
    pose = StationPose(counted, [(0, 0), (w, 0), (w, h), (0, h)], search_every_s=0.5)
    assert all(pose.update(image, i / 15) is not None for i, image in enumerate(frames[40:60]))
    grey = np.full_like(frames[0], 128)
    assert all(pose.update(grey, (20 + i) / 15) is None for i in range(45))  # 3 s, nobody
    print(f"{counted.finds} searches")
    # the first found the skipper; 8 frames in the first 0.5 s after losing, then every 0.5 s
    assert 1 + 8 + 4 <= counted.finds <= 1 + 9 + 6, counted.finds
