"""Top-down pose refinement: BlazePose landmarks on an upright square crop around one person.

The crop is an affine warp (scale + rotation + shift) of the frame, so people lying down (sit-ups)
are turned upright first: BlazePose was trained on upright people and collapses otherwise. The
same matrix, inverted, maps the landmarks back to frame pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from sensors.samples import KP, Person

from .runtime import SessionOptions, create_session

INPUT_SIZE = 256
# BlazePose-33 rows giving COCO-17 in order (PROVENANCE.md).
COCO_FROM_BLAZEPOSE = [0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28]
CROP_SCALE = 1.25  # crop side / the person's longer extent, as the model was trained
WIDE_BOX = 1.2  # a box this much wider than tall holds someone lying down
MIN_KP_SCORE = 0.2  # keypoints of the hint trusted for the crop
TORSO_PER_SHOULDER = 1.3  # shoulder-to-hip length / shoulder width of an adult, roughly
TURNS = (0.0, math.pi / 2, -math.pi / 2)  # a person on the floor may lie either way


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def crop_matrix(center: tuple[float, float], side: float, angle: float) -> np.ndarray:
    """2x3 affine from frame pixels to the model input: ``center`` to the middle, ``side`` pixels
    to :data:`INPUT_SIZE`, then rotated by ``angle`` radians (image axes, y down)."""
    s = INPUT_SIZE / side
    c, n = math.cos(angle) * s, math.sin(angle) * s
    cx, cy = center
    half = INPUT_SIZE / 2
    return np.array([[c, -n, half - c * cx + n * cy],
                     [n, c, half - n * cx - c * cy]], dtype=np.float64)


def upright_angle(lower: np.ndarray, upper: np.ndarray) -> float:
    """Rotation (radians) that turns the direction ``lower`` -> ``upper`` to point straight up."""
    dx, dy = upper - lower
    return -math.pi / 2 - math.atan2(dy, dx)


def _mid(kp: np.ndarray, names: tuple[str, str]) -> np.ndarray | None:
    """Midpoint of two keypoints when both are trusted, else None."""
    pair = kp[[KP[names[0]], KP[names[1]]]]
    return pair[:, :2].mean(axis=0) if (pair[:, 2] >= MIN_KP_SCORE).all() else None


def _box_crops(box: np.ndarray) -> list[np.ndarray]:
    x1, y1, x2, y2 = box
    centre, w, h = ((x1 + x2) / 2, (y1 + y2) / 2), x2 - x1, y2 - y1
    side = CROP_SCALE * max(w, h)
    angles = [math.pi / 2, -math.pi / 2] if w > WIDE_BOX * h else [0.0]
    return [crop_matrix(centre, side, a) for a in angles]


def _keypoint_crop(kp: np.ndarray) -> np.ndarray:
    """BlazePose's own ROI rule: centred on the hips, side 2 x 1.25 x the farthest keypoint
    (head) from them, turned so the body axis points up. Hips that are out of frame (upper-body
    views) are placed one torso (TORSO_PER_SHOULDER shoulder widths) below the shoulders."""
    seen = kp[:, 2] >= MIN_KP_SCORE
    if seen.sum() < 2:
        raise ValueError(f"need a box or at least two keypoints scoring >= {MIN_KP_SCORE}")
    shoulders, hips = _mid(kp, ("l_shoulder", "r_shoulder")), _mid(kp, ("l_hip", "r_hip"))
    nose = kp[KP["nose"], :2] if seen[KP["nose"]] else None
    angle = 0.0
    if shoulders is not None and hips is not None:
        angle = upright_angle(hips, shoulders)
    elif shoulders is not None and nose is not None:
        angle = upright_angle(shoulders, nose)
    centre = hips
    if centre is None and shoulders is not None:
        width = float(np.linalg.norm(kp[KP["l_shoulder"], :2] - kp[KP["r_shoulder"], :2]))
        down = np.array([math.sin(angle), math.cos(angle)])  # crop's +y axis in frame pixels
        centre = shoulders + TORSO_PER_SHOULDER * width * down
    if centre is None:
        centre = kp[seen, :2].mean(axis=0)
    radius = float(np.linalg.norm(kp[seen, :2] - centre, axis=1).max())
    return crop_matrix(tuple(centre), 2 * CROP_SCALE * radius, angle)


def crops_for(hint: np.ndarray) -> list[np.ndarray]:
    """Candidate crop matrices for a person given as a box (x1, y1, x2, y2) or COCO-17 keypoints.

    A box: side 1.25 x its longer edge, upright when tall; when wide the person lies, but
    whether the head is left or right is unknown, so both quarter turns are returned and the
    caller keeps the one the model is surer of. Keypoints: see :func:`_keypoint_crop`.
    """
    hint = np.asarray(hint, dtype=np.float64)
    if hint.shape == (4,):
        return _box_crops(hint)
    return [_keypoint_crop(hint.reshape(17, 3))]


@dataclass(frozen=True)
class CropResult:
    """Landmarks of one crop: ``points`` (33, 3) frame pixels + score, the model's pose presence,
    and whether the pose came out upright in the crop."""

    points: np.ndarray
    presence: float
    upright: bool


class BlazePoseRefiner:
    """BlazePose landmark model on person crops; one ONNX session, reused."""

    def __init__(self, options: SessionOptions = SessionOptions(),
                 models_dir: Path | None = None, min_presence: float = 0.5):
        """Load the model (warm-up included). ``min_presence``: below it, no person is returned."""
        warm = {"input_1": np.zeros((1, INPUT_SIZE, INPUT_SIZE, 3), np.float32)}
        self.session = create_session("blazepose_landmark_full", options, models_dir, warmup=warm)
        self.min_presence = min_presence

    def landmarks(self, image_bgr: np.ndarray, matrix: np.ndarray) -> CropResult:
        """BlazePose-33 landmarks of one crop, mapped back to frame pixels."""
        crop = cv2.warpAffine(image_bgr, matrix, (INPUT_SIZE, INPUT_SIZE), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
        tensor = cv2.cvtColor(crop, cv2.COLOR_BGR2RGB).astype(np.float32)[None] / 255.0
        raw, present = self.session.run(["Identity", "Identity_1"], {"input_1": tensor})
        rows = raw.reshape(39, 5)[:33]
        inverse = cv2.invertAffineTransform(matrix)
        xy = rows[:, :2] @ inverse[:, :2].T + inverse[:, 2]
        presence = float(present.ravel()[0])
        score = _sigmoid(rows[:, 3]) * presence
        # Upside-down crops still get a high presence, with the head drawn below the hips:
        # only a head above the hips in the crop means the crop was turned the right way.
        upright = bool(rows[0, 1] < rows[[23, 24], 1].mean())
        return CropResult(np.column_stack([xy, score]).astype(np.float32), presence, upright)

    def search(self, image_bgr: np.ndarray, keypoints: np.ndarray, scale: float = 2.5,
               min_score: float = 0.05) -> Person | None:
        """Re-find a person whose bottom-up skeleton is a fragment (typically someone on the
        floor): a square crop ``scale`` x the extent of the fragment's keypoints (score >=
        ``min_score``) around their centre, tried upright and at both quarter turns; the crop
        with an upright pose of the highest presence wins. None when no crop reaches
        ``min_presence`` or fewer than two keypoints are given.
        """
        seen = keypoints[:, 2] >= min_score
        if seen.sum() < 2:
            return None
        pts = keypoints[seen, :2].astype(np.float64)
        low, high = pts.min(axis=0), pts.max(axis=0)
        side = scale * max(float((high - low).max()), 16.0)
        centre = tuple((low + high) / 2)
        results = [self.landmarks(image_bgr, crop_matrix(centre, side, a)) for a in TURNS]
        return self._person(max(results, key=lambda r: (r.upright, r.presence)))

    def find(self, image_bgr: np.ndarray, box: np.ndarray) -> Person | None:
        """The person in ``box`` (x1, y1, x2, y2: a station), whichever way they lie: the box's
        crop tried upright and at both quarter turns (a camera mounted on its side, or a sit-up
        seen along the mat, shows people at any angle); None below ``min_presence``."""
        x1, y1, x2, y2 = np.asarray(box, dtype=np.float64)
        centre, side = ((x1 + x2) / 2, (y1 + y2) / 2), CROP_SCALE * max(x2 - x1, y2 - y1)
        results = [self.landmarks(image_bgr, crop_matrix(centre, side, a)) for a in TURNS]
        return self._person(max(results, key=lambda r: (r.upright, r.presence)))

    def _person(self, best: CropResult) -> Person | None:
        if best.presence < self.min_presence:
            return None
        kp = best.points[COCO_FROM_BLAZEPOSE]
        return Person(kp=kp, score=float(kp[:, 2].mean()))

    def refine(self, image_bgr: np.ndarray, box_or_kp: np.ndarray) -> Person | None:
        """COCO-17 keypoints (frame pixels) of the person hinted by a box (x1, y1, x2, y2) or by
        keypoints (17, 3); None when the best crop's pose presence is below ``min_presence``.

        :raises ValueError: when keypoints are given but fewer than two are trusted.
        """
        results = [self.landmarks(image_bgr, m) for m in crops_for(box_or_kp)]
        return self._person(max(results, key=lambda r: (r.upright, r.presence)))
