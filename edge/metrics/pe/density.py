"""Exercise density (SPEC 4.2): how much of the lesson the class, and each student, was in MVPA.

* ``exercise_density_group``: share of observed time during which at least ``mvpa_group_share``
  of the present students were in MVPA.
* ``exercise_density_mean``: mean over students of each one's MVPA time share, estimated as the
  share of the present students in MVPA in each frame, averaged over observed time. With every
  student in view all span long the two are equal; unlike a per-track average it needs no track
  ids, so a track that breaks while a student runs (two fragments, both mostly MVPA) does not
  count as an extra, very active student.
* ``mvpa_fraction`` and ``activity``: shares of student-time per activity code.

Time is weighted by the gap to the previous frame (capped) so uneven frame rates do not bias
the shares.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from edge.metrics.pe.activity import CODES, MVPA

__all__ = ["DensityAccumulator"]

_MAX_STEP_S = 1.0  # a longer gap between frames is a stall: credit at most this much


class DensityAccumulator:
    """Accumulates one span (a window or the lesson); :meth:`result` gives its metrics."""

    def __init__(self, group_share: float) -> None:
        self.group_share = group_share
        self.observed_s = 0.0
        self.dense_s = 0.0
        self.share_s = 0.0  # integral over time of the share of present students in MVPA
        self.code_s: Counter[str] = Counter()
        self._counts: Counter[int] = Counter()

    def add(self, dt: float, codes: dict[int, str]) -> None:
        """Credit ``dt`` seconds to the students coded in one frame (track -> code)."""
        dt = min(max(dt, 0.0), _MAX_STEP_S)
        self._counts[len(codes)] += 1
        if not codes or dt == 0.0:
            return
        self.observed_s += dt
        in_mvpa = sum(1 for c in codes.values() if c in MVPA)
        if in_mvpa >= self.group_share * len(codes):
            self.dense_s += dt
        self.share_s += dt * in_mvpa / len(codes)
        for code in codes.values():
            self.code_s[code] += dt

    @property
    def participants(self) -> int:
        """Most frequent per-frame student count (0 when nothing was seen)."""
        return self._counts.most_common(1)[0][0] if self._counts else 0

    def result(self) -> dict[str, Any]:
        """The span's density metrics; rates are None when no student was observed."""
        total = sum(self.code_s.values())
        return {
            "participants": self.participants,
            "exercise_density_group": _ratio(self.dense_s, self.observed_s),
            "exercise_density_mean": _ratio(self.share_s, self.observed_s),
            "mvpa_fraction": _ratio(sum(self.code_s[c] for c in MVPA), total),
            "activity": {c: _ratio(self.code_s[c], total) for c in CODES} if total else None,
        }


def _ratio(num: float, den: float) -> float | None:
    return round(num / den, 4) if den > 0 else None
