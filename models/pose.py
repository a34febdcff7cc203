"""The bottom-up pose pipeline behind `edge detect` and the classroom camera loop.

``PoseEstimator(PoseOptions(...), SessionOptions(...)).detect(bgr_image)`` returns every person
in the image as COCO-17 keypoints in the image's own pixels; ``last_timings`` tells where the
time of the last call went.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sensors.samples import Person

from .openpose import Letterbox, OpenPoseNet, decode, letterbox
from .runtime import SessionOptions
from .tiling import merge_people, plan_tiles


@dataclass(frozen=True)
class PoseOptions:
    """Pose settings (mirrors edge's PoseConfig; models/ cannot import edge).

    :param model: manifest name or path of the OpenPose-style ONNX model.
    :param input_width: network input box width (multiple of 8).
    :param input_height: network input box height (multiple of 8).
    :param tiles: 0 automatic, 1 never tile, N columns of overlapping tiles.
    :param tile_overlap: overlap between neighbouring tiles, share of the tile width.
    :param min_person_score: drop people whose mean peak/limb score is lower.
    :param min_parts: drop people with fewer parts (OpenPose-18, neck included).
    """

    model: str = "openpose_mobilenet_thin"
    input_width: int = 656
    input_height: int = 368
    tiles: int = 0
    tile_overlap: float = 0.2
    min_person_score: float = 0.2
    min_parts: int = 4


class PoseEstimator:
    """Loads the pose network once; ``detect`` finds all people in BGR images."""

    def __init__(self, options: PoseOptions | None = None,
                 session_options: SessionOptions | None = None,
                 models_dir: Path | None = None):
        """:raises models.runtime.ModelError: when the model cannot be found or loaded."""
        self.options = options = options or PoseOptions()
        self.net = OpenPoseNet(options.model, session_options, models_dir,
                               warmup_size=(options.input_width, options.input_height))
        self.last_timings: dict[str, float] = {}

    def detect(self, image: np.ndarray) -> list[Person]:
        """Every person in ``image`` (BGR uint8 HxWx3), keypoints in its pixel coordinates.

        Runs the whole frame and, for frames that need it, overlapping tiles (see
        :mod:`models.tiling`), then keeps one detection per person.
        """
        o = self.options
        h, w = image.shape[:2]
        ms = {"preprocess": 0.0, "model": 0.0, "decode": 0.0}
        start = time.perf_counter()
        found: list[Person] = []
        tiles = plan_tiles(w, h, o.input_width, o.input_height, o.tiles, o.tile_overlap)
        for tile in tiles:
            t0 = time.perf_counter()
            crop = image[tile.y:tile.y + tile.h, tile.x:tile.x + tile.w]
            tensor, box = letterbox(crop, _box_side(o.input_width, tile.box),
                                    _box_side(o.input_height, tile.box))
            box = Letterbox(box.scale, tile.x, tile.y)
            t1 = time.perf_counter()
            maps, pafs = self.net.run(tensor)
            t2 = time.perf_counter()
            found += decode(maps, pafs, box, o.min_parts, o.min_person_score)
            t3 = time.perf_counter()
            ms["preprocess"] += t1 - t0
            ms["model"] += t2 - t1
            ms["decode"] += t3 - t2
        t4 = time.perf_counter()
        people = merge_people(found) if len(tiles) > 1 else found
        ms["decode"] += time.perf_counter() - t4
        ms["total"] = time.perf_counter() - start
        self.last_timings = {k: round(v * 1000, 2) for k, v in ms.items()}
        self.last_timings["passes"] = len(tiles)
        return people


def _box_side(side: int, share: float) -> int:
    """``share`` of an input box side, kept a multiple of the network stride (8)."""
    return max(8, round(side * share / 8) * 8)
