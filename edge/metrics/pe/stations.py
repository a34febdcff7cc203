"""PE stations: who exercises in each calibrated station, top-down refinement, and counting.

A station (``zones.stations``: name -> exercise + polygon in image pixels) holds one student: the
person whose hip midpoint is inside the polygon (the one nearest the polygon's centre when
several are). :func:`refine_station_people` is the perception hook that replaces that person's
bottom-up keypoints with BlazePose ones from a crop (rotated upright when lying);
:class:`StationCounters` turns the station people of each frame into repetition counts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from sensors.samples import Frame, Person, StationSample

from edge.config.zones import StationConfig
from edge.geometry.plane import inside_polygon
from edge.tracking.people import TrackedPerson
from edge.metrics.pe.body import Body, hips_point
from edge.metrics.pe.reps import RepCounter

__all__ = [
    "Refiner",
    "StationPose",
    "StationCounters",
    "refine_station_people",
    "station_occupant",
    "station_refine_hook",
]


class Refiner(Protocol):
    """What the hook needs of a top-down pose model (models.blazepose.BlazePoseRefiner)."""

    def refine(self, image_bgr: np.ndarray, box_or_kp: np.ndarray) -> Person | None: ...

    def find(self, image_bgr: np.ndarray, box: np.ndarray) -> Person | None: ...


class StationPose:
    """One station's person at full frame rate, top-down only (no overview model): each frame's
    crop follows the previous frame's landmarks (as BlazePose tracks); when they are lost the
    station's box is searched at every quarter turn (someone lying along the image's vertical
    axis, or a camera mounted on its side).

    :param search_every_s: a station empty for this long is searched only this often (a search
        runs the model three times); a person just lost is searched on every frame for this
        long (a blurred frame mid-jump must not cost the next ones). 0 = every frame.
    """

    def __init__(self, refiner: Refiner, polygon: Sequence[Sequence[float]],
                 search_every_s: float = 0.0) -> None:
        self.refiner = refiner
        self.box = _polygon_box(polygon)
        self.search_every_s = search_every_s
        self._kp: np.ndarray | None = None
        self._next_search = self._searching_until = float("-inf")

    def update(self, image: np.ndarray, t: float = 0.0) -> np.ndarray | None:
        """COCO-17 keypoints (frame pixels) of the station's person in the frame of time ``t``,
        or None when nobody (or when an empty station is not due for a search yet)."""
        person = None
        if self._kp is not None:
            person = self.refiner.refine(image, self._kp)
            if person is None:  # just lost
                self._searching_until = t + self.search_every_s
        if person is None and (t <= self._searching_until or t >= self._next_search):
            person = self.refiner.find(image, self.box)
            if person is None:
                self._next_search = t + self.search_every_s
        self._kp = None if person is None else person.kp
        return self._kp


def station_occupant(
    hips: Sequence[np.ndarray | None], polygon: Sequence[Sequence[float]]
) -> int | None:
    """Index of the person (by hip midpoint) exercising in ``polygon``, or None when empty."""
    centre = np.mean(np.asarray(polygon, dtype=np.float64), axis=0)
    best, best_d = None, float("inf")
    for i, hip in enumerate(hips):
        if hip is None or not inside_polygon(hip, polygon):
            continue
        d = float(np.hypot(*(hip - centre)))
        if d < best_d:
            best, best_d = i, d
    return best


# Mean keypoint score a person found by searching an empty station's crop needs: the bottom-up
# model saw nobody there, and on an empty crop BlazePose hallucinates people at about 0.5, while
# real occupants score 0.8 and above (sports2d_demo.mp4).
SEARCH_MIN_SCORE = 0.7


def _polygon_box(polygon: Sequence[Sequence[float]]) -> np.ndarray:
    pts = np.asarray(polygon, dtype=np.float64)
    return np.concatenate([pts.min(axis=0), pts.max(axis=0)])


def refine_station_people(
    image: np.ndarray, people: list[Person], stations: Mapping[str, StationConfig], refiner: Refiner
) -> list[Person]:
    """People of one frame with each station's occupant refined top-down.

    The occupant is re-estimated from a crop around its own keypoints; an empty station is
    searched with a crop of the station's bounding box (a student lying on a mat is often missed
    by the bottom-up model) and whoever is found there with hips inside and a mean keypoint
    score of at least ``SEARCH_MIN_SCORE`` is added. A refinement that finds no pose keeps the
    original person.
    """
    out = list(people)
    for station in stations.values():
        idx = station_occupant([hips_point(p.kp) for p in out], station.polygon)
        if idx is not None:
            refined = refiner.refine(image, out[idx].kp)
            if refined is not None:
                out[idx] = refined
            continue
        found = refiner.refine(image, _polygon_box(station.polygon))
        if (
            found is not None
            and found.score >= SEARCH_MIN_SCORE
            and station_occupant([hips_point(found.kp)], station.polygon) == 0
        ):
            out.append(found)
    return out


def station_refine_hook(
    stations: Mapping[str, StationConfig], refiner: Refiner
) -> Callable[[Frame, list[Person]], list[Person]]:
    """A perception hook (edge.perception.pipeline.RefineHook) refining each station's occupant."""

    def hook(frame: Frame, people: list[Person]) -> list[Person]:
        return refine_station_people(frame.image, people, stations, refiner)

    return hook


