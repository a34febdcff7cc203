"""Pose pipeline cost: model-only ms vs full `detect` ms, and the ratio (SPEC 10 overhead).

Usage: python bench/pose.py [--repeat N]. Frames: the class photo (500x302, 38 children) as it
is, and scaled into a 1920x1080 (16:9) and a 1920x1440 (4:3) canvas, the camera sizes the pass
plan is tuned for. Default pose settings (models.pose.PoseOptions); the pass plan of each frame is
printed. "model" is the sum of the network runs inside one detect call; overhead = (detect -
model) / model in CPU time (one onnxruntime thread: the network runs in the calling thread, whose
CPU time `detect` reports as ``model_cpu``); wall times are printed beside, with the machine load,
since other processes on a shared machine stretch them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import cv2
import numpy as np

from models.pose import PoseEstimator, PoseOptions, describe_plan
from models.runtime import SessionOptions

CLASS_PHOTO = Path(__file__).resolve().parents[1].parent / "shared/media/coco/coco_val2017_000000002299.jpg"


def canvas(photo: np.ndarray, width: int, height: int) -> np.ndarray:
    """``photo`` scaled to the canvas height and centred on a grey ``width`` x ``height`` frame."""
    new_w = min(width, round(photo.shape[1] * height / photo.shape[0]))
    scaled = cv2.resize(photo, (new_w, height), interpolation=cv2.INTER_LINEAR)
    frame = np.full((height, width, 3), 90, np.uint8)
    x = (width - new_w) // 2
    frame[:, x:x + new_w] = scaled
    return frame


def frames() -> dict[str, np.ndarray]:
    """The benchmark frames by name."""
    photo = cv2.imread(str(CLASS_PHOTO))
    if photo is None:
        raise SystemExit(f"needs {CLASS_PHOTO}")
    return {"class 500x302": photo, "1920x1080": canvas(photo, 1920, 1080),
            "1920x1440": canvas(photo, 1920, 1440)}


def measure(estimator: PoseEstimator, image: np.ndarray, repeat: int
            ) -> tuple[float, float, float, int]:
    """Median detect CPU ms, detect wall ms, model-only CPU ms and the people count."""
    cpus, walls, models = [], [], []
    count = 0
    for _ in range(repeat):
        cpu, wall = time.process_time(), time.perf_counter()
        count = len(estimator.detect(image))
        cpus.append((time.process_time() - cpu) * 1000)
        walls.append((time.perf_counter() - wall) * 1000)
        models.append(estimator.last_timings["model_cpu"])
    return statistics.median(cpus), statistics.median(walls), statistics.median(models), count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; "
          f"model {PoseOptions().model}, 1 thread")
    estimator = PoseEstimator(PoseOptions(), SessionOptions(intra_op_threads=1))
    print(f"{'frame':<14} {'people':>6} {'model CPU':>9} {'CPU ms':>8} {'wall ms':>8} "
          f"{'overhead':>8}  pass plan")
    for name, image in frames().items():
        estimator.detect(image)  # first call per shape pays onnxruntime's shape setup
        cpu, wall, model, count = measure(estimator, image, args.repeat)
        print(f"{name:<14} {count:>6} {model:>9.1f} {cpu:>8.1f} {wall:>8.1f} "
              f"{(cpu - model) / model:>8.1%}  "
              f"{describe_plan(estimator.options, image.shape[1], image.shape[0])}")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
