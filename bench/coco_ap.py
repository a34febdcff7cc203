"""COCO keypoint OKS AP of the pose pipeline on the shared COCO val2017 subset (pycocotools).

Usage: .venv/bin/python bench/coco_ap.py [--model NAME] [--width W --height H] [--threads T]
       [--no-face-evidence]

Runs `PoseEstimator.detect` (the same pass plan and decoding as `edge detect` and the daemon)
on every image of ../shared/media/coco-keypoints/val2017 (79 images, 68 labelled people in 32)
and scores it with pycocotools' `COCOeval(iouType="keypoints")`: AP over OKS 0.50:0.95, AP50,
AP75, AP for medium/large people, AR. Prints those figures, the model ms per image and the
machine load. `tests/test_coco_ap.py` holds the floor.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import time
from pathlib import Path

import cv2
import numpy as np

from models.pose import PoseEstimator, PoseOptions
from models.runtime import SessionOptions

ROOT = Path(__file__).resolve().parents[1]
COCO_DIR = ROOT.parent / "shared/media/coco-keypoints"
ANNOTATIONS = "annotations/person_keypoints_val2017.json"
STAT_NAMES = ("AP", "AP50", "AP75", "AP_medium", "AP_large", "AR", "AR50", "AR75", "AR_medium",
              "AR_large")


def detections(estimator: PoseEstimator, coco_dir: Path) -> tuple[list[dict], float, list[int]]:
    """COCO result records for every annotated image, the summed model ms, and the image ids."""
    gt = json.loads((coco_dir / ANNOTATIONS).read_text(encoding="utf-8"))
    results: list[dict] = []
    model_ms = 0.0
    ids = []
    for image in gt["images"]:
        bgr = cv2.imread(str(coco_dir / "val2017" / image["file_name"]))
        if bgr is None:
            raise SystemExit(f"cannot read {image['file_name']}")
        ids.append(image["id"])
        for person in estimator.detect(bgr):
            kp = person.kp.astype(np.float64)
            results.append({"image_id": image["id"], "category_id": 1,
                            "keypoints": kp.reshape(-1).round(2).tolist(),
                            "score": float(person.score)})
        model_ms += estimator.last_timings["model"]
    return results, model_ms, ids


def oks_stats(results: list[dict], coco_dir: Path, image_ids: list[int]) -> dict[str, float]:
    """pycocotools' ten keypoint statistics by name (quiet)."""
    from pycocotools.coco import COCO  # evaluation-time dependency (the test extra)
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        truth = COCO(str(coco_dir / ANNOTATIONS))
        found = truth.loadRes(results) if results else COCO()
        evaluation = COCOeval(truth, found, iouType="keypoints")
        evaluation.params.imgIds = image_ids
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return dict(zip(STAT_NAMES, (float(v) for v in evaluation.stats)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    defaults = PoseOptions()
    parser.add_argument("--model", default=defaults.model)
    parser.add_argument("--width", type=int, default=defaults.input_width)
    parser.add_argument("--height", type=int, default=defaults.input_height)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--coco", type=Path, default=COCO_DIR)
    parser.add_argument("--no-face-evidence", action="store_true",
                        help="without the face pass (pose.face_evidence = false)")
    args = parser.parse_args()
    if not (args.coco / ANNOTATIONS).is_file():
        raise SystemExit(f"needs {args.coco / ANNOTATIONS}")
    options = PoseOptions(model=args.model, input_width=args.width, input_height=args.height,
                          face_evidence=not args.no_face_evidence)
    estimator = PoseEstimator(options, SessionOptions(intra_op_threads=args.threads))
    cpu0, wall0 = time.process_time(), time.perf_counter()
    results, model_ms, ids = detections(estimator, args.coco)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    stats = oks_stats(results, args.coco, ids)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; "
          f"model {args.model}, box {args.width}x{args.height}, {args.threads} thread(s), "
          f"face evidence {'off' if args.no_face_evidence else 'on'}")
    print(f"{len(ids)} images, {len(results)} people found; CPU {cpu:.1f} s, wall {wall:.1f} s, "
          f"model {model_ms / len(ids):.0f} ms/image")
    print("  ".join(f"{k} {v:.3f}" for k, v in stats.items()))


if __name__ == "__main__":
    main()
