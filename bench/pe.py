"""PE throughput (SPEC 10): one station's repetition counting and the field overview.

* Station counting: BlazePose on one station crop per frame (hinted by the previous frame's
  landmarks, as a live station loop does) plus the repetition counter, over the real frames of
  ``sensors/demo/sports2d_demo.mp4`` (target >= 15 frames/s).
* Overview: OpenPose over the whole frame at a PE input size, no tiling (target >= 8 frames/s).
* PE metrics: the PE engine on the generated lesson of tests/pe_scenegen.py (18 students), per
  frame, as a share of the overview model time.

Each figure is printed absolute and as a ratio measured in the same run.

    .venv/bin/python bench/pe.py [--frames 60] [--threads 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edge.config import EdgeConfig, ZonesConfig
from edge.metrics.pe.body import hips_point
from edge.metrics.pe.engine import PEEngine
from edge.metrics.pe.reps import RepCounter
from edge.tracking.people import TrackedPerson
from models.blazepose import BlazePoseRefiner
from models.pose import PoseEstimator, PoseOptions
from models.runtime import SessionOptions
from tests.pe_scenegen import make_pe_scene

VIDEO = ROOT / "sensors" / "demo" / "sports2d_demo.mp4"  # the committed copy of ../shared's


def read_frames(count: int) -> list[np.ndarray]:
    """``count`` frames from the part of the demo video where the walker is in view."""
    cap = cv2.VideoCapture(str(VIDEO))
    frames, index = [], 0
    while len(frames) < count:
        ok, image = cap.read()
        if not ok:
            break
        if index >= 45:
            frames.append(image)
        index += 1
    cap.release()
    if not frames:
        raise SystemExit(f"cannot read {VIDEO}")
    return frames


def bench_overview(
    frames: list[np.ndarray], options: SessionOptions, size: tuple[int, int]
) -> tuple[float, float, list]:
    """Seconds per frame of OpenPose at ``size`` (all, and inside the network), and the people
    of the first frame."""
    est = PoseEstimator(PoseOptions(input_width=size[0], input_height=size[1], tiles=1), options)
    first = est.detect(frames[0])
    model_ms = 0.0
    start = time.perf_counter()
    for image in frames:
        est.detect(image)
        model_ms += est.last_timings["model"]
    return (time.perf_counter() - start) / len(frames), model_ms / 1e3 / len(frames), first


def bench_station(
    frames: list[np.ndarray], options: SessionOptions, hint: np.ndarray
) -> tuple[float, float]:
    """Seconds per frame of BlazePose + counter, and of the counter alone."""
    refiner = BlazePoseRefiner(options)
    counter = RepCounter("rope_skip")
    kp, counter_s = hint, 0.0
    start = time.perf_counter()
    for i, image in enumerate(frames):
        person = refiner.refine(image, kp)
        if person is None:
            continue
        kp = person.kp
        c0 = time.perf_counter()
        counter.update(i / 30.0, kp)
        counter_s += time.perf_counter() - c0
    return (time.perf_counter() - start) / len(frames), counter_s / len(frames)


def bench_engine(frames: int) -> tuple[float, int]:
    """Seconds per frame of the PE engine on the generated lesson, and people per frame."""
    scene = make_pe_scene(duration=frames / 10.0)
    engine = PEEngine(EdgeConfig(), ZonesConfig.model_validate(scene.header["zones"]))
    start = time.perf_counter()
    for s in scene.poses:
        engine.on_people(
            s.t, [TrackedPerson(track=i, kp=p.kp) for i, p in enumerate(s.people)], s.size
        )
    return (time.perf_counter() - start) / len(scene.poses), len(scene.poses[0].people)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    options = SessionOptions(intra_op_threads=args.threads)
    frames = read_frames(args.frames)
    print(
        f"{len(frames)} frames of {VIDEO.name} ({frames[0].shape[1]}x{frames[0].shape[0]}), "
        f"{args.threads} onnxruntime thread(s)"
    )
    overview = {}
    first = []
    for size in ((656, 368), (432, 368)):
        overview[size], model, people = bench_overview(frames, options, size)
        first = first or people
        print(
            f"overview network alone {size[0]}x{size[1]}: {1e3 * model:.1f} ms/frame "
            f"({model / overview[size]:.2f} of the overview time; the rest is decoding)"
        )
        print(
            f"overview OpenPose {size[0]}x{size[1]}: {1e3 * overview[size]:.1f} ms/frame = "
            f"{1 / overview[size]:.1f} fps (target 8: ratio {1 / overview[size] / 8:.2f})"
        )
    walker = [p for p in first if (h := hips_point(p.kp)) is not None and h[1] > 500]
    if not walker:
        raise SystemExit("no walker found in the first frame to hint the station crop")
    station, counter = bench_station(frames, options, walker[0].kp)
    print(
        f"station BlazePose + counter: {1e3 * station:.1f} ms/frame = {1 / station:.1f} fps "
        f"(target 15: ratio {1 / station / 15:.2f}); counter alone {1e6 * counter:.0f} us "
        f"= {counter / station:.3f} of station time"
    )
    main_overview = overview[(656, 368)]
    print(f"station vs overview: {main_overview / station:.1f}x more station frames per second")
    engine, people = bench_engine(args.frames * 5)
    print(
        f"PE engine: {1e3 * engine:.2f} ms/frame for {people} people = "
        f"{engine / main_overview:.3f} of overview model time"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
