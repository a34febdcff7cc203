"""Head-up / down (SPEC 4.1) on real faces, against hand labels (data/head_orientation.csv).

Measured 2026-12-01 with the default pose plan and the classroom defaults (keypoints >= 0.3,
face 0.4 shoulder widths above the shoulder line): the keypoint rule (`edge.perception.features.head_states`)
knows 29 of the 36 children found on the class photo (both shoulders seen) and calls 23 of them
"up" (0.79; the rest have nose/eye peaks under 0.3: real small faces are noisy); with the
three-pass plan and scale-weighted twin keypoints (issue 11, h-pose) 32 and 25 (0.78). Lowering the
thresholds (0.1 / 0.2) calls 32 of 32 up there but also calls the laptop photo's heads up (5 of
5 known), so the defaults stay. On the laptop photo the rule calls the known "down" heads "up"
(its faces are clear: nose/eye scores up to 0.6). The face model does not
separate them either: BlazeFace finds those 5 faces with scores 0.56-0.96, as high as on the
class photo (0.63-0.90), because a camera in front of a person looking at a laptop still sees
the face; nor does the eye-ear height (-0.08..0.15 head sizes there, -0.17..0.05 on the class
photo). So the rule is kept, its up-recall is held here, and the missed "down" is recorded as a
known gap (strict xfail: it fails loudly once a better cue closes it).
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import shared_file

from edge.config import ClassroomConfig
from edge.perception.features import Head, body_scales, head_states
from models.pose import PoseEstimator, PoseOptions
from models.runtime import SessionOptions

LABELS = Path(__file__).parent / "data" / "head_orientation.csv"
# The classroom engine's defaults (config classroom.kp_min_score, head_up_margin,
# writing_wrist_below), read from the config model so the test follows them.
_DEFAULTS = ClassroomConfig()
MIN_SCORE = _DEFAULTS.kp_min_score
UP_MARGIN, WRIST_BELOW = _DEFAULTS.head_up_margin, _DEFAULTS.writing_wrist_below


def labels() -> list[dict[str, str]]:
    with LABELS.open(encoding="utf-8") as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


@cache
def heads(image: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Head centres (N, 2), head sizes (N,), head states (N,) and known mask of the people found."""
    estimator = PoseEstimator(PoseOptions(), SessionOptions(intra_op_threads=1))
    kp = np.stack([p.kp for p in estimator.detect(cv2.imread(str(shared_file(f"media/{image}"))))])
    state, known = head_states(kp, body_scales(kp, MIN_SCORE), MIN_SCORE, UP_MARGIN, WRIST_BELOW)
    face = kp[:, :5]
    seen = face[:, :, 2] > 0
    centres = np.array([f[s, :2].mean(axis=0) if s.any() else (np.nan, np.nan)
                        for f, s in zip(face, seen)])
    sizes = np.array([np.ptp(f[s, :2], axis=0).max() if s.sum() > 1 else 0.0
                      for f, s in zip(face, seen)])
    return centres, sizes, state, known


def test_heads_up_on_the_class_photo_are_called_up() -> None:
    (row,) = [r for r in labels() if r["x"] == "all"]
    _centres, _sizes, state, known = heads(row["image"])
    assert len(state) >= 36 and known.sum() >= 25
    assert (state[known] == Head.UP).mean() >= 0.75


@pytest.mark.xfail(strict=True, reason="known gap: people looking down at laptops still show "
                   "their faces to a front camera; neither keypoints nor BlazeFace tell them apart")
def test_heads_down_at_laptops_are_called_down() -> None:
    rows = [r for r in labels() if r["label"] == "down"]
    centres, sizes, state, known = heads(rows[0]["image"])
    called = []
    for r in rows:
        d = np.hypot(centres[:, 0] - float(r["x"]), centres[:, 1] - float(r["y"]))
        i = int(np.nanargmin(d))
        assert d[i] <= max(0.75 * sizes[i], 15), r  # the labelled head was found
        called.append(known[i] and state[i] != Head.UP)
    assert np.mean(called) >= 0.8
