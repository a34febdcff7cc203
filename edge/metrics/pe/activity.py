"""SOFIT-like activity codes per student-frame from pose motion (SPEC 4.2).

Codes: lying, sitting, standing, walking, very_active; MVPA = walking + very_active.

* Posture first (:class:`edge.metrics.pe.body.Body`): lying and sitting are coded as such.
* An upright student is coded by speed over the last ``motion_history_s``: floor metres per
  second through the calibrated homography when the ankles are visible, else torso lengths per
  second. Running speed is very_active.
* In-place vigorous movement (jumping, skipping, jumping jacks) is very_active without
  displacement: the vertical oscillation of the hips (peak-to-peak equivalent), after removing
  the linear trend of walking toward or away from the camera, exceeds ``jump_amplitude_torso``
  torso lengths.
* A student counted doing repetitions at a station is very_active (sit-ups are lying by posture).
* The emitted code is the most frequent raw code over the same short history (smoothing).

History is per ephemeral track, in memory only, and dropped when the track disappears.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass

import numpy as np

from edge.config.metrics import PEConfig
from edge.geometry.plane import FloorMap
from edge.metrics.pe.body import Body

__all__ = ["CODES", "MVPA", "ActivityClassifier"]

CODES: tuple[str, ...] = ("lying", "sitting", "standing", "walking", "very_active")
MVPA = frozenset({"walking", "very_active"})

_FORGET_S = 5.0  # a track unseen this long has left: drop its history


@dataclass
class _Obs:
    t: float
    hip: np.ndarray
    torso: float
    world: np.ndarray | None
    raw: str


class ActivityClassifier:
    """Codes each student of each frame; call :meth:`classify` once per person per frame."""

    def __init__(self, cfg: PEConfig, floor: FloorMap | None = None) -> None:
        self.cfg = cfg
        self.floor = floor
        self._hist: dict[int, deque[_Obs]] = {}
        self._last_seen: dict[int, float] = {}

    def classify(
        self, t: float, track: int, body: Body, at_station_active: bool = False
    ) -> str | None:
        """Smoothed activity code of ``track`` at ``t``, or None when its torso is not visible."""
        if body.posture is None:
            return None
        hist = self._hist.setdefault(track, deque())
        self._last_seen[track] = t
        while hist and hist[0].t < t - self.cfg.motion_history_s:
            hist.popleft()
        world = None
        if self.floor is not None and body.foot is not None:
            world = self.floor.to_world(body.foot)
        obs = _Obs(t=t, hip=body.hips, torso=body.torso, world=world, raw="standing")
        obs.raw = self._raw_code(body.posture, obs, hist, at_station_active)
        hist.append(obs)
        counts = Counter(o.raw for o in hist)
        best = max(counts.values())
        # ties go to the most recent code so a change shows without an extra delay
        return next(o.raw for o in reversed(hist) if counts[o.raw] == best)

    def _raw_code(self, pose: str, obs: _Obs, hist: deque[_Obs], active: bool) -> str:
        if active:
            return "very_active"
        if pose != "upright":
            return pose
        speed, in_metres = self._speed(obs, hist)
        cfg = self.cfg
        walk, run = (
            (cfg.walk_speed_mps, cfg.run_speed_mps)
            if in_metres
            else (cfg.walk_speed_torso, cfg.run_speed_torso)
        )
        if speed is not None and speed >= run:
            return "very_active"
        if self._oscillation(obs, hist) >= cfg.jump_amplitude_torso:
            return "very_active"
        if speed is not None and speed >= walk:
            return "walking"
        return "standing"

    def _speed(self, obs: _Obs, hist: deque[_Obs]) -> tuple[float | None, bool]:
        """Speed from the oldest remembered observation; (value, True when in metres/s)."""
        if not hist:
            return None, False
        old = hist[0]
        dt = obs.t - old.t
        if dt < 0.3 * self.cfg.motion_history_s:
            return None, False
        if obs.world is not None and old.world is not None:
            return float(np.hypot(*(obs.world - old.world))) / dt, True
        unit = 0.5 * (obs.torso + old.torso)
        return float(np.hypot(*(obs.hip - old.hip))) / unit / dt, False

    @staticmethod
    def _oscillation(obs: _Obs, hist: deque[_Obs]) -> float:
        """Detrended vertical hip motion over the history, in torso lengths.

        Expressed as a peak-to-peak equivalent (2 sqrt 2 x RMS, exact for a sine) because the
        RMS is far less sensitive to single noisy keypoints than the raw peak-to-peak.
        """
        if len(hist) < 4:
            return 0.0
        t = np.array([o.t for o in hist] + [obs.t])
        y = np.array([o.hip[1] for o in hist] + [obs.hip[1]])
        tc, yc = t - t.mean(), y - y.mean()
        resid = yc - tc * (float(tc @ yc) / max(float(tc @ tc), 1e-9))  # least-squares line removed
        unit = obs.torso
        return float(2.0 * np.sqrt(2.0) * np.std(resid)) / unit

    def forget_absent(self, t: float) -> None:
        """Drop the history of tracks not seen for a few seconds (memory stays bounded)."""
        for track in [k for k, seen in self._last_seen.items() if t - seen > _FORGET_S]:
            self._hist.pop(track, None)
            self._last_seen.pop(track, None)
