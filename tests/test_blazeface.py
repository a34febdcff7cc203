"""Face finding and blurring on the real astronaut photo; everything stays in memory."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest
from conftest import shared_file

from models.blazeface import FaceBox, FaceDetector, anchors, blur_faces, weighted_nms
from models.runtime import SessionOptions
from sensors.samples import KP

FACE_CENTRE = (0.44, 0.25)  # of the 512x512 image, measured by eye (PROVENANCE agrees)


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector(SessionOptions(intra_op_threads=1))


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return cv2.imread(str(shared_file("media/skimage_astronaut.png")))


def best_face_near(faces: list[FaceBox], x: float, y: float, radius: float) -> FaceBox | None:
    near = [f for f in faces if np.hypot((f.x1 + f.x2) / 2 - x, (f.y1 + f.y2) / 2 - y) < radius]
    return max(near, key=lambda f: f.score, default=None)


def laplacian_variance(image: np.ndarray) -> float:
    return float(cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var())


def test_anchor_layout() -> None:
    a = anchors()
    assert a.shape == (896, 2)
    assert np.allclose(a[0], a[1]) and np.allclose(a[0], [1 / 32, 1 / 32])  # 2 per 16x16 cell
    assert np.allclose(a[512:518], [1 / 16, 1 / 16])  # then 6 per 8x8 cell
    assert np.allclose(a[-1], [15 / 16, 15 / 16])


def test_weighted_nms_merges_overlaps_keeps_separate() -> None:
    boxes = np.array([[0.0, 0, 10, 10, 0.9], [1, 1, 11, 11, 0.6], [50, 50, 60, 60, 0.7]])
    merged = weighted_nms(boxes)
    assert len(merged) == 2
    assert merged[0, 4] == pytest.approx(0.9)
    assert 0 < merged[0, 0] < 1  # pulled towards the weaker overlapping box
    assert np.allclose(merged[1], boxes[2])


def test_astronaut_face_found(detector, astronaut) -> None:
    h, w = astronaut.shape[:2]
    face = best_face_near(detector.detect_faces(astronaut), FACE_CENTRE[0] * w,
                          FACE_CENTRE[1] * h, 0.03 * w)
    assert face is not None and face.score > 0.8
    assert 70 < face.x2 - face.x1 < 140  # her face is ~100 px wide


def test_small_face_in_wide_frame_found_by_tiles(detector, astronaut) -> None:
    """The same face ~30 px wide in a 1920x1080 frame, too small for one whole-frame pass."""
    small = cv2.resize(astronaut, None, fx=0.3, fy=0.3, interpolation=cv2.INTER_AREA)
    frame = np.full((1080, 1920, 3), 128, np.uint8)
    x0, y0 = 1300, 600
    frame[y0:y0 + small.shape[0], x0:x0 + small.shape[1]] = small
    whole = detector.detect_square(frame, 0, 0, 1920)  # one pass over the frame: too small
    cx, cy = x0 + 0.44 * small.shape[1], y0 + 0.25 * small.shape[0]
    assert not any(np.hypot((b[0] + b[2]) / 2 - cx, (b[1] + b[3]) / 2 - cy) < 15 for b in whole)
    face = best_face_near(detector.detect_faces(frame), cx, cy, 15)
    assert face is not None and face.score > 0.5


def test_heads_without_a_found_face_are_still_covered(detector, astronaut) -> None:
    wall = np.full((300, 300, 3), 128, np.uint8)
    kp = np.zeros((17, 3), np.float32)
    kp[KP["nose"]], kp[KP["l_eye"]], kp[KP["r_eye"]] = (150, 150, 0.9), (160, 140, 0.9), (140, 140, 0.9)
    covered = detector.detect_faces(wall, [kp])
    assert len(covered) == 1 and covered[0].score == 0.0
    assert covered[0].x1 < 150 < covered[0].x2 and covered[0].y1 < 150 < covered[0].y2
    assert detector.detect_faces(wall, [kp], cover_heads=False) == []
    her = np.zeros((17, 3), np.float32)
    her[KP["nose"]], her[KP["l_eye"]], her[KP["r_eye"]] = (224, 126, 0.9), (245, 103, 0.9), (202, 102, 0.9)
    faces = detector.detect_faces(astronaut, [her])
    assert best_face_near(faces, 224, 128, 20).score > 0.8
    assert all(f.score > 0 for f in faces)  # her face was found: no score-0 stand-in added


def test_blur_removes_face_detail_only(detector, astronaut, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    original = astronaut.copy()
    faces = detector.detect_faces(astronaut)
    blurred = blur_faces(astronaut, faces)
    assert np.array_equal(astronaut, original)  # input untouched
    assert not np.shares_memory(blurred, astronaut)
    face = best_face_near(faces, 0.44 * 512, 0.25 * 512, 15)
    x1, y1, x2, y2 = int(face.x1), int(face.y1), int(face.x2), int(face.y2)
    before = laplacian_variance(original[y1:y2, x1:x2])
    after = laplacian_variance(blurred[y1:y2, x1:x2])
    assert after * 50 < before, (before, after)
    # Far from every face (flag, lower-left corner), not one pixel changed.
    assert np.array_equal(blurred[380:512, 0:60], original[380:512, 0:60])
    assert os.listdir(tmp_path) == []  # nothing written
