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

from .blazeface_full import INPUT_SIZE as FACE_INPUT
from .blazeface_full import FullRangeFaces, face_tiles
from .face_evidence import hidden_people
from .openpose import Letterbox, OpenPoseNet, decode, scaled_tensor
from .pass_plan import COARSE_MIN_PERSON_SCORE, BackRow, Pass, describe, plan_passes
from .runtime import SessionOptions
from .tiling import merge_people


@dataclass(frozen=True)
class PoseOptions:
    """Pose settings (mirrors edge's PoseConfig; models/ cannot import edge).

    :param model: manifest name or path of the OpenPose-style ONNX model.
    :param input_width: width of the box the whole frame is fitted into (multiple of 8).
    :param input_height: height of that box (multiple of 8).
    :param tiles: 0 automatic, 1 whole frame only, N columns of overlapping tiles.
    :param tile_overlap: overlap between neighbouring tiles, share of the tile width.
    :param min_person_score: drop people whose mean peak/limb score is lower.
    :param min_parts: drop people with fewer parts (OpenPose-18, neck included).
    :param max_upscale: largest enlargement of a frame smaller than the box.
    :param min_shoulder_px: input pixels a calibrated back row's shoulders need before a
        zoomed back-row pass is added (automatic plan only).
    :param back_row: the calibrated back row (from the floor calibration), if any.
    :param face_evidence: add people for faces off every detected body
        (:mod:`models.face_evidence`).
    """

    model: str = "openpose_mobilenet_thin_stage4"
    input_width: int = 960
    input_height: int = 720
    tiles: int = 0
    tile_overlap: float = 0.2
    min_person_score: float = 0.2
    min_parts: int = 4
    max_upscale: float = 2.0
    min_shoulder_px: float = 24.0
    back_row: BackRow | None = None
    face_evidence: bool = True


def plan_for(o: PoseOptions, width: int, height: int) -> list[Pass]:
    """The pass plan (:func:`models.pass_plan.plan_passes`) of options ``o`` for a frame size."""
    return plan_passes(width, height, o.input_width, o.input_height, o.tiles, o.tile_overlap,
                       o.max_upscale, o.min_shoulder_px, o.back_row)


def describe_plan(o: PoseOptions, width: int, height: int) -> str:
    """The pass plan of options ``o`` for a frame size in one line, with the face tiles."""
    line = describe(plan_for(o, width, height))
    if o.face_evidence:
        squares = face_tiles(width, height)
        plural = "s" if len(squares) > 1 else ""
        line += (f"; faces {len(squares)} tile{plural} of {squares[0][2]} px -> "
                 f"{FACE_INPUT}x{FACE_INPUT}")
    return line


class PoseEstimator:
    """Loads the pose network once; ``detect`` finds all people in BGR images."""

    def __init__(self, options: PoseOptions | None = None,
                 session_options: SessionOptions | None = None,
                 models_dir: Path | None = None):
        """:raises models.runtime.ModelError: when the model cannot be found or loaded."""
        self.options = options = options or PoseOptions()
        self.net = OpenPoseNet(options.model, session_options, models_dir)
        self.faces = (FullRangeFaces(session_options or SessionOptions(), models_dir)
                      if options.face_evidence else None)
        self.last_timings: dict[str, float] = {}
        self.last_plan: list[Pass] = []

    def plan(self, width: int, height: int) -> list[Pass]:
        """The passes :meth:`detect` runs for a ``width`` x ``height`` frame."""
        return plan_for(self.options, width, height)

    def detect(self, image: np.ndarray) -> list[Person]:
        """Every person in ``image`` (BGR uint8 HxWx3), keypoints in its pixel coordinates.

        Runs the passes of :meth:`plan` (see :mod:`models.pass_plan`), then keeps one
        detection per person; with ``face_evidence``, adds the people only a face shows.
        """
        o = self.options
        h, w = image.shape[:2]
        # model_cpu: CPU time of this thread inside the network (with one onnxruntime thread the
        # network runs here), so overhead can be judged on a loaded machine, where wall times
        # include waiting for a core.
        ms = {"preprocess": 0.0, "model": 0.0, "model_cpu": 0.0, "decode": 0.0}
        start = time.perf_counter()
        found: list[Person] = []
        scales: list[float] = []  # per person found, the scale of its pass
        self.last_plan = plan = self.plan(w, h)
        for p in plan:
            t0 = time.perf_counter()
            tensor = scaled_tensor(image[p.y:p.y + p.h, p.x:p.x + p.w], p.scale)
            t1, c1 = time.perf_counter(), time.thread_time()
            maps, pafs = self.net.run(tensor)
            t2 = time.perf_counter()
            ms["model_cpu"] += time.thread_time() - c1
            min_score = (max(o.min_person_score, COARSE_MIN_PERSON_SCORE) if p.label == "large"
                         else o.min_person_score)
            people = decode(maps, pafs, Letterbox(p.scale, p.x, p.y), o.min_parts, min_score)
            found += people
            scales += [p.scale] * len(people)
            t3 = time.perf_counter()
            ms["preprocess"] += t1 - t0
            ms["model"] += t2 - t1
            ms["decode"] += t3 - t2
        t4 = time.perf_counter()
        people = merge_people(found, scales) if len(plan) > 1 else found
        ms["decode"] += time.perf_counter() - t4
        if self.faces is not None:
            t5, c5 = time.perf_counter(), time.thread_time()
            people = people + hidden_people(self.faces.detect(image), people)
            ms["faces"] = time.perf_counter() - t5
            ms["faces_cpu"] = time.thread_time() - c5
            ms["model"] += self.faces.last_model_s
            ms["model_cpu"] += self.faces.last_model_cpu_s
        ms["total"] = time.perf_counter() - start
        self.last_timings = {k: round(v * 1000, 2) for k, v in ms.items()}
        self.last_timings["passes"] = len(plan)
        return people
