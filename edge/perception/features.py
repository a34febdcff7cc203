"""Per-frame pose features of SPEC 4.1, computed for all people of a frame at once.

Every function takes ``kp`` of shape (N, 17, 3) (x, y, score per COCO keypoint) and, where
lengths matter, each person's body scale (N,) from :func:`body_scales`, so thresholds hold for
the back row and the front row alike. Results come with a ``known`` mask: a person whose
needed keypoints were not seen is left out of a rate rather than counted as "no".
Image y grows downwards: "above" means a smaller y.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

from sensors.samples import KP

__all__ = [
    "Head",
    "body_scales",
    "floor_points",
    "head_states",
    "legs_standing",
    "matching_scales",
    "raised_arms",
    "shoulder_mids",
]

_L_SH, _R_SH = KP["l_shoulder"], KP["r_shoulder"]
_ARMS = ((KP["l_wrist"], KP["l_elbow"], _L_SH), (KP["r_wrist"], KP["r_elbow"], _R_SH))
_FACE = [KP["nose"], KP["l_eye"], KP["r_eye"]]
_WRISTS = [KP["l_wrist"], KP["r_wrist"]]
_HIPS, _KNEES = [KP["l_hip"], KP["r_hip"]], [KP["l_knee"], KP["r_knee"]]
_ANKLES = [KP["l_ankle"], KP["r_ankle"]]


class Head(IntEnum):
    """Where a student's head points in one frame."""

    DOWN = 0
    UP = 1
    WRITING = 2  # head down with a wrist resting on the desk


