"""Synthetic bodies for the PE tests: a calibrated field seen in perspective and COCO-17 skeletons
(standing, moving, sitting, lying, sit-ups, station exercises) in metres, projected to pixels.

Local body coordinates are metres with x to the right, y up and the origin at the feet; a child
is about 1.4 m tall with a torso (shoulder midpoint to hip midpoint) of 0.37 m.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from sensors.samples import KEYPOINTS

FIELD_WORLD = [(0.0, 0.0), (20.0, 0.0), (20.0, 20.0), (0.0, 20.0)]
FIELD_IMAGE = [(160.0, 1060.0), (1760.0, 1060.0), (1360.0, 420.0), (560.0, 420.0)]
H = cv2.getPerspectiveTransform(np.float32(FIELD_WORLD), np.float32(FIELD_IMAGE))
IDX = {k: i for i, k in enumerate(KEYPOINTS)}

# fmt: off
STAND = {
    "nose": (0, 1.32), "l_eye": (0.03, 1.35), "r_eye": (-0.03, 1.35), "l_ear": (0.07, 1.33),
    "r_ear": (-0.07, 1.33), "l_shoulder": (0.17, 1.15), "r_shoulder": (-0.17, 1.15),
    "l_elbow": (0.2, 0.9), "r_elbow": (-0.2, 0.9), "l_wrist": (0.2, 0.68), "r_wrist": (-0.2, 0.68),
    "l_hip": (0.11, 0.78), "r_hip": (-0.11, 0.78), "l_knee": (0.1, 0.42), "r_knee": (-0.1, 0.42),
    "l_ankle": (0.1, 0.03), "r_ankle": (-0.1, 0.03),
}
SIT = {
    "nose": (0, 0.66), "l_eye": (0.03, 0.69), "r_eye": (-0.03, 0.69), "l_ear": (0.07, 0.67),
    "r_ear": (-0.07, 0.67), "l_shoulder": (0.17, 0.49), "r_shoulder": (-0.17, 0.49),
    "l_elbow": (0.22, 0.27), "r_elbow": (-0.22, 0.27), "l_wrist": (0.2, 0.14),
    "r_wrist": (-0.2, 0.14), "l_hip": (0.11, 0.12), "r_hip": (-0.11, 0.12),
    "l_knee": (0.24, 0.22), "r_knee": (-0.24, 0.22), "l_ankle": (0.12, 0.04),
    "r_ankle": (-0.12, 0.04),
}
# fmt: on
STAND_A, SIT_A = (np.array([d[k] for k in KEYPOINTS], dtype=np.float64) for d in (STAND, SIT))
LIE_A = np.column_stack([STAND_A[:, 1] - 0.7, 0.1 + 0.3 * STAND_A[:, 0]])


def to_image(world: tuple[float, float]) -> tuple[np.ndarray, float]:
    """Image point of a floor point and the local scale in pixels per metre."""

    def proj(x: float, y: float) -> np.ndarray:
        p = H @ np.array([x, y, 1.0])
        return p[:2] / p[2]

    x, y = world
    return proj(x, y), float(np.linalg.norm(proj(x + 0.5, y) - proj(x - 0.5, y)))


def place(local: np.ndarray, foot_px: np.ndarray, scale: float) -> np.ndarray:
    """Local metres (x right, y up, origin at the feet) -> image pixels."""
    return np.column_stack([foot_px[0] + scale * local[:, 0], foot_px[1] - scale * local[:, 1]])


def moving_pose(kind: str, t: float) -> np.ndarray:
    """Local keypoints of an upright student standing, walking, running or jumping at ``t``."""
    p = STAND_A.copy()
    if kind in ("walking", "running"):
        f, swing, lift, bob = (
            (1.8, 0.12, 0.06, 0.01) if kind == "walking" else (2.8, 0.25, 0.15, 0.025)
        )
        s = math.sin(math.pi * f * t)
        p[IDX["l_ankle"]] += (swing * s, lift * max(0.0, s))
        p[IDX["r_ankle"]] += (-swing * s, lift * max(0.0, -s))
        p[IDX["l_knee"]] += (0.5 * swing * s, 0.5 * lift * max(0.0, s))
        p[IDX["r_knee"]] += (-0.5 * swing * s, 0.5 * lift * max(0.0, -s))
        p[IDX["l_wrist"], 0] -= 0.6 * swing * s
        p[IDX["r_wrist"], 0] += 0.6 * swing * s
        p[:, 1] += bob * math.cos(2 * math.pi * f * t)
    elif kind == "jumping":
        p[:, 1] += 0.15 * abs(math.sin(2 * math.pi * t))
    return p


POSTURE = {
    "sitting": "sitting",
    "lying": "lying",
    "standing": "upright",
    "walking": "upright",
    "running": "upright",
    "jumping": "upright",
}


def local_pose(kind: str, t: float) -> np.ndarray:
    """Local keypoints of a free student doing ``kind`` at ``t``."""
    if kind == "sitting":
        return SIT_A
    if kind == "lying":
        return LIE_A
    return moving_pose(kind, t)


def situp_local(theta_deg: float) -> np.ndarray:
    """Side view of a sit-up at trunk elevation ``theta_deg`` from the mat (hands behind head)."""
    th = math.radians(theta_deg)
    u, n = np.array([-math.cos(th), math.sin(th)]), np.array([math.sin(th), math.cos(th)])
    hip = np.array([0.0, 0.1])
    pts = {
        "hip": hip,
        "knee": np.array([0.4, 0.45]),
        "ankle": np.array([0.75, 0.05]),
        "shoulder": hip + 0.37 * u,
        "elbow": hip + 0.42 * u + 0.18 * n,
        "wrist": hip + 0.5 * u + 0.05 * n,
        "ear": hip + 0.52 * u,
        "eye": hip + 0.55 * u + 0.04 * n,
        "nose": hip + 0.56 * u + 0.07 * n,
    }
    out = np.zeros((17, 2))
    for i, k in enumerate(KEYPOINTS):
        # the far (left) side shows a little higher: the camera looks down on the mat
        out[i] = pts[k.split("_")[-1]] + ((0.0, 0.12) if k.startswith("l_") else (0.0, 0.0))
    return out


def exercise_local(exercise: str, amount: float) -> np.ndarray:
    """Front-view local keypoints of a station exercise at ``amount`` 0..1 of a full repetition.

    jumping_jack: 0 closed, 1 arms overhead and feet apart. squat: 0 standing, 1 hips at knee
    level. pullup: 0 dead hang, 1 chin above the bar (the wrists, 2.2 m up).
    """
    p = STAND_A.copy()
    a = float(amount)
    if exercise == "jumping_jack":
        for side, sign in (("l", 1), ("r", -1)):
            p[IDX[f"{side}_wrist"]] = (sign * (0.2 + 0.1 * a), 0.68 + 0.95 * a)
            p[IDX[f"{side}_elbow"]] = (sign * (0.2 + 0.15 * a), 0.9 + 0.5 * a)
            p[IDX[f"{side}_ankle"]] = (sign * (0.1 + 0.25 * a), 0.03)
            p[IDX[f"{side}_knee"]] = (sign * (0.1 + 0.15 * a), 0.42)
    elif exercise == "squat":
        drop = 0.40 * a
        upper = [i for i, k in enumerate(KEYPOINTS) if "knee" not in k and "ankle" not in k]
        p[upper, 1] -= drop
        for side, sign in (("l", 1), ("r", -1)):
            p[IDX[f"{side}_knee"]] = (sign * (0.1 + 0.12 * a), 0.42 - 0.02 * a)
    elif exercise == "pullup":
        p[:, 1] += 0.45 + 0.55 * a
        for side, sign in (("l", 1), ("r", -1)):
            sh = p[IDX[f"{side}_shoulder"]]
            wrist = np.array([sign * 0.25, 2.2])
            straight, bent = (sh + wrist) / 2, np.array([sign * 0.42, sh[1] + 0.05])
            p[IDX[f"{side}_wrist"]] = wrist
            p[IDX[f"{side}_elbow"]] = (1 - a) * straight + a * bent
    else:
        raise ValueError(exercise)
    return p


def exercise_frames(
    exercise: str,
    amplitudes: list[float],
    fps: float = 15.0,
    rep_s: float = 1.2,
    noise_px: float = 0.8,
    seed: int = 0,
) -> list[tuple[float, np.ndarray]]:
    """(t, kp) frames of one student doing cycles 0 -> amplitude -> 0 (a partial when < 1)."""
    rng = np.random.default_rng(seed)
    foot, scale = to_image((10.0, 1.5))
    frames, t = [], 0.0
    for amp in [0.0] + list(amplitudes) + [0.0]:
        for k in range(int(rep_s * fps)):
            a = amp * 0.5 * (1 - math.cos(2 * math.pi * k / (rep_s * fps)))
            px = place(exercise_local(exercise, a), foot, scale)
            kp = np.column_stack([px + rng.normal(0, noise_px, px.shape), np.full(17, 0.9)])
            frames.append((t, kp.astype(np.float32)))
            t += 1 / fps
    return frames
