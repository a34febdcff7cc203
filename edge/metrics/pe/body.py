"""Body geometry shared by the PE modules: torso unit, posture, floor point, polygons.

PE thresholds are in torso lengths (shoulder midpoint to hip midpoint) rather than shoulder
widths: a runner or a student on a sit-up mat is often seen from the side, where the shoulder
width collapses but the torso length does not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sensors.samples import KP

from edge.tracking.people import MIN_KP_SCORE

__all__ = [
    "Body",
    "body_of",
    "hips_point",
    "midpoint",
    "torso_length",
]


def midpoint(kp: np.ndarray, a: str, b: str, min_score: float = MIN_KP_SCORE) -> np.ndarray | None:
    """Mean (x, y) of keypoints ``a`` and ``b`` when visible (either one alone if only one is)."""
    pa, pb = kp[KP[a]], kp[KP[b]]
    seen_a, seen_b = pa[2] >= min_score, pb[2] >= min_score
    if seen_a and seen_b:
        return (pa[:2] + pb[:2]) * 0.5
    if seen_a or seen_b:
        return (pa if seen_a else pb)[:2].astype(np.float64)
    return None


def hips_point(kp: np.ndarray) -> np.ndarray | None:
    """Hip midpoint (x, y), the point used to place a person in a station."""
    return midpoint(kp, "l_hip", "r_hip")


def torso_length(kp: np.ndarray) -> float | None:
    """Shoulder-midpoint to hip-midpoint distance in pixels, None when either is missing."""
    s = midpoint(kp, "l_shoulder", "r_shoulder")
    h = hips_point(kp)
    if s is None or h is None:
        return None
    length = float(np.hypot(*(s - h)))
    return length if length > 1.0 else None


def _posture(
    shoulders: np.ndarray, hips: np.ndarray, torso: float, knees: np.ndarray | None
) -> str:
    d = shoulders - hips
    cos_up = -d[1] / torso  # image y grows downward
    tilt = float(np.degrees(np.arccos(min(max(cos_up, -1.0), 1.0))))
    if tilt > 55.0:
        return "lying"
    if knees is not None and (knees[1] - hips[1]) < 0.45 * torso:
        return "sitting"
    return "upright"


@dataclass(frozen=True)
class Body:
    """What the PE modules need of one person in one frame, computed once.

    ``posture`` is "lying" (torso more than 55 degrees from vertical), "sitting" (torso upright,
    knees not clearly below the hips: thighs near horizontal, on a bench or on the ground),
    "upright", or None when the torso is not visible. ``foot`` is the mid-ankle point, where the
    person touches the floor.
    """

    kp: np.ndarray
    hips: np.ndarray | None
    torso: float | None
    posture: str | None
    foot: np.ndarray | None


def body_of(kp: np.ndarray) -> Body:
    """Hips, torso length, posture and floor point of one person's COCO-17 keypoints."""
    shoulders = midpoint(kp, "l_shoulder", "r_shoulder")
    hips = hips_point(kp)
    torso = pose = None
    if shoulders is not None and hips is not None:
        torso = float(np.hypot(*(shoulders - hips)))
        if torso > 1.0:
            pose = _posture(shoulders, hips, torso, midpoint(kp, "l_knee", "r_knee"))
        else:
            torso = None
    return Body(
        kp=kp, hips=hips, torso=torso, posture=pose, foot=midpoint(kp, "l_ankle", "r_ankle")
    )