def _box_long_sides(kp: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """Long side of each person's box around the seen keypoints (NaN with fewer than two)."""
    mask = seen[:, :, None]
    high = np.where(mask, kp[:, :, :2], -np.inf).max(axis=1)
    low = np.where(mask, kp[:, :, :2], np.inf).min(axis=1)
    return np.where(seen.sum(axis=1) >= 2, (high - low).max(axis=1), np.nan)


def body_scales(kp: np.ndarray, min_score: float) -> np.ndarray:
    """Each person's length unit in pixels (NaN if unknown); batch form of ``people.body_scale``.

    Shoulder width; else twice the ear distance; else a third of the keypoint box's long side.
    """
    seen = kp[:, :, 2] >= min_score
    shoulders = np.hypot(*(kp[:, _L_SH, :2] - kp[:, _R_SH, :2]).T)
    ears = 2.0 * np.hypot(*(kp[:, KP["l_ear"], :2] - kp[:, KP["r_ear"], :2]).T)
    box = _box_long_sides(kp, seen) / 3.0
    box = np.where(box > 0, box, np.nan)
    ears_ok = seen[:, KP["l_ear"]] & seen[:, KP["r_ear"]] & (ears > 0)
    out = np.where(ears_ok, ears, box)
    return np.where(seen[:, _L_SH] & seen[:, _R_SH] & (shoulders > 1.0), shoulders, out)


# Torso length (shoulder midpoint to hip midpoint) over shoulder width of a person seen from the
# front, on the generous side so a frontal torso never outgrows the shoulders.
_TORSO_PER_SHOULDER = 1.5
# Long side of the keypoint box over shoulder width: about 4.4 for a standing adult (eyes to
# ankles), less for a seated one (legs hidden), so as a lower bound it only rescues collapsed views.
_BOX_PER_SHOULDER = 4.5


def matching_scales(kp: np.ndarray, min_score: float) -> np.ndarray:
    """Each person's length unit for matching across frames, robust to the viewing angle (NaN if
    fewer than two keypoints are seen).

    Shoulder width (:func:`body_scales`) collapses for a person seen side-on (a walker crossing
    the view, a student on a sit-up mat, a fall), and a tracker gating in that unit breaks the
    track. This is the largest of shoulder width, hip width, twice the ear distance, torso length
    / 1.5 and the keypoint box's long side / 4.5: about one shoulder width from the front,
    and still a body-sized length from the side or lying down.
    """
    seen = kp[:, :, 2] >= min_score

    def span(a: int, b: int) -> np.ndarray:
        length = np.hypot(*(kp[:, a, :2] - kp[:, b, :2]).T)
        return np.where(seen[:, a] & seen[:, b], length, np.nan)

    shoulder_mid = (kp[:, _L_SH, :2] + kp[:, _R_SH, :2]) / 2.0
    hip_mid = (kp[:, _HIPS[0], :2] + kp[:, _HIPS[1], :2]) / 2.0
    torso_seen = seen[:, _L_SH] & seen[:, _R_SH] & seen[:, _HIPS[0]] & seen[:, _HIPS[1]]
    torso = np.where(torso_seen, np.hypot(*(shoulder_mid - hip_mid).T), np.nan)
    candidates = np.stack(
        [
            span(_L_SH, _R_SH),
            span(*_HIPS),
            2.0 * span(KP["l_ear"], KP["r_ear"]),
            torso / _TORSO_PER_SHOULDER,
            _box_long_sides(kp, seen) / _BOX_PER_SHOULDER,
        ]
    )
    with np.errstate(invalid="ignore"):
        best = np.fmax.reduce(candidates, axis=0)
    return np.where(best > 1.0, best, np.nan)


def shoulder_mids(kp: np.ndarray, min_score: float) -> tuple[np.ndarray, np.ndarray]:
    """(N, 2) shoulder midpoints and the mask of people with both shoulders seen."""
    known = (kp[:, _L_SH, 2] >= min_score) & (kp[:, _R_SH, 2] >= min_score)
    return (kp[:, _L_SH, :2] + kp[:, _R_SH, :2]) / 2.0, known


def raised_arms(
    kp: np.ndarray, scale: np.ndarray, min_score: float, margin: float
) -> tuple[np.ndarray, np.ndarray]:
    """SPEC 4.1 hand-raise pose: a wrist above its same-side shoulder by ``margin`` scales and
    above its elbow. Known when at least one arm has wrist, elbow and shoulder seen."""
    raised = np.zeros(len(kp), dtype=bool)
    known = np.zeros(len(kp), dtype=bool)
    for wrist, elbow, shoulder in _ARMS:
        arm = (kp[:, [wrist, elbow, shoulder], 2] >= min_score).all(axis=1) & np.isfinite(scale)
        wy = kp[:, wrist, 1]
        up = (wy < kp[:, shoulder, 1] - margin * scale) & (wy < kp[:, elbow, 1])
        raised |= arm & up
        known |= arm
    return raised, known


def head_states(
    kp: np.ndarray, scale: np.ndarray, min_score: float, up_margin: float, wrist_below: float
) -> tuple[np.ndarray, np.ndarray]:
    """Head up / down / writing per person (values of :class:`Head`) and the known mask.

    Up = nose and both eyes seen, each ``up_margin`` scales above the shoulder line (the face
    turned to the front, where the camera is). Otherwise down; down counts as writing when a
    wrist is seen ``wrist_below`` scales below the shoulder line and within two scales
    sideways (a hand on the desk). Known when both shoulders are seen.
    """
    mid, known = shoulder_mids(kp, min_score)
    known &= np.isfinite(scale)
    line = mid[:, 1] - up_margin * scale
    face = (kp[:, _FACE, 2] >= min_score) & (kp[:, _FACE, 1] < line[:, None])
    up = face.all(axis=1)
    wrists = kp[:, _WRISTS]
    on_desk = (
        (wrists[:, :, 2] >= min_score)
        & (wrists[:, :, 1] >= (mid[:, 1] + wrist_below * scale)[:, None])
        & (np.abs(wrists[:, :, 0] - mid[:, None, 0]) <= 2.0 * scale[:, None])
    ).any(axis=1)
    state = np.where(up, Head.UP, np.where(on_desk, Head.WRITING, Head.DOWN))
    return state, known


def floor_points(kp: np.ndarray, min_score: float) -> tuple[np.ndarray, np.ndarray]:
    """Where each person stands: mean of the seen ankles, else of the seen hips; and the mask."""
    out = np.full((len(kp), 2), np.nan)
    for pair in (_HIPS, _ANKLES):  # ankles last: they win where seen
        seen = kp[:, pair, 2] >= min_score
        count = seen.sum(axis=1)
        mean = (kp[:, pair, :2] * seen[:, :, None]).sum(axis=1) / np.maximum(count, 1)[:, None]
        out = np.where((count > 0)[:, None], mean, out)
    return out, np.isfinite(out[:, 0])


def legs_standing(
    kp: np.ndarray, scale: np.ndarray, min_score: float
) -> tuple[np.ndarray, np.ndarray]:
    """Standing judged from the legs alone, when a hip and its knee are seen.

    Standing thighs hang vertically: the knee is at least 0.7 scales below the hip. A seated
    person's thighs point at the camera, so the knee is less far below the hip. A heuristic: from
    a camera mounted high the two come close, so callers use it only as supporting evidence.
    Unknown when the legs are hidden (students behind desks), the usual classroom case.
    """
    pairs = (kp[:, _HIPS, 2] >= min_score) & (kp[:, _KNEES, 2] >= min_score)
    drop = kp[:, _KNEES, 1] - kp[:, _HIPS, 1]
    count = pairs.sum(axis=1)
    mean = (drop * pairs).sum(axis=1) / np.maximum(count, 1)
    known = (count > 0) & np.isfinite(scale)
    return known & (mean >= 0.7 * scale), known
