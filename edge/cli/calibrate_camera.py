"""`edge calibrate camera [--config F] [--camera ID] [--frames N] [--json]`.

Opens each configured camera and reports what a technician needs to aim and light it: the
resolution, the frame rate it really delivers (N reads timed), brightness and exposure (mean
luma, share of clipped dark and bright pixels) and how many people one pose pass finds. Frames
stay in memory. Exit 1 when a camera cannot be opened or delivers no frame.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import cv2
import numpy as np

from .common import (
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    add_config_argument,
    config_from_args,
)

DARK, BRIGHT = 8, 247  # luma at or beyond these is clipped (no detail left for the model)


def register_verb(verbs: argparse._SubParsersAction) -> None:
    """Add `edge calibrate camera`."""
    parser = verbs.add_parser(
        "camera", help="open each camera: resolution, real fps, brightness, people found",
        description="Reads --frames frames from each configured camera (files too), times them, "
        "measures brightness and runs the pose model once. Nothing is stored.",
    )
    add_config_argument(parser)
    parser.add_argument("--camera", metavar="ID", help="only this camera id")
    parser.add_argument("--frames", type=int, default=30, metavar="N",
                        help="frames to read for the fps measurement (default 30)")
    parser.add_argument("--json", action="store_true", help="one JSON object per camera")
    parser.set_defaults(func=_calibrate_camera)


def exposure(image: np.ndarray) -> dict[str, float]:
    """Mean luma (0-255) and the shares of clipped dark and bright pixels of a BGR image."""
    luma = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return {"mean_luma": round(float(luma.mean()), 1),
            "dark_clipped": round(float((luma <= DARK).mean()), 4),
            "bright_clipped": round(float((luma >= BRIGHT).mean()), 4)}


def verdict(facts: dict[str, float]) -> str:
    """A short hint for the technician from :func:`exposure`."""
    if facts["mean_luma"] < 50 or facts["dark_clipped"] > 0.25:
        return "too dark: add light or raise the exposure"
    if facts["mean_luma"] > 205 or facts["bright_clipped"] > 0.1:
        return "too bright: lower the exposure or avoid the window/backlight"
    return "ok"


def probe(spec: str, frames: int) -> dict[str, Any]:
    """Read ``frames`` frames from ``spec`` as fast as it delivers them.

    :raises sensors.SourceError: when the source cannot be opened.
    """
    from sensors import SourceError, open_source
    from sensors.samples import Frame

    last, count, started = None, 0, time.perf_counter()
    with open_source(spec) as source:
        described = source.describe()
        for frame in source:
            if not isinstance(frame, Frame):
                raise SourceError(spec, "is not a camera, video or image source")
            last, count = frame.image, count + 1  # only the last frame is kept
            if count >= frames:
                break
    elapsed = time.perf_counter() - started
    result: dict[str, Any] = {"declared_fps": described.get("fps"), "frames": count}
    if last is not None:
        result.update(size=[last.shape[1], last.shape[0]], last=last,
                      measured_fps=round(count / elapsed, 1) if elapsed > 0 else None)
    return result


def _calibrate_camera(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    if args.frames < 1:
        raise CliError(f"--frames must be >= 1, got {args.frames}", EXIT_USAGE)
    cameras = {k: v for k, v in config.cameras.items() if args.camera in (None, k)}
    if not cameras:
        raise CliError(f"no camera {args.camera!r} in the config" if args.camera
                       else "no cameras configured ([cameras.<id>] in the config)", EXIT_USAGE)
    from edge.daemon.daemon import is_scene
    from edge.perception.options import pose_options, session_options
    from models.pose import PoseEstimator
    from models.runtime import ModelError
    from sensors import SourceError

    try:
        estimator = PoseEstimator(pose_options(config), session_options(config), config.runtime.models_dir)
    except ModelError as exc:
        raise CliError(str(exc), EXIT_FAILURE) from None
    ok = True
    for camera_id, camera in cameras.items():
        row: dict[str, Any] = {"camera": camera_id, "enabled": camera.enabled}
        if is_scene(camera.source):
            row["problem"] = "scene file (features, no pictures): nothing to calibrate"
        else:
            try:
                row.update(probe(camera.source, args.frames))
            except SourceError as exc:
                row["problem"] = str(exc)
            image = row.pop("last", None)
            if image is None:
                row.setdefault("problem", "no frame delivered")
                ok = False
            else:
                row["exposure"] = exposure(image)
                row["exposure"]["verdict"] = verdict(row["exposure"])
                row["people"] = len(estimator.detect(image))
        _print(row, args.json)
    return EXIT_OK if ok else EXIT_FAILURE


def _print(row: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(row))
        return
    if "problem" in row:
        print(f"{row['camera']}: {row['problem']}")
        return
    size = "x".join(str(v) for v in row["size"])
    e = row["exposure"]
    print(f"{row['camera']}: {size}, {row['measured_fps']} fps measured "
          f"(declared {row['declared_fps']}), mean luma {e['mean_luma']}, clipped dark "
          f"{e['dark_clipped']:.1%} / bright {e['bright_clipped']:.1%} ({e['verdict']}), "
          f"{row['people']} people found")
