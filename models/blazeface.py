"""Faces, found only to be blurred: BlazeFace short-range decoding, tiling, and the blur itself.

Used for the one image a technician may see (SPEC 3.1: a calibration snapshot with every face
blurred, never stored). Everything here works in memory and returns new arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np

from sensors.samples import KP

from .runtime import SessionOptions, create_session

INPUT_SIZE = 128
HEAD_POINTS = [KP[n] for n in ("nose", "l_eye", "r_eye", "l_ear", "r_ear")]


@dataclass(frozen=True)
class FaceBox:
    """A face in frame pixels (x1, y1, x2, y2) with its score 0..1."""

    x1: float
    y1: float
    x2: float
    y2: float
    score: float


@cache
def anchors() -> np.ndarray:
    """The 896 SSD anchor centres (x, y in 0..1) of the short-range model: 2 per cell of the
    16x16 grid (stride 8), then 6 per cell of the 8x8 grid (strides 16, three layers merged)."""
    centres = []
    for grid, per_cell in ((16, 2), (8, 6)):
        ys, xs = np.mgrid[0:grid, 0:grid]
        cell = np.stack([(xs.ravel() + 0.5) / grid, (ys.ravel() + 0.5) / grid], axis=1)
        centres.append(np.repeat(cell, per_cell, axis=0))
    return np.concatenate(centres).astype(np.float32)


def decode(regressors: np.ndarray, logits: np.ndarray, min_score: float) -> np.ndarray:
    """Boxes (N, 5: x1, y1, x2, y2 in 0..1 of the input, score) above ``min_score``, before NMS."""
    reg = regressors.reshape(-1, 16)
    scores = 1.0 / (1.0 + np.exp(-np.clip(logits.reshape(-1).astype(np.float64), -100, 100)))
    keep = scores >= min_score
    centre = anchors()[keep] + reg[keep, 0:2] / INPUT_SIZE
    half = reg[keep, 2:4] / INPUT_SIZE / 2
    return np.column_stack([centre - half, centre + half, scores[keep]])


def iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Intersection over union of one box (x1, y1, x2, y2, ...) with each row of ``others``."""
    lo = np.maximum(box[:2], others[:, :2])
    hi = np.minimum(box[2:4], others[:, 2:4])
    inter = np.prod(np.clip(hi - lo, 0, None), axis=1)
    area = lambda b: np.prod(b[..., 2:4] - b[..., :2], axis=-1)
    return inter / np.maximum(area(box) + area(others) - inter, 1e-9)


def weighted_nms(boxes: np.ndarray, threshold: float = 0.3) -> np.ndarray:
    """MediaPipe's weighted NMS: each cluster of overlapping boxes becomes their score-weighted
    mean (steadier than keeping only the best anchor), with the best score. Rows are
    (x1, y1, x2, y2, score, ...): columns after the score (landmarks) are averaged too."""
    order = boxes[np.argsort(-boxes[:, 4])]
    merged = []
    while len(order):
        overlap = iou(order[0], order) > threshold
        cluster = order[overlap]
        weights = cluster[:, 4:5]
        row = (cluster * weights).sum(axis=0) / weights.sum()
        row[4] = cluster[0, 4]
        merged.append(row)
        order = order[~overlap]
    return np.array(merged, dtype=np.float32).reshape(-1, boxes.shape[1])


def tiles(width: int, height: int, side: int, overlap: float) -> list[tuple[int, int, int]]:
    """Square regions (x, y, side) covering the frame, neighbours overlapping by ``overlap``."""
    step = max(1, int(side * (1 - overlap)))

    def starts(length: int) -> list[int]:
        if length <= side:
            return [0]
        return sorted(set(list(range(0, length - side, step)) + [length - side]))

    return [(x, y, side) for y in starts(height) for x in starts(width)]


def head_regions(people_kp: list[np.ndarray], min_kp_score: float = 0.2) -> list[tuple[int, int, int]]:
    """A square (x, y, side) around each person's head keypoints, wide enough that the face fills
    about a third of it, as the short-range model expects."""
    regions = []
    for kp in people_kp:
        head = kp[HEAD_POINTS]
        head = head[head[:, 2] >= min_kp_score, :2]
        if len(head) == 0:
            continue
        spread = float(np.ptp(head, axis=0).max()) if len(head) > 1 else 0.0
        shoulders = kp[[KP["l_shoulder"], KP["r_shoulder"]]]
        if (shoulders[:, 2] >= min_kp_score).all():
            spread = max(spread, 0.5 * float(np.linalg.norm(shoulders[0, :2] - shoulders[1, :2])))
        side = max(int(3.5 * spread), 24)
        cx, cy = head.mean(axis=0)
        regions.append((int(cx - side / 2), int(cy - side / 2), side))
    return regions


