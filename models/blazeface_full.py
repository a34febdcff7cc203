"""BlazeFace full range: faces at a distance (2-5 m), as evidence of people whose bodies are hidden.

Decoding follows MediaPipe's ``face_detection_full_range`` graph: a 192x192 input, one SSD layer
of stride 4 (a 48x48 grid, one fixed-size anchor per cell: 2304 anchors), regressors
(x, y, w, h, then 6 keypoints x, y) in input pixels relative to the anchor centre, sigmoid
scores, weighted NMS. The 6 keypoints are the subject's right eye, left eye, nose tip, mouth
centre, right ear tragion, left ear tragion.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np

from sensors.samples import KP

from .blazeface import weighted_nms
from .runtime import SessionOptions, create_session

INPUT_SIZE = 192
GRID = 48
# MediaPipe's keypoint order -> COCO-17 index (the mouth centre has no COCO point).
COCO_OF_LANDMARK = {0: KP["r_eye"], 1: KP["l_eye"], 2: KP["nose"], 4: KP["r_ear"], 5: KP["l_ear"]}
# MediaPipe's own threshold for this model (min_score_thresh in the graph).
MIN_SCORE = 0.6
# A tile is seen at 192 px: 576-px tiles (scale 1/3) keep a 1080p classroom's 30-60 px heads
# at 10-20 input px, inside the 2-5 m range the model was trained for.
TILE_SIDE = 576
# Neighbouring tiles share >= 115 px at 576: more than the largest face these tiles serve.
TILE_OVERLAP = 0.2


@dataclass(frozen=True)
class Face:
    """One face in frame pixels: box (x1, y1, x2, y2), score, and its 6 landmarks (6, 2)."""

    box: tuple[float, float, float, float]
    score: float
    landmarks: np.ndarray

    @property
    def centre(self) -> np.ndarray:
        """The box centre (x, y)."""
        return np.array([(self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2])

    @property
    def width(self) -> float:
        """The box width in pixels (BlazeFace boxes are square)."""
        return self.box[2] - self.box[0]


def face_tiles(width: int, height: int, side: int = TILE_SIDE,
               overlap: float = TILE_OVERLAP) -> list[tuple[int, int, int]]:
    """The square tiles (x, y, side) the face pass runs over a frame: the fewest evenly spaced
    ones whose neighbours overlap by at least ``overlap`` of ``side`` (one tile when the frame
    fits in it). Evenly spaced, not a fixed step plus a last tile at the edge, which would
    add a column or row that mostly repeats its neighbour (15 tiles instead of 12 at 1080p)."""
    side = min(side, max(width, height))

    def starts(length: int) -> list[int]:
        if length <= side:
            return [0]
        count = math.ceil((length - side) / (side * (1 - overlap))) + 1
        return [round(i * (length - side) / (count - 1)) for i in range(count)]

    return [(x, y, side) for y in starts(height) for x in starts(width)]


@cache
def anchors() -> np.ndarray:
    """The 2304 anchor centres (x, y in 0..1): one per cell of the 48x48 grid, row by row."""
    ys, xs = np.mgrid[0:GRID, 0:GRID]
    return np.stack([(xs.ravel() + 0.5) / GRID, (ys.ravel() + 0.5) / GRID], axis=1).astype(np.float32)


def decode(regressors: np.ndarray, logits: np.ndarray, min_score: float) -> np.ndarray:
    """Rows (N, 17: x1, y1, x2, y2, score, then 6 landmarks x, y), all in 0..1 of the input,
    above ``min_score``, before NMS."""
    reg = regressors.reshape(-1, 16)
    scores = 1.0 / (1.0 + np.exp(-np.clip(logits.reshape(-1).astype(np.float64), -100, 100)))
    keep = scores >= min_score
    anchor = anchors()[keep]
    centre = anchor + reg[keep, 0:2] / INPUT_SIZE
    half = reg[keep, 2:4] / INPUT_SIZE / 2
    marks = reg[keep, 4:16].reshape(-1, 6, 2) / INPUT_SIZE + anchor[:, None, :]
    return np.column_stack([centre - half, centre + half, scores[keep], marks.reshape(-1, 12)])


class FullRangeFaces:
    """BlazeFace full range over overlapping square tiles of a frame."""

    def __init__(self, options: SessionOptions = SessionOptions(), models_dir: Path | None = None,
                 min_score: float = MIN_SCORE, tile_side: int = TILE_SIDE,
                 tile_overlap: float = TILE_OVERLAP):
        """Load and warm the model. ``tile_side``: tile size in frame pixels (a frame smaller
        than it is one tile).

        :raises models.runtime.ModelError: when the model cannot be found or loaded.
        """
        warm = {"input_1": np.zeros((1, INPUT_SIZE, INPUT_SIZE, 3), np.float32)}
        self.session = create_session("blazeface_full_range", options, models_dir, warmup=warm)
        self.min_score = min_score
        self.tile_side = tile_side
        self.tile_overlap = tile_overlap
        # Wall and thread CPU seconds inside the network in the last detect call (model time,
        # apart from the warps and decoding around it).
        self.last_model_s = self.last_model_cpu_s = 0.0

    def regions(self, width: int, height: int) -> list[tuple[int, int, int]]:
        """The tiles (x, y, side) :meth:`detect` runs for a frame size."""
        return face_tiles(width, height, self.tile_side, self.tile_overlap)

    def detect_square(self, image_bgr: np.ndarray, x: int, y: int, side: int) -> np.ndarray:
        """Decoded rows (see :func:`decode`) in frame pixels for the square (x, y, side); parts
        outside the frame are black."""
        scale = INPUT_SIZE / side
        matrix = np.array([[scale, 0, -x * scale], [0, scale, -y * scale]], dtype=np.float64)
        crop = cv2.warpAffine(image_bgr, matrix, (INPUT_SIZE, INPUT_SIZE), flags=cv2.INTER_AREA,
                              borderMode=cv2.BORDER_CONSTANT)
        tensor = cv2.cvtColor(crop, cv2.COLOR_BGR2RGB).astype(np.float32)[None] / 127.5 - 1.0
        t, c = time.perf_counter(), time.thread_time()
        regressors, logits = self.session.run(["Identity", "Identity_1"], {"input_1": tensor})
        self.last_model_s += time.perf_counter() - t
        self.last_model_cpu_s += time.thread_time() - c
        rows = decode(regressors, logits, self.min_score)
        rows[:, [0, 2, 5, 7, 9, 11, 13, 15]] = rows[:, [0, 2, 5, 7, 9, 11, 13, 15]] * side + x
        rows[:, [1, 3, 6, 8, 10, 12, 14, 16]] = rows[:, [1, 3, 6, 8, 10, 12, 14, 16]] * side + y
        return rows

    def detect(self, image_bgr: np.ndarray) -> list[Face]:
        """Every face in the frame's tiles, duplicates across tiles merged."""
        h, w = image_bgr.shape[:2]
        self.last_model_s = self.last_model_cpu_s = 0.0
        found = [self.detect_square(image_bgr, *r) for r in self.regions(w, h)]
        merged = weighted_nms(np.concatenate(found).reshape(-1, 17))
        return [Face(tuple(map(float, r[:4])), float(r[4]), r[5:17].reshape(6, 2).copy())
                for r in merged]
