"""`edge detect IMAGE [--json] [--draw OUT.png]`: the pose pipeline on one image (nothing stored)."""

from __future__ import annotations

import argparse
import json

import cv2
import numpy as np

from edge.perception.options import pose_options, session_options
from models.pose import PoseEstimator, describe_plan
from models.runtime import ModelError
from sensors import images
from sensors.errors import SourceError
from sensors.samples import Person

from .common import (
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    add_config_argument,
    config_from_args,
)

# COCO-17 skeleton edges for the overlay.
SKELETON = (
    (0, 1), (0, 2), (1, 3), (2, 4), (5, 6), (5, 7), (7, 9), (6, 8), (8, 10), (5, 11), (6, 12),
    (11, 12), (11, 13), (13, 15), (12, 14), (14, 16),
)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("detect", help="find every person in one image (debugging; nothing stored)")
    parser.add_argument("image", help="image file (any format OpenCV reads)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--draw", metavar="OUT.png", help="write the image with skeletons drawn")
    add_config_argument(parser)
    parser.set_defaults(func=_detect)


def read_image(path: str) -> np.ndarray:
    """The image as BGR uint8 (sensors.images: size limits, one-line errors), or a usage
    CliError naming the file."""
    try:
        return images.read_image(path)
    except SourceError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None


def _detect(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    image = read_image(args.image)
    try:
        estimator = PoseEstimator(pose_options(cfg), session_options(cfg), cfg.runtime.models_dir)
    except ModelError as exc:
        raise CliError(str(exc), EXIT_FAILURE) from None
    people = estimator.detect(image)
    h, w = image.shape[:2]
    if args.json:
        print(json.dumps({
            "people": [{"kp": np.round(p.kp.astype(float), 2).tolist(), "score": round(p.score, 3)}
                       for p in people],
            "size": [w, h],
            "ms": estimator.last_timings,
            "plan": [{"label": p.label, "x": p.x, "y": p.y, "w": p.w, "h": p.h,
                      "scale": round(p.scale, 4), "input": list(p.input_size)}
                     for p in estimator.last_plan],
            "face_tiles": len(estimator.faces.regions(w, h)) if estimator.faces else 0,
        }))
    else:
        _print_people(people, w, h, estimator.last_timings)
        print(f"pass plan: {describe_plan(estimator.options, w, h)}")
    if args.draw and not cv2.imwrite(args.draw, draw_people(image, people)):
        raise CliError(f"{args.draw}: cannot write the overlay", EXIT_FAILURE)
    return EXIT_OK


def _print_people(people: list[Person], w: int, h: int, ms: dict[str, float]) -> None:
    faces = f", {ms['faces']:.0f} ms of it faces" if "faces" in ms else ""
    print(f"{len(people)} people in {w}x{h} ({ms.get('total', 0):.0f} ms{faces}, "
          f"{ms.get('passes', 1)} passes)")
    for i, p in enumerate(people, 1):
        pts = " ".join(f"{x:.0f},{y:.0f}" if s > 0 else "-" for x, y, s in p.kp)
        print(f"{i:3d} score {p.score:.2f}: {pts}")


def draw_people(image: np.ndarray, people: list[Person]) -> np.ndarray:
    """A copy of ``image`` with each person's skeleton in its own colour."""
    out = image.copy()
    thickness = max(1, round(max(image.shape[:2]) / 600))
    for i, p in enumerate(people):
        hue = np.uint8([[[(i * 47) % 180, 220, 255]]])
        colour = tuple(int(c) for c in cv2.cvtColor(hue, cv2.COLOR_HSV2BGR)[0, 0])
        for a, b in SKELETON:
            if p.kp[a, 2] > 0 and p.kp[b, 2] > 0:
                cv2.line(out, tuple(int(v) for v in p.kp[a, :2]), tuple(int(v) for v in p.kp[b, :2]),
                         colour, thickness, cv2.LINE_AA)
        for x, y, s in p.kp:
            if s > 0:
                cv2.circle(out, (int(x), int(y)), thickness + 1, colour, -1, cv2.LINE_AA)
    return out
