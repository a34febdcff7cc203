"""Fall alert (SPEC 4.2): a fast transition from upright to lying outside a lying exercise.

Per track (memory only) the last upright observation is kept. When a person is seen lying less
than ``fall_max_s`` after being upright, stays lying for ``_CONFIRM_S`` (a single mis-detected
frame is not a fall) and is not in a station whose exercise involves lying, one
``{"kind": "fall", "start": t, "count": 1}`` alert is raised; falls starting within ``_MERGE_S``
of each other are one alert with a larger count. A track must be upright again before it can
raise another fall.

A fall changes a skeleton so fast that a tracker often loses the person and starts a new track
lying on the floor. A new track that appears lying therefore takes over the state of a track
that vanished nearby (within 3 torso lengths of its last upright position) while upright in the
last ``fall_max_s + _HANDOVER_S`` seconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from edge.config.zones import StationConfig
from edge.geometry.plane import inside_polygon
from edge.metrics.pe.body import Body

__all__ = ["LYING_EXERCISES", "FallDetector"]

LYING_EXERCISES = frozenset({"situp"})
_CONFIRM_S = 0.5
_MERGE_S = 2.0
_HANDOVER_S = 0.6  # how long a tracker may take to confirm the new track of a fallen person
_HANDOVER_TORSOS = 3.0
_FORGET_S = 5.0


@dataclass
class _State:
    last_seen: float
    upright_t: float | None = None
    upright_hips: np.ndarray | None = None
    unit: float = 0.0
    lying_since: float | None = None
    fallen: bool = False
    slack: float = 0.0  # extra time allowed after a tracker handover


class FallDetector:
    """Raises identity-free fall alerts from per-frame postures."""

    def __init__(self, fall_max_s: float, stations: Mapping[str, StationConfig]) -> None:
        self.fall_max_s = fall_max_s
        self._lying_zones = [s.polygon for s in stations.values() if s.exercise in LYING_EXERCISES]
        self._state: dict[int, _State] = {}
        self._alerts: list[dict[str, Any]] = []
        self._emitted = 0

    def update(self, t: float, people: list[tuple[int, Body]]) -> None:
        """Feed the (track, body) pairs of one frame."""
        present = {track for track, _ in people}
        for track, body in people:
            st = self._state.get(track)
            if st is None:
                st = self._state[track] = self._new_state(t, body, present)
            st.last_seen = t
            self._step(t, st, body)
        for track in [k for k, s in self._state.items() if t - s.last_seen > _FORGET_S]:
            del self._state[track]

    def _new_state(self, t: float, body: Body, present: set[int]) -> _State:
        if body.posture == "lying" and body.hips is not None:
            for track, old in self._state.items():
                if (
                    track in present
                    or old.fallen
                    or old.upright_t is None
                    or t - old.upright_t > self.fall_max_s + _HANDOVER_S
                ):
                    continue
                if np.hypot(*(body.hips - old.upright_hips)) <= _HANDOVER_TORSOS * old.unit:
                    del self._state[track]  # the vanished track continues as this one
                    return replace(old, last_seen=t, slack=_HANDOVER_S)
        return _State(last_seen=t)

    def _step(self, t: float, st: _State, body: Body) -> None:
        if body.posture == "upright":
            st.upright_t, st.upright_hips, st.unit = t, body.hips, body.torso
            st.lying_since, st.fallen, st.slack = None, False, 0.0
            return
        if body.posture == "sitting":
            st.lying_since = None
            return
        if body.posture != "lying" or st.fallen or st.upright_t is None:
            return
        if st.lying_since is None:
            st.lying_since = t
        if st.lying_since - st.upright_t > self.fall_max_s + st.slack:
            return
        if t - st.lying_since < _CONFIRM_S or self._in_lying_station(body.hips):
            return
        st.fallen = True
        start = round(st.lying_since, 2)
        last = self._alerts[-1] if self._alerts else None
        if last is not None and start - last["start"] <= _MERGE_S:
            last["count"] += 1
        else:
            self._alerts.append({"kind": "fall", "start": start, "count": 1})

    def _in_lying_station(self, hip: np.ndarray | None) -> bool:
        return hip is not None and any(inside_polygon(hip, p) for p in self._lying_zones)

    def new_alerts(self) -> list[dict[str, Any]]:
        """Falls raised since the last call, each once."""
        fresh = self._alerts[self._emitted :]
        self._emitted = len(self._alerts)
        return [dict(a) for a in fresh]

    def all_alerts(self) -> list[dict[str, Any]]:
        """Every fall of the lesson."""
        return [dict(a) for a in self._alerts]
