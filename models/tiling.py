"""Explicit column tiling (``pose.tiles = N``), and merging the people found by several passes.

Tiles were the automatic rule before the scale-aware pass plan (:mod:`models.pass_plan`); they
stay for configurations that ask for N columns. Each tile has the network input's aspect ratio
(rows are added to cover the frame) and neighbours overlap by ``overlap`` of the tile width.
The whole frame is run too, because a person taller than a tile (the teacher near the camera) is
found whole only there; for a frame larger than the input box that pass runs in a smaller box
(:data:`WHOLE_FRAME_BOX` of each side: half the pixels) where such a person still spans well
over 100 px.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sensors.samples import Person

WHOLE_FRAME_BOX = 0.7  # share of the input box's sides for the whole frame when tiling
MIN_KP_SCORE = 0.05  # every keypoint the decoder keeps is a peak above its 0.05 threshold
DUPLICATE_SIMILARITY = 0.5  # OKS-like similarity above which two detections are one person
# COCO's per-keypoint OKS tolerances (nose, eyes, ears, shoulders, elbows, wrists, hips, knees,
# ankles), as pycocotools defines them.
COCO_SIGMAS = np.array([.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87,
                        .87, .89, .89]) / 10.0


@dataclass(frozen=True)
class Tile:
    """A rectangle of the frame in pixels: x, y of its top-left corner, width, height, and the
    share of the network input box's sides it is fitted into."""

    x: int
    y: int
    w: int
    h: int
    box: float = 1.0


def _starts(length: int, tile: int, count: int) -> list[int]:
    """``count`` evenly spread starts so tiles of size ``tile`` cover ``length`` exactly."""
    if count <= 1:
        return [0]
    step = (length - tile) / (count - 1)
    return [round(i * step) for i in range(count)]


def plan_tiles(width: int, height: int, input_width: int, input_height: int, tiles: int,
               overlap: float) -> list[Tile]:
    """Tiles to run for a ``width`` x ``height`` frame; the whole frame always comes first.

    ``tiles`` is the number of columns (<= 1: the whole frame only); rows are added so each
    tile has the network input's aspect ratio.
    """
    whole = Tile(0, 0, width, height)
    columns = tiles
    if columns <= 1:
        return [whole]
    fit_scale = min(input_width / width, input_height / height)
    tile_w = math.ceil(width / (columns - (columns - 1) * overlap))
    tile_h = min(height, math.ceil(tile_w * input_height / input_width))
    # Rows may overlap down to half the asked overlap before another row is added: otherwise
    # 1080 rows of 599 px would need a third row for want of a pixel.
    rows = 1 + max(0, math.ceil((height - tile_h) / (tile_h * (1 - overlap / 2))))
    if fit_scale < 1:  # a high-resolution frame: see WHOLE_FRAME_BOX in the module docstring
        whole = Tile(0, 0, width, height, WHOLE_FRAME_BOX)
    return [whole] + [
        Tile(x, y, tile_w, tile_h)
        for y in _starts(height, tile_h, rows) for x in _starts(width, tile_w, columns)
    ]


def similarities(kp: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Object keypoint similarity (0..1, COCO's OKS) of one keypoint set ``kp`` (17, 3) with each
    of ``others`` (m, 17, 3), over the keypoints both have, with COCO's per-keypoint tolerances.

    The size unit is the larger keypoint-box area of the two, so a half person cut at a tile
    edge still matches the whole person it belongs to; the per-keypoint tolerances (a few pixels
    for eyes, more for hips) keep neighbours in a crowd, a shoulder width apart, distinct.
    """
    both = (kp[:, 2] >= MIN_KP_SCORE) & (others[..., 2] >= MIN_KP_SCORE)
    area = np.maximum(np.maximum(_box_areas(others), _box_areas(kp[None])[0]), 1.0)
    d2 = ((others[..., :2] - kp[:, :2]) ** 2).sum(axis=-1)
    close = np.exp(-d2 / (2 * area[:, None] * (2 * COCO_SIGMAS) ** 2))
    shared = both.sum(axis=1)
    return np.where(shared > 0, (close * both).sum(axis=1) / np.maximum(shared, 1), 0.0)


def _box_areas(kps: np.ndarray) -> np.ndarray:
    """Area of the box around each keypoint set's found keypoints (0 with fewer than two)."""
    seen = (kps[..., 2] >= MIN_KP_SCORE)[..., None]
    size = (np.where(seen, kps[..., :2], -np.inf).max(axis=1)
            - np.where(seen, kps[..., :2], np.inf).min(axis=1))
    return np.where(seen.sum(axis=(1, 2)) >= 2, np.prod(size, axis=1), 0.0)


def merge_people(people: list[Person], scales: list[float]) -> list[Person]:
    """One detection per person: each group of mutually similar detections (the same person seen
    by several passes; ``scales[i]`` is the input pixels per frame pixel of the pass that found
    ``people[i]``) becomes one person with the score of its best-scoring member.

    A keypoint found by several members is their inverse-variance weighted mean: a peak is placed
    to a quarter of a stride-8 cell of *input*, so its error in the frame goes as 1 / scale and
    its weight as scale squared (the zoomed or enlarged pass counts most); its confidence is the
    highest of theirs. A keypoint found by one member only is taken as it is (a wrist found only
    by the zoomed pass, a head found only by the coarse one). Measured on the COCO keypoint set
    (bench/coco_ap.py): AP 0.393 -> 0.411 (AP75 0.43 -> 0.49) against taking the best-scoring
    member's keypoints. Taking the finest member's alone gives about the same AP (0.413) but
    moves small faces by a pixel against their shoulders: the class photo's head-up calls fall
    from 28 to 24 of 32, 25 with the weighted mean (tests/test_head_orientation.py)."""
    kept: list[tuple[Person, np.ndarray]] = []  # with each keypoint's summed weight
    kept_kp = np.zeros((len(people), 17, 3), np.float32)  # kept[i]'s keypoints, compared at once
    for person, scale in sorted(zip(people, scales), key=lambda ps: ps[0].score, reverse=True):
        found = person.kp[:, 2] >= MIN_KP_SCORE
        weight = np.where(found, scale ** 2, 0.0)
        twins = np.flatnonzero(similarities(person.kp, kept_kp[:len(kept)])
                               >= DUPLICATE_SIMILARITY)
        if len(twins) == 0:
            kept_kp[len(kept)] = person.kp
            kept.append((person, weight))
            continue
        twin = int(twins[0])
        base, base_weight = kept[twin]
        total = base_weight + weight
        kp = base.kp.copy()
        seen = total > 0
        kp[seen, :2] = (base.kp[seen, :2] * base_weight[seen, None]
                        + person.kp[seen, :2] * weight[seen, None]) / total[seen, None]
        kp[found, 2] = np.maximum(base.kp[found, 2], person.kp[found, 2])
        kept[twin] = (Person(kp=kp, score=base.score), total)
        kept_kp[twin] = kp
    return [person for person, _ in kept]
