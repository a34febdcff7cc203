"""Per-track state machines turning per-frame poses into events (SPEC 4.1).

Each frame is taken to stand for the span of one frame interval ``dt`` around its time, so at
2 fps a single frame without the hand up is a dropout of about 0.5 s. Holds are measured
conservatively (first to last raised frame), gaps generously (missing span minus one frame):
a short flicker is never counted and a one-frame dropout never splits a raise in two.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["HoldEvent", "StandState"]

_EPS = 1e-6
_BASELINE_RATE = 0.1  # share of the gap to the current shoulder height closed per seated frame
_STANDING_RISE = 1.0  # typical shoulder rise from seated to standing, in body scales


@dataclass
class HoldEvent:
    """A condition that counts once per run held >= ``hold_s``; runs split by gaps > ``gap_s``.

    A gap is the time the condition was *seen* off: frames where it could not be judged (the
    person missed by the detector, the arm out of view) are left out of the gap, so a missed
    detection next to a brief dropout does not split one raise into two.
    """

    hold_s: float
    gap_s: float
    run_start: float | None = None
    last_on: float | None = None
    unseen: float = 0.0  # time since ``last_on`` the condition could not be judged
    counted: bool = False

    def observe(self, t: float, on: bool | None, dt: float) -> bool:
        """Feed one frame (None = not judged); True exactly when it completes a new event."""
        if not on:
            if on is None and self.last_on is not None:
                self.unseen += dt
            return False
        if self.last_on is None or t - self.last_on - dt - self.unseen > self.gap_s + _EPS:
            self.run_start, self.counted = t, False
        self.last_on, self.unseen = t, 0.0
        if not self.counted and t - self.run_start >= self.hold_s - _EPS:
            self.counted = True
            return True
        return False


@dataclass
class StandState:
    """Seated/standing of one student from the rise of the shoulders over a seated baseline.

    Hips and legs are usually hidden by desks, so the robust signal for every row is how far
    the shoulder line rose above where it sits when the student is seated, in the student's
    own body scale (standing up lifts the shoulders by about one shoulder width at any
    distance). The baseline follows the seated shoulder height slowly, so leaning over a
    desk does not drift it far. Leg geometry is ambiguous from a camera mounted high (a seated
    thigh pointing at the camera looks almost as long as a standing one), so legs only seed the
    baseline of a student first seen standing (``legs`` True: baseline one scale lower).
    Hysteresis (``stand_rise`` / ``sit_rise``) keeps jitter from toggling the state.
    """

    stand_rise: float
    sit_rise: float
    hold_s: float
    baseline: float | None = None
    standing: bool = False
    since: float = 0.0
    counted: bool = False

    def observe(self, t: float, shoulder_y: float, scale: float, legs: bool | None) -> bool:
        """Feed one frame; True exactly when this frame completes a new stand event."""
        if self.baseline is None:
            self.baseline = shoulder_y + (_STANDING_RISE * scale if legs else 0.0)
        rise = (self.baseline - shoulder_y) / scale
        if self.standing:
            standing = rise > self.sit_rise
        else:
            standing = rise >= self.stand_rise
        if standing and not self.standing:
            self.since, self.counted = t, False
        self.standing = standing
        if not standing:
            self.baseline += _BASELINE_RATE * (shoulder_y - self.baseline)
            return False
        if not self.counted and t - self.since >= self.hold_s - _EPS:
            self.counted = True
            return True
        return False
