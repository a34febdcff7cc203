"""The teacher's whereabouts: share of time in the teacher and board zones, distance walked."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edge.config.metrics import ClassroomConfig
from edge.tracking.people import TrackedPerson
from edge.perception.features import body_scales, floor_points, raised_arms
from edge.geometry.zones import ZoneGeometry

__all__ = ["TeacherObserver", "TeacherTally", "writing_at_board"]


@dataclass
class TeacherTally:
    """Teacher frames and where they were, over one window or lesson."""

    frames: int = 0
    in_zone: int = 0
    at_board: int = 0
    distance: float = 0.0

    def metrics(self, geometry: ZoneGeometry) -> dict | None:
        """SPEC 5 ``teacher`` block; None when the teacher was never seen (no source)."""
        if self.frames == 0:
            return None
        return {
            "zone_share": self.in_zone / self.frames if geometry.teacher is not None else None,
            "board_share": self.at_board / self.frames if geometry.board is not None else None,
            "distance": self.distance,
        }


class TeacherObserver:
    """Follows the teacher track; distance in metres on a calibrated floor, else body scales.

    Keypoint jitter would add distance at every frame, so the walked path is measured between
    anchor points: the anchor moves (and the distance grows) only once the floor point is more
    than ``teacher_move_deadband`` body scales away from it.
    """

    def __init__(self, geometry: ZoneGeometry, cfg: ClassroomConfig) -> None:
        self.geometry = geometry
        self.cfg = cfg
        self._track: int | None = None
        self._anchor: np.ndarray | None = None

    def observe(self, person: TrackedPerson, tallies: list[TeacherTally]) -> None:
        """Add one teacher frame to each tally."""
        foot, scale = _foot_and_scale(person, self.cfg.kp_min_score)
        step = 0.0
        if person.track != self._track:
            self._track, self._anchor = person.track, None
        if foot is not None and scale is not None:
            if self._anchor is None:
                self._anchor = foot
            elif np.hypot(*(foot - self._anchor)) > self.cfg.teacher_move_deadband * scale:
                step = self._length(self._anchor, foot, scale)
                self._anchor = foot
        in_zone = foot is not None and bool(self.geometry.in_teacher(foot))
        at_board = foot is not None and bool(self.geometry.in_board(foot))
        for tally in tallies:
            tally.frames += 1
            tally.in_zone += in_zone
            tally.at_board += at_board
            tally.distance += step

    def _length(self, a: np.ndarray, b: np.ndarray, scale: float) -> float:
        wa, wb = self.geometry.to_floor(a), self.geometry.to_floor(b)
        if wa is None or wb is None:
            return float(np.hypot(*(b - a))) / scale
        return float(np.hypot(*(wb - wa)))


def _foot_and_scale(
    person: TrackedPerson, min_score: float
) -> tuple[np.ndarray | None, float | None]:
    kp = person.kp[None]
    foot, known = floor_points(kp, min_score)
    scale = float(body_scales(kp, min_score)[0])
    return (foot[0] if known[0] else None), (scale if np.isfinite(scale) else None)


def writing_at_board(person: TrackedPerson, geometry: ZoneGeometry, cfg: ClassroomConfig) -> bool:
    """The teacher stands in the board zone with a hand raised to the board (S-T code T)."""
    if person.role != "teacher":
        return False
    foot, scale = _foot_and_scale(person, cfg.kp_min_score)
    if foot is None or scale is None or not geometry.in_board(foot):
        return False
    raised, _ = raised_arms(person.kp[None], np.array([scale]), cfg.kp_min_score, margin=0.0)
    return bool(raised[0])
