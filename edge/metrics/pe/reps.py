"""Repetition counters following the national student fitness-test rules (SPEC 4.2).

Each counter reads COCO-17 keypoints of one person in the person's own frame: distances are in
torso lengths (shoulder midpoint to hip midpoint) and sit-up angles are measured against the
person's own mat axis (hip -> ankles), so the counts do not depend on where the camera stands or
on how the lying person was rotated for BlazePose.

A repetition is a hysteresis cycle between two phases with a dead band in between; a movement
that never reaches the second phase (a partial repetition) does not count, nor does one whose
second phase comes more than ``_ARM_TIMEOUT_S`` after the first. Joints scoring below
``_REP_MIN_SCORE`` are ignored:

* sit-up (knees bent): shoulders down to the mat (trunk within 25 degrees of the mat) -> elbows
  reach the knees (elbow-knee distance < 0.35 torso) = 1.
* pull-up: arms extended below the bar -> chin above the wrists = 1.
* squat: hips down to knee level, trunk upright, knees bent -> legs extended (knee angle > 160
  degrees) = 1.
* jumping jack: arms overhead with feet apart -> arms down with feet together = 1.
* rope skipping: the ankles (mean) and the hips rise above their ground level (see
  :func:`_heights_above_ground`, over the last 1.5 s) by > 0.10 torso and come down again (below
  40% of that jump's peak) = 1 jump. Only in place: hips that travel sideways more than one torso
  length in the window (walking through the station) count nothing. Airborne longer than
  ``_ROPE_MAX_AIR_S`` is not a jump, and a pause simply counts nothing.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from sensors.samples import KP

from edge.tracking.people import MIN_KP_SCORE
from edge.metrics.pe.body import hips_point, midpoint, torso_length

__all__ = ["EXERCISE_PHASES", "RepCounter"]

_REP_MIN_SCORE = 0.4
_ARM_TIMEOUT_S = 6.0
_ROPE_GROUND_S = 1.5
_ROPE_GROUND_Q = 0.75
_ROPE_UP = 0.10
_ROPE_DOWN = 0.03
_ROPE_MAX_AIR_S = 0.8
_ROPE_LAND_SHARE = 0.4
_ROPE_MAX_SWAY = 1.0  # torso lengths of sideways hip travel over the ground window


def _pt(kp: np.ndarray, name: str) -> np.ndarray | None:
    return kp[KP[name], :2] if kp[KP[name], 2] >= MIN_KP_SCORE else None


def _angle(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> float:
    """Angle ABC in degrees."""
    u, v = a - b, c - b
    cos = float(np.dot(u, v) / max(np.linalg.norm(u) * np.linalg.norm(v), 1e-6))
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


def _sides(kp: np.ndarray, *names: str) -> list[list[np.ndarray]]:
    """Per body side (l, r), the named joints when all are visible."""
    out = []
    for side in ("l", "r"):
        pts = [_pt(kp, f"{side}_{n}") for n in names]
        if all(p is not None for p in pts):
            out.append(pts)
    return out


def situp_phase(kp: np.ndarray, torso: float) -> str | None:
    """ "down" (shoulders on the mat), "up" (elbows at the knees) or None.

    Both phases need bent knees (the test position; a standing body is as straight as one lying
    flat), and "down" needs the trunk horizontal in the image as well as along the mat axis.
    """
    hip, sh = hips_point(kp), midpoint(kp, "l_shoulder", "r_shoulder")
    knee, ank = midpoint(kp, "l_knee", "r_knee"), midpoint(kp, "l_ankle", "r_ankle")
    if hip is None or sh is None or knee is None or ank is None:
        return None
    if _angle(hip, knee, ank) > 140.0:
        return None
    elevation = 180.0 - _angle(sh, hip, ank)
    horizontal = (hip[1] - sh[1]) < 0.5 * torso  # image y grows downward
    if elevation < 25.0 and horizontal:
        return "down"
    reach = [np.linalg.norm(e - k) for e, k in _sides(kp, "elbow", "knee")]
    if reach and min(reach) < 0.35 * torso:
        return "up"
    return None


def pullup_phase(kp: np.ndarray, torso: float) -> str | None:
    """ "down" (hanging, arms extended) or "up" (chin above the wrists) or None."""
    nose = _pt(kp, "nose")
    wrists = [p for p in (_pt(kp, "l_wrist"), _pt(kp, "r_wrist")) if p is not None]
    if nose is None or not wrists:
        return None
    bar_y = float(np.mean([w[1] for w in wrists]))
    chin_y = nose[1] + 0.15 * torso  # the chin sits below the nose
    if chin_y < bar_y:
        return "up"
    arms = [_angle(s, e, w) for s, e, w in _sides(kp, "shoulder", "elbow", "wrist")]
    if arms and min(arms) > 150.0 and nose[1] > bar_y + 0.5 * torso:
        return "down"
    return None


def squat_phase(kp: np.ndarray, torso: float) -> str | None:
    """ "down" (trunk upright, knees bent, hips at knee level) or "up" (legs extended) or None."""
    hip, knee = hips_point(kp), midpoint(kp, "l_knee", "r_knee")
    sh = midpoint(kp, "l_shoulder", "r_shoulder")
    if hip is None or knee is None or sh is None:
        return None
    legs = [_angle(h, k, a) for h, k, a in _sides(kp, "hip", "knee", "ankle")]
    upright = (hip[1] - sh[1]) > 0.5 * torso  # image y grows downward
    if upright and knee[1] - hip[1] < 0.15 * torso and (not legs or min(legs) < 120.0):
        return "down"
    if legs and min(legs) > 160.0:
        return "up"
    return None


def jack_phase(kp: np.ndarray, torso: float) -> str | None:
    """ "open" (wrists above the head, feet apart) or "closed" (arms down, feet together)."""
    nose, la, ra = _pt(kp, "nose"), _pt(kp, "l_ankle"), _pt(kp, "r_ankle")
    wrists = [_pt(kp, "l_wrist"), _pt(kp, "r_wrist")]
    shoulders = midpoint(kp, "l_shoulder", "r_shoulder")
    if (
        nose is None
        or la is None
        or ra is None
        or shoulders is None
        or any(w is None for w in wrists)
    ):
        return None
    spread = abs(float(la[0] - ra[0])) / torso
    if all(w[1] < nose[1] for w in wrists) and spread > 1.0:
        return "open"
    if all(w[1] > shoulders[1] for w in wrists) and spread < 0.6:
        return "closed"
    return None


# exercise -> (phase function, phase that starts a repetition, phase that completes it)
EXERCISE_PHASES = {
    "situp": (situp_phase, "down", "up"),
    "pullup": (pullup_phase, "down", "up"),
    "squat": (squat_phase, "down", "up"),
    "jumping_jack": (jack_phase, "open", "closed"),
}


class RepCounter:
    """Counts one station's repetitions; :meth:`update` returns True when one completes."""

    def __init__(self, exercise: str) -> None:
        if exercise not in EXERCISE_PHASES and exercise != "rope_skip":
            raise ValueError(f"unknown exercise {exercise!r}")
        self.exercise = exercise
        self.count = 0
        self._armed_at: float | None = None  # last time the starting phase was seen
        self._rows: deque[tuple[float, ...]] = deque()  # t, hip x, l/r ankle y, hip y
        self._air_since: float | None = None
        self._peak = 0.0

    def reset_person(self) -> None:
        """Another person took the station: forget the movement state, keep the count."""
        self._armed_at = None
        self._rows.clear()
        self._air_since = None

    def update(self, t: float, kp: np.ndarray) -> bool:
        """Feed one frame of the station's person; True when a repetition completes."""
        # only confidently seen joints count: half-visible people yield confident-looking junk
        kp = np.where((kp[:, 2] >= _REP_MIN_SCORE)[:, None], kp, 0.0)
        torso = torso_length(kp)
        if torso is None:
            return False
        if self.exercise == "rope_skip":
            done = self._rope(t, kp, torso)
        else:
            phase_of, start, end = EXERCISE_PHASES[self.exercise]
            phase = phase_of(kp, torso)
            if self._armed_at is not None and t - self._armed_at > _ARM_TIMEOUT_S:
                self._armed_at = None  # no repetition is that slow: start over
            done = False
            if phase == start:
                self._armed_at = t
            elif phase == end and self._armed_at is not None:
                self._armed_at = None
                done = True
        self.count += int(done)
        return done

    def _rope(self, t: float, kp: np.ndarray, torso: float) -> bool:
        la, ra, hip = _pt(kp, "l_ankle"), _pt(kp, "r_ankle"), hips_point(kp)
        if la is None or ra is None or hip is None:
            return False
        self._rows.append((t, float(hip[0]), float(la[1]), float(ra[1]), float(hip[1])))
        while self._rows[0][0] < t - _ROPE_GROUND_S:
            self._rows.popleft()
        rows = np.array(self._rows)
        lifts = _heights_above_ground(rows[:, 0], rows[:, 2:]) / torso  # l_ankle, r_ankle, hips
        in_place = np.ptp(rows[:, 1]) < _ROPE_MAX_SWAY * torso  # walkers travel sideways
        # a jump lifts both feet (their mean: less keypoint noise than either) and the hips;
        # walking lifts one foot at a time and barely moves the hips
        lift = min(0.5 * (lifts[0] + lifts[1]), lifts[2]) if in_place else 0.0
        if self._air_since is None:
            if lift > _ROPE_UP:
                self._air_since, self._peak = t, lift
            return False
        self._peak = max(self._peak, lift)
        # landing: well below this jump's own peak, so noise on the ground does not hide it
        if lift < max(_ROPE_DOWN, _ROPE_LAND_SHARE * self._peak):
            airborne = t - self._air_since
            self._air_since = None
            return airborne <= _ROPE_MAX_AIR_S
        return False


def _heights_above_ground(t: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Height in pixels of the newest row of ``y`` (times ``t``, one column per point) above
    each point's ground level.

    The ground level follows the linear trend of the recent heights (a person drifting toward or
    away from the camera) plus the 75th percentile of the residuals: a skipper is on the ground
    about half the time, and the maximum would be biased by keypoint noise.
    """
    if len(t) < 3:
        return np.zeros(y.shape[1])
    tc = t - t.mean()
    yc = y - y.mean(axis=0)
    trend = y.mean(axis=0) + np.outer(tc, (tc @ yc) / max(float(tc @ tc), 1e-9))
    ground = trend[-1] + np.quantile(y - trend, _ROPE_GROUND_Q, axis=0)
    return ground - y[-1]  # image y grows downward: the ground is high y