class FaceDetector:
    """BlazeFace short range over the whole frame, overlapping tiles and head regions."""

    def __init__(self, options: SessionOptions = SessionOptions(), models_dir: Path | None = None,
                 min_score: float = 0.5, tile_sides: tuple[int, ...] = (256, 128),
                 tile_overlap: float = 0.3):
        """Load the model. ``tile_sides``: tile sizes in frame pixels; a tile finds faces from
        about a sixth of its side up, so the smallest tile sets the smallest face found (head
        regions from pose keypoints reach smaller ones). Tiles larger than the frame are skipped."""
        warm = {"input": np.zeros((1, INPUT_SIZE, INPUT_SIZE, 3), np.float32)}
        self.session = create_session("blazeface_short_range", options, models_dir, warmup=warm)
        self.min_score = min_score
        self.tile_sides = tile_sides
        self.tile_overlap = tile_overlap

    def detect_square(self, image_bgr: np.ndarray, x: int, y: int, side: int) -> np.ndarray:
        """Faces (N, 5 in frame pixels, before NMS) in the square (x, y, side); the parts of the
        square outside the frame are black, so faces keep their shape at the edges."""
        scale = INPUT_SIZE / side
        matrix = np.array([[scale, 0, -x * scale], [0, scale, -y * scale]], dtype=np.float64)
        crop = cv2.warpAffine(image_bgr, matrix, (INPUT_SIZE, INPUT_SIZE), flags=cv2.INTER_AREA,
                              borderMode=cv2.BORDER_CONSTANT)
        tensor = cv2.cvtColor(crop, cv2.COLOR_BGR2RGB).astype(np.float32)[None] / 127.5 - 1.0
        regressors, logits = self.session.run(["regressors", "classificators"], {"input": tensor})
        found = decode(regressors, logits, self.min_score)
        found[:, [0, 2]] = found[:, [0, 2]] * side + x
        found[:, [1, 3]] = found[:, [1, 3]] * side + y
        return found

    def detect_faces(self, image_bgr: np.ndarray, people_kp: list[np.ndarray] | None = None,
                     cover_heads: bool = True) -> list[FaceBox]:
        """Every face found in the whole frame, in overlapping tiles and around the heads of
        ``people_kp`` (COCO-17 arrays) when given; duplicates across regions merged. With
        ``cover_heads``, a head where no face was found gets a box anyway (score 0)."""
        h, w = image_bgr.shape[:2]
        regions = [(0, 0, max(w, h))]
        for side in self.tile_sides:
            if max(w, h) > side:
                regions += tiles(w, h, side, self.tile_overlap)
        heads = head_regions(people_kp or [])
        found = [self.detect_square(image_bgr, *r) for r in regions + heads]
        merged = weighted_nms(np.concatenate(found))
        if cover_heads:
            merged = np.concatenate([merged, _uncovered_heads(heads, merged)])
        return [FaceBox(*map(float, row)) for row in merged]


def _uncovered_heads(heads: list[tuple[int, int, int]], faces: np.ndarray) -> np.ndarray:
    """Boxes (score 0) for head regions with no face centre inside their middle half: for
    blurring, a missed face (turned away, tiny, blurred) costs more than an extra blur."""
    boxes = []
    for x, y, side in heads:
        core = np.array([x + side / 4, y + side / 4, x + 3 * side / 4, y + 3 * side / 4])
        centres = (faces[:, :2] + faces[:, 2:4]) / 2
        inside = ((centres >= core[:2]) & (centres <= core[2:])).all(axis=1)
        if not inside.any():
            boxes.append([*core, 0.0])
    return np.array(boxes, dtype=np.float32).reshape(-1, 5)


def blur_faces(image_bgr: np.ndarray, boxes: list[FaceBox], margin: float = 0.3,
               blocks: int = 6, in_place: bool = False) -> np.ndarray:
    """A copy of the image with every face box (grown by ``margin`` of its size on each side)
    pixelated to ``blocks`` x ``blocks`` cells and then smoothed, so no facial detail survives.
    The input is not modified, unless ``in_place`` (for a copy the caller made: one full frame
    less in memory)."""
    out = image_bgr if in_place else image_bgr.copy()
    h, w = out.shape[:2]
    for b in boxes:
        mx, my = margin * (b.x2 - b.x1), margin * (b.y2 - b.y1)
        x1, y1 = max(int(b.x1 - mx), 0), max(int(b.y1 - my), 0)
        x2, y2 = min(int(np.ceil(b.x2 + mx)), w), min(int(np.ceil(b.y2 + my)), h)
        if x2 <= x1 or y2 <= y1:
            continue
        region = out[y1:y2, x1:x2]
        small = cv2.resize(region, (blocks, blocks), interpolation=cv2.INTER_AREA)
        coarse = cv2.resize(small, (x2 - x1, y2 - y1), interpolation=cv2.INTER_NEAREST)
        kernel = max(3, (min(x2 - x1, y2 - y1) // blocks) | 1)
        out[y1:y2, x1:x2] = cv2.GaussianBlur(coarse, (kernel, kernel), 0)
    return out
