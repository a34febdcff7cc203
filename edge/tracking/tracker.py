"""Multi-person tracker: gives each detected person an ephemeral id that is stable across frames.

Association is a Hungarian assignment (scipy ``linear_sum_assignment``) on the mean distance of
the keypoints both skeletons show, measured in the track's own body scale, after moving the
track by a constant-velocity prediction. Because the unit is the person's own size (about the
shoulder width from the front, see :func:`edge.perception.features.matching_scales`), the same gate works for a
40-pixel back-row student and a 400-pixel teacher, neighbours who sit two shoulder widths apart
are never confused with a person who moved, and a walker or a student on a mat seen side-on
(where the shoulder width collapses) keeps a body-sized gate.

New tracks are *tentative* until seen in ``confirm_frames`` consecutive frames; a tentative
track that misses a frame is dropped. This keeps faint, flickering false detections (a coat on a
chair, a poster) from ever becoming a student. Confirmed tracks survive ``max_missed_s`` without
a detection. Ids are random per tracker (one tracker per lesson) and live in memory only.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import numpy as np

from sensors.samples import KP, Person

from edge.config.metrics import ClassroomConfig
from edge.tracking.assignment import linear_sum_assignment
from edge.tracking.people import TrackedPerson
from edge.perception.features import matching_scales

__all__ = ["Tracker"]

_UNMATCHABLE = 1e6  # cost of a pair outside the gate; never chosen over a real match
_VELOCITY_SMOOTHING = 0.5  # weight of the newest velocity estimate
_TORSO = [KP["l_shoulder"], KP["r_shoulder"], KP["l_hip"], KP["r_hip"]]
_TORSO_MASK = np.isin(np.arange(17), _TORSO)


@dataclass
class _Track:
    id: int
    kp: np.ndarray  # last observed keypoints (17, 3)
    velocity: np.ndarray  # (2,) pixels per second
    scale: float
    last_t: float
    hits: int
    confirmed: bool


class Tracker:
    """Associates people across frames; one instance per lesson."""

    def __init__(
        self,
        *,
        kp_min_score: float = 0.3,
        min_person_score: float = 0.3,
        min_keypoints: int = 5,
        confirm_frames: int = 3,
        max_missed_s: float = 3.0,
        max_cost: float = 1.5,
    ) -> None:
        self.kp_min_score = kp_min_score
        self.min_person_score = min_person_score
        self.min_keypoints = min_keypoints
        self.confirm_frames = confirm_frames
        self.max_missed_s = max_missed_s
        self.max_cost = max_cost
        self._tracks: list[_Track] = []
        self._used_ids: set[int] = set()

    @classmethod
    def from_config(cls, cfg: ClassroomConfig) -> Tracker:
        """A tracker with the thresholds of the classroom config section."""
        return cls(
            kp_min_score=cfg.kp_min_score,
            min_person_score=cfg.track_min_person_score,
            min_keypoints=cfg.track_min_keypoints,
            confirm_frames=cfg.track_confirm_frames,
            max_missed_s=cfg.track_max_missed_s,
            max_cost=cfg.track_max_cost,
        )

    def update(self, t: float, people: list[Person]) -> list[TrackedPerson]:
        """Match the people seen at ``t`` to tracks; returns the confirmed ones, in input order.

        People below the score / keypoint minimums are ignored. Role is left at "student"; the
        role assigner decides who teaches.
        """
        # Tracks unseen for too long are gone before matching, so a newcomer gets a fresh id.
        self._tracks = [tr for tr in self._tracks if t - tr.last_t <= self.max_missed_s]
        if not people:
            self._drop_stale(t, set())
            return []
        kp = np.stack([p.kp for p in people])
        scale = matching_scales(kp, self.kp_min_score)
        score = np.array([p.score for p in people])
        usable = (
            np.isfinite(scale)
            & (score >= self.min_person_score)
            & ((kp[:, :, 2] >= self.kp_min_score).sum(axis=1) >= self.min_keypoints)
        )
        index = np.flatnonzero(usable)
        det_kp, det_scale = kp[index], scale[index]
        pairs = self._match(t, det_kp, det_scale)
        if pairs:
            dets = list(pairs)
            self._advance(t, [pairs[j] for j in dets], det_kp[dets], det_scale[dets])
        matched = set(pairs.values())
        out = []
        for j, i in enumerate(index):
            track = (
                self._tracks[pairs[j]]
                if j in pairs
                else self._new_track(t, det_kp[j], det_scale[j])
            )
            if track.confirmed:
                out.append(TrackedPerson(track=track.id, kp=people[i].kp, score=people[i].score))
        self._drop_stale(t, matched)
        return out

    def _drop_stale(self, t: float, matched: set[int]) -> None:
        """Tentative tracks die at their first miss, confirmed ones after ``max_missed_s``."""
        self._tracks = [
            tr
            for k, tr in enumerate(self._tracks)
            if k in matched
            or tr.last_t == t
            or (tr.confirmed and t - tr.last_t <= self.max_missed_s)
        ]

    def _match(self, t: float, det_kp: np.ndarray, det_scale: np.ndarray) -> dict[int, int]:
        """Detection index -> track index for the pairs inside the gate."""
        if not len(det_kp) or not self._tracks:
            return {}
        cost = self._cost(t, det_kp, det_scale)
        rows, cols = linear_sum_assignment(cost)
        return {int(c): int(r) for r, c in zip(rows, cols) if cost[r, c] <= self.max_cost}

    def _cost(self, t: float, det_kp: np.ndarray, det_scale: np.ndarray) -> np.ndarray:
        """(tracks, detections) mean keypoint distance in track body scales, plus a size term."""
        tr_kp = np.stack([tr.kp for tr in self._tracks])
        dt = np.array([t - tr.last_t for tr in self._tracks])[:, None, None]
        vel = np.stack([tr.velocity for tr in self._tracks])[:, None, :]
        predicted = tr_kp[:, :, :2] + vel * dt
        tr_scale = np.array([tr.scale for tr in self._tracks])
        both = (tr_kp[:, None, :, 2] >= self.kp_min_score) & (
            det_kp[None, :, :, 2] >= self.kp_min_score
        )
        diff = predicted[:, None] - det_kp[None, :, :, :2]
        dist = np.hypot(diff[..., 0], diff[..., 1])
        shared = both.sum(axis=-1)
        mean = (dist * both).sum(axis=-1) / np.maximum(shared, 1)
        cost = mean / tr_scale[:, None] + np.abs(np.log(det_scale[None, :] / tr_scale[:, None]))
        # Few shared keypoints make the distance unreliable: such pairs are not matched.
        cost[(shared < 2) | ~np.isfinite(cost) | (cost > self.max_cost)] = _UNMATCHABLE
        return cost

    def _advance(self, t: float, rows: list[int], kp: np.ndarray, scale: np.ndarray) -> None:
        """Update matched tracks; velocity from the mean shift of the torso (shoulders, hips),
        which moves with the body and not with a raised arm; all shared keypoints otherwise."""
        tracks = [self._tracks[r] for r in rows]
        old = np.stack([tr.kp for tr in tracks])
        dt = np.array([t - tr.last_t for tr in tracks])
        both = (old[:, :, 2] >= self.kp_min_score) & (kp[:, :, 2] >= self.kp_min_score)
        use = np.where(both[:, _TORSO].any(axis=1)[:, None], _TORSO_MASK[None, :] & both, both)
        count = use.sum(axis=1)
        shift = ((kp[:, :, :2] - old[:, :, :2]) * use[:, :, None]).sum(axis=1)
        valid = (count > 0) & (dt > 0)
        shift = shift / np.maximum(count, 1)[:, None] / np.where(dt > 0, dt, 1.0)[:, None]
        for k, track in enumerate(tracks):
            if valid[k]:
                track.velocity = (
                    1 - _VELOCITY_SMOOTHING
                ) * track.velocity + _VELOCITY_SMOOTHING * shift[k]
            track.kp = kp[k]
            track.scale = 0.8 * track.scale + 0.2 * float(scale[k])
            track.last_t = t
            track.hits += 1
            if track.hits >= self.confirm_frames:
                track.confirmed = True

    def _new_track(self, t: float, kp: np.ndarray, scale: float) -> _Track:
        track_id = secrets.randbits(31)
        while track_id in self._used_ids:
            track_id = secrets.randbits(31)
        self._used_ids.add(track_id)
        track = _Track(
            id=track_id,
            kp=kp,
            velocity=np.zeros(2),
            scale=float(scale),
            last_t=t,
            hits=1,
            confirmed=self.confirm_frames <= 1,
        )
        self._tracks.append(track)
        return track
