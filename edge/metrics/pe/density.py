"""Exercise density (SPEC 4.2): how much of the lesson the class, and each student, was in MVPA.

* ``exercise_density_group``: share of observed time during which at least ``mvpa_group_share``
  of the present students were in MVPA.
* ``exercise_density_mean``: mean over students of each one's MVPA time share. Each track's
  present/MVPA seconds are accumulated in memory; only the mean leaves. Tracks seen for less than
  ``min_presence_s`` (tracker fragments, passers-by) are left out of the mean.
* ``mvpa_fraction`` and ``activity``: shares of student-time per activity code.

Time is weighted by the gap to the previous frame (capped) so uneven frame rates do not bias
the shares.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from edge.metrics.pe.activity import CODES, MVPA

__all__ = ["DensityAccumulator"]

_MAX_STEP_S = 1.0  # a longer gap between frames is a stall: credit at most this much


class DensityAccumulator:
    """Accumulates one span (a window or the lesson); :meth:`result` gives its metrics."""

    def __init__(self, group_share: float, min_presence_s: float) -> None:
        self.group_share = group_share
        self.min_presence_s = min_presence_s
        self.observed_s = 0.0
        self.dense_s = 0.0
        self.code_s: Counter[str] = Counter()
        self._present_s: dict[int, float] = defaultdict(float)
        self._mvpa_s: dict[int, float] = defaultdict(float)
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
        for track, code in codes.items():
            self.code_s[code] += dt
            self._present_s[track] += dt
            if code in MVPA:
                self._mvpa_s[track] += dt

    @property
    def participants(self) -> int:
        """Most frequent per-frame student count (0 when nothing was seen)."""
        return self._counts.most_common(1)[0][0] if self._counts else 0

    def result(self) -> dict[str, Any]:
        """The span's density metrics; rates are None when no student was observed."""
        total = sum(self.code_s.values())
        shares = [
            self._mvpa_s[k] / p for k, p in self._present_s.items() if p >= self.min_presence_s
        ]
        return {
            "participants": self.participants,
            "exercise_density_group": _ratio(self.dense_s, self.observed_s),
            "exercise_density_mean": round(sum(shares) / len(shares), 4) if shares else None,
            "mvpa_fraction": _ratio(sum(self.code_s[c] for c in MVPA), total),
            "activity": {c: _ratio(self.code_s[c], total) for c in CODES} if total else None,
        }


def _ratio(num: float, den: float) -> float | None:
    return round(num / den, 4) if den > 0 else None
