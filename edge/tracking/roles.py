"""Who is the teacher: one tracked person per frame gets role "teacher", all others "student".

The role belongs to a track, so a teacher who walks among the students stays the teacher. While
the teacher's track is seen, nobody else can take the role. When it is not seen in a frame, a
candidate (below) takes over if its track first appeared after the teacher was last seen (the
tracker lost the teacher and gave them a new id), or once the teacher has been unseen longer
than ``lost_after_s``. A student who has been in the room all along and steps into the teacher
zone while the teacher is briefly missed therefore never takes the role. A teacher chosen
without seen standing legs (a front-row student inside the zone before the teacher came into
view) gives the role up to the first person in the zone whose legs show them standing.

- With a calibrated teacher zone: the person whose floor point (ankles, else hips) is inside
  the zone; if several are, standing ones first, then the largest (nearest the camera).
- Without a zone (heuristic, classrooms only): the camera looks at the class from the front, so
  the front of the room is the bottom of the image. The teacher is the person standing with
  visible legs (students' legs are hidden by desks) whose floor point is lowest in the image.
  In a gym everyone stands with legs in view, so PE lessons turn the heuristic off
  (``front_heuristic=False``): without a zone, nobody is the teacher.
"""

from __future__ import annotations

import numpy as np

from edge.config.zones import ZonesConfig
from edge.tracking.people import TrackedPerson
from edge.perception.features import body_scales, floor_points, legs_standing
from edge.geometry.zones import ZoneGeometry

__all__ = ["RoleAssigner"]


class RoleAssigner:
    """Assigns roles frame by frame; one instance per lesson."""

    def __init__(
        self,
        zones: ZonesConfig | None,
        kp_min_score: float = 0.3,
        lost_after_s: float = 1.5,
        front_heuristic: bool = True,
    ) -> None:
        self.geometry = ZoneGeometry(zones)
        self.kp_min_score = kp_min_score
        self.lost_after_s = lost_after_s
        self.front_heuristic = front_heuristic
        self._teacher: int | None = None
        self._teacher_seen = float("-inf")
        self._teacher_standing = False  # whether the teacher was chosen with legs seen standing
        self._first_seen: dict[int, float] = {}  # track -> first time seen (memory only)

    def assign(self, t: float, people: list[TrackedPerson]) -> list[TrackedPerson]:
        """Set ``role`` on each person in place (and return the list)."""
        for person in people:
            person.role = "student"
            self._first_seen.setdefault(person.track, t)
        current = next((p for p in people if p.track == self._teacher), None)
        if current is None:
            gone = t - self._teacher_seen > self.lost_after_s
            newcomers = [
                p for p in people if gone or self._first_seen[p.track] > self._teacher_seen
            ]
            current, self._teacher_standing = self._candidate(newcomers)
        elif not self._teacher_standing:
            # Chosen on weaker evidence (e.g. a seated front-row student inside the zone before
            # the teacher came into view): a person in the zone standing on seen legs wins.
            better, standing = self._candidate([p for p in people if p is not current])
            if better is not None and standing:
                current, self._teacher_standing = better, True
        if current is not None:
            current.role = "teacher"
            self._teacher, self._teacher_seen = current.track, t
        return people

    def _candidate(self, people: list[TrackedPerson]) -> tuple[TrackedPerson | None, bool]:
        """The best teacher candidate and whether their legs show them standing."""
        if not people:
            return None, False
        kp = np.stack([p.kp for p in people])
        scale = body_scales(kp, self.kp_min_score)
        foot, has_foot = floor_points(kp, self.kp_min_score)
        standing, _ = legs_standing(kp, scale, self.kp_min_score)
        best, best_key, best_standing = None, None, False
        for i, person in enumerate(people):
            if not has_foot[i]:
                continue
            inside = self.geometry.in_teacher(foot[i])
            if inside is None:  # no zone: standing with legs seen, lowest in the image
                key = (float(foot[i][1]),) if standing[i] and self.front_heuristic else None
            else:
                key = (bool(standing[i]), float(np.nan_to_num(scale[i]))) if inside else None
            if key is not None and (best_key is None or key > best_key):
                best, best_key, best_standing = person, key, bool(standing[i])
        return best, best_standing
