"""Pose pipeline cost: model-only ms vs full `detect` ms, and the ratio (SPEC 10 overhead).

Usage: python bench/pose.py [--repeat N]. Frames: the class photo (500x302) and a 1920x1080
frame made by resizing it into a 16:9 canvas. "model" is the sum of the network runs inside
one detect call (same tiles, same tensors); overhead = (detect - model) / model.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import cv2
import numpy as np

from models.pose import PoseEstimator, PoseOptions
from models.runtime import SessionOptions

CLASS_PHOTO = Path(__file__).resolve().parents[1].parent / "shared/media/coco/coco_val2017_000000002299.jpg"


def frames() -> dict[str, np.ndarray]:
    """The benchmark frames by name."""
    photo = cv2.imread(str(CLASS_PHOTO))
    if photo is None:
        raise SystemExit(f"needs {CLASS_PHOTO}")
    scaled = cv2.resize(photo, (1788, 1080), interpolation=cv2.INTER_LINEAR)
    hd = np.full((1080, 1920, 3), 90, np.uint8)
    hd[:, 66:66 + scaled.shape[1]] = scaled
    return {"class 500x302": photo, "1920x1080": hd}


def measure(estimator: PoseEstimator, image: np.ndarray, repeat: int) -> tuple[float, float, int]:
    """Median full-detect ms, median model-only ms and people count over ``repeat`` calls."""
    totals, models = [], []
    count = 0
    for _ in range(repeat):
        start = time.perf_counter()
        count = len(estimator.detect(image))
        totals.append((time.perf_counter() - start) * 1000)
        models.append(estimator.last_timings["model"])
    return statistics.median(totals), statistics.median(models), count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"{'frame':<15} {'threads':>7} {'passes':>6} {'people':>6} {'model ms':>9} "
          f"{'detect ms':>9} {'overhead':>8}")
    for threads in (1, 2):
        estimator = PoseEstimator(PoseOptions(), SessionOptions(intra_op_threads=threads))
        for name, image in frames().items():
            estimator.detect(image)  # first call per shape pays onnxruntime's shape setup
            total, model, count = measure(estimator, image, args.repeat)
            print(f"{name:<15} {threads:>7} {estimator.last_timings['passes']:>6} {count:>6} "
                  f"{model:>9.1f} {total:>9.1f} {(total - model) / model:>8.1%}")


if __name__ == "__main__":
    main()
