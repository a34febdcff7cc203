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