class StationCounters:
    """One repetition counter per station; counts per window and per lesson, never per student.

    :param fed: the stations' poses arrive from their own loop (:meth:`on_stations`, at the
        station rate); the overview's people (:meth:`update`) then only say who stands in each
        station, so no repetition is counted twice.
    """

    def __init__(self, stations: Mapping[str, StationConfig], fed: bool = False) -> None:
        self.stations = dict(stations)
        self.fed = fed
        self._counters = {name: RepCounter(s.exercise) for name, s in self.stations.items()}
        self._occupant: dict[str, int | None] = {name: None for name in self.stations}
        self._window_start = {name: 0 for name in self.stations}
        self._last_rep: dict[int, float] = {}  # by track (overview counting)
        self._station_rep: dict[str, float] = {}  # by station (fed counting)

    def update(self, t: float, people: list[TrackedPerson], bodies: list[Body]) -> dict[str, int]:
        """Feed one overview frame (``bodies`` aligned with ``people``); returns station -> its
        track. Counts the occupants' repetitions unless the counters are ``fed``."""
        occupants: dict[str, int] = {}
        hips = [b.hips for b in bodies]
        for name, station in self.stations.items():
            idx = station_occupant(hips, station.polygon)
            track = people[idx].track if idx is not None else None
            counter = self._counters[name]
            if track != self._occupant[name]:
                if not self.fed:
                    counter.reset_person()
                self._occupant[name] = track
            if idx is None:
                continue
            occupants[name] = track
            if not self.fed and counter.update(t, people[idx].kp):
                self._last_rep[track] = t
        return occupants

    def on_stations(self, sample: StationSample) -> None:
        """Count the repetitions of one station-loop frame (stations this lesson does not know,
        e.g. drawn after it started, are left for the next one)."""
        for name, kp in sample.poses.items():
            counter = self._counters.get(name)
            if counter is None or kp is None:  # a frame without the person keeps the phase
                continue
            if counter.update(sample.t, kp):
                self._station_rep[name] = sample.t

    def last_rep(self, track: int) -> float | None:
        """Time of the last repetition counted for ``track`` (memory only), if any."""
        if not self.fed:
            return self._last_rep.get(track)
        times = [self._station_rep.get(n) for n, occ in self._occupant.items() if occ == track]
        return max((x for x in times if x is not None), default=None)

    def close_window(self) -> dict[str, Any]:
        """Repetitions per station since the previous window closed."""
        out = {}
        for name, c in self._counters.items():
            out[name] = {"exercise": c.exercise, "count": c.count - self._window_start[name]}
            self._window_start[name] = c.count
        return out

    def lesson(self) -> dict[str, Any]:
        """Repetitions per station over the lesson."""
        return {
            name: {"exercise": c.exercise, "count": c.count} for name, c in self._counters.items()
        }
