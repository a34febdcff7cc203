"""Face evidence (pose.face_evidence): people found with and without the face pass, on real photos.

Usage: .venv/bin/python bench/face_evidence.py [--repeat N]

Frames: every shared COCO photo (../shared/media/coco/, hand counts in tests/test_pose.py), the
skimage astronaut, the class photo (38 children) at 500x302 and centred in 1920x1080 and
1920x1440 canvases, and the 79 images of the COCO keypoint set (people added there: the set has
68 labelled people, all found or missed by the pose pass already, see bench/coco_ap.py for AP).
Prints per frame the people without and with faces, the faces the detector found, how many lie
at detected heads, and the CPU ms the face pass adds (median of ``--repeat`` runs at 1080p, one
onnxruntime thread), with the machine load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import cv2
import numpy as np

from models.blazeface_full import FullRangeFaces
from models.face_evidence import Bodies, at_a_head, hidden_people, on_body
from models.pose import PoseEstimator, PoseOptions
from models.runtime import SessionOptions

SHARED = Path(__file__).resolve().parents[1].parent / "shared/media"
CLASS_PHOTO = SHARED / "coco/coco_val2017_000000002299.jpg"
KEYPOINT_SET = SHARED / "coco-keypoints"


def canvas(photo: np.ndarray, width: int, height: int) -> np.ndarray:
    """``photo`` scaled to fit and centred on a grey ``width`` x ``height`` frame."""
    s = min(width / photo.shape[1], height / photo.shape[0])
    scaled = cv2.resize(photo, None, fx=s, fy=s, interpolation=cv2.INTER_LINEAR)
    frame = np.full((height, width, 3), 90, np.uint8)
    y, x = (height - scaled.shape[0]) // 2, (width - scaled.shape[1]) // 2
    frame[y:y + scaled.shape[0], x:x + scaled.shape[1]] = scaled
    return frame


def frames() -> dict[str, np.ndarray]:
    """The named frames of the table."""
    out = {p.name[-10:-4]: cv2.imread(str(p)) for p in sorted((SHARED / "coco").glob("*.jpg"))}
    out["astronaut"] = cv2.imread(str(SHARED / "skimage_astronaut.png"))
    photo = cv2.imread(str(CLASS_PHOTO))
    out["class 1920x1080"] = canvas(photo, 1920, 1080)
    out["class 1920x1440"] = canvas(photo, 1920, 1440)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    estimator = PoseEstimator(PoseOptions(face_evidence=False), SessionOptions(intra_op_threads=1))
    faces = FullRangeFaces(SessionOptions(intra_op_threads=1))
    print(f"{'frame':<16} {'pose':>4} {'+faces':>6} {'faces':>5} {'at heads':>8} {'on bodies':>9}  (faces: all the detector found)")
    for name, image in frames().items():
        people = estimator.detect(image)
        found = faces.detect(image)
        added = hidden_people(found, people)
        bodies = Bodies.of(people)
        heads = [at_a_head(f, bodies) for f in found]
        at_heads = sum(heads)
        on_bodies = sum(not head and on_body(f, bodies) for f, head in zip(found, heads))
        print(f"{name:<16} {len(people):>4} {len(people) + len(added):>6} {len(found):>5} "
              f"{at_heads:>8} {on_bodies:>9}")
    gt = json.loads((KEYPOINT_SET / "annotations/person_keypoints_val2017.json").read_text())
    added_total = 0
    for image in gt["images"]:
        bgr = cv2.imread(str(KEYPOINT_SET / "val2017" / image["file_name"]))
        added_total += len(hidden_people(faces.detect(bgr), estimator.detect(bgr)))
    print(f"COCO keypoint set: {len(gt['images'])} images, {added_total} people added by faces")
    frame = frames()["class 1920x1080"]
    people = estimator.detect(frame)
    cpu, net = [], []
    for _ in range(args.repeat):
        start = time.process_time()
        hidden_people(faces.detect(frame), people)
        cpu.append((time.process_time() - start) * 1000)
        net.append(faces.last_model_cpu_s * 1000)
    print(f"face pass at 1920x1080 ({len(faces.regions(1920, 1080))} tiles): median "
          f"{statistics.median(cpu):.1f} ms process CPU, network {statistics.median(net):.1f} ms "
          f"thread CPU; load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
