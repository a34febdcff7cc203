"""A person as the metric engines see them: keypoints plus an ephemeral track number.

``track`` is random per lesson and lives in memory only: it must never reach a record, a log
line or the store (SPEC 3.2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sensors.samples import KP

MIN_KP_SCORE = 0.2


@dataclass
class TrackedPerson:
    """A person in one frame with the tracker's ephemeral id and role."""

    track: int
    kp: np.ndarray  # float32 (17, 3): x, y, score
    score: float = 1.0
    role: str = "student"  # "student" or "teacher"

    def visible(self, name: str, min_score: float = MIN_KP_SCORE) -> bool:
        """Whether keypoint ``name`` was detected with at least ``min_score``."""
        return bool(self.kp[KP[name], 2] >= min_score)

    def point(self, name: str) -> np.ndarray:
        """(x, y) of keypoint ``name``."""
        return self.kp[KP[name], :2]


def body_box(kp: np.ndarray, min_score: float = MIN_KP_SCORE) -> tuple[float, float, float, float] | None:
    """(x1, y1, x2, y2) around the visible keypoints, or None when fewer than two are visible."""
    pts = kp[kp[:, 2] >= min_score, :2]
    if len(pts) < 2:
        return None
    x1, y1 = pts.min(axis=0)
    x2, y2 = pts.max(axis=0)
    return float(x1), float(y1), float(x2), float(y2)


def body_scale(kp: np.ndarray, min_score: float = MIN_KP_SCORE) -> float | None:
    """A person's own length unit in pixels: shoulder width, else a head-based estimate.

    Thresholds are expressed in this unit so they hold for the back row and the front row alike.
    """
    ls, rs = kp[KP["l_shoulder"]], kp[KP["r_shoulder"]]
    if ls[2] >= min_score and rs[2] >= min_score:
        width = float(np.hypot(*(ls[:2] - rs[:2])))
        if width > 1.0:
            return width
    le, re_ = kp[KP["l_ear"]], kp[KP["r_ear"]]
    if le[2] >= min_score and re_[2] >= min_score:
        return float(np.hypot(*(le[:2] - re_[:2]))) * 2.0
    box = body_box(kp, min_score)
    if box is None:
        return None
    return max(box[2] - box[0], box[3] - box[1]) / 3.0 or None
