"""Frame -> PoseSample: the pose model plus optional refinement hooks, with time accounting.

SPEC 10 asks that everything outside the model (decode, pre/post-processing, tracking, metrics)
cost <= 15 % of model time, so this step measures the time spent inside the model; callers
measure their total and report the rest as overhead. The frame's pixels never leave this call.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol

import numpy as np

from sensors.samples import Frame, Person, PoseSample

if TYPE_CHECKING:
    from edge.config import EdgeConfig, ZonesConfig

__all__ = ["Perception", "PerceptionStats", "PoseDetector", "RefineHook"]

# A refinement stage after the bottom-up model, e.g. top-down landmarks per PE station:
# gets the frame and the people found so far, returns the (possibly improved) people.
RefineHook = Callable[[Frame, list[Person]], list[Person]]


class PoseDetector(Protocol):
    """Anything that finds people in a BGR image (models.pose.PoseEstimator)."""

    def detect(self, image: np.ndarray) -> list[Person]: ...


@dataclass
class PerceptionStats:
    """Frames seen, people found over all frames, seconds in model stages (``refine_s`` of them
    in the refinement hooks) and in model loading."""

    frames: int = 0
    person_frames: int = 0
    model_s: float = 0.0
    refine_s: float = 0.0
    load_s: float = 0.0


@dataclass
class Perception:
    """Runs ``detector`` and then each of ``hooks`` on a frame; counts model time.

    Hooks are model stages too (refinement runs a network), so their time counts as model time.
    Append to ``hooks`` to add one; they run in order.
    """

    detector: PoseDetector
    hooks: list[RefineHook] = field(default_factory=list)
    stats: PerceptionStats = field(default_factory=PerceptionStats)

    @classmethod
    def from_config(
        cls, config: EdgeConfig, mode: str | None = None, zones: ZonesConfig | None = None,
        refine_stations: bool = True,
    ) -> Perception:
        """The configured bottom-up pose estimator (loads and warms the model), followed in a PE
        lesson by BlazePose refinement of each station's occupant (when there are stations) and
        a top-down search for people on the floor (``pe.floor_search_max``).

        :param mode: the lesson mode; default ``config.node.mode``.
        :param zones: the calibrated zones; default ``config.zones``.
        :param refine_stations: False when the stations have a loop of their own (the daemon's
            edge.daemon.stations): the overview then does not refine their occupants.
        :raises models.runtime.ModelError: when a model cannot be found or loaded.
        """
        # Imported here so scene replays (no frames) never load onnxruntime or a model.
        started = time.perf_counter()
        from edge.perception.options import pose_options, session_options
        from models.pose import PoseEstimator

        perception = cls(PoseEstimator(pose_options(config, zones, mode), session_options(config),
                                       config.runtime.models_dir))
        stations = (zones if zones is not None else config.zones).stations
        stations = stations if refine_stations else {}
        searches = config.pe.floor_search_max
        if (mode or config.node.mode) == "pe" and (stations or searches):
            from edge.metrics.pe.floor_search import floor_search_hook
            from edge.metrics.pe.stations import station_refine_hook
            from models.blazepose import BlazePoseRefiner

            refiner = BlazePoseRefiner(session_options(config), config.runtime.models_dir)
            if stations:
                perception.hooks.append(station_refine_hook(stations, refiner))
            if searches:
                perception.hooks.append(floor_search_hook(refiner, searches))
        # Loading and warm-up happen once per process: kept apart from per-frame overhead.
        perception.stats.load_s = time.perf_counter() - started
        return perception

    def set_zones(self, zones: ZonesConfig) -> None:
        """Follow a new calibration: the pass plan's back row comes from ``zones.floor`` (the
        next frame is planned with it)."""
        from edge.perception.options import back_row

        options = getattr(self.detector, "options", None)
        if options is not None:
            self.detector.options = replace(options, back_row=back_row(zones))

    def sample(self, frame: Frame) -> PoseSample:
        """The people in ``frame`` (no identities), stamped with its time and size."""
        started = time.perf_counter()
        people = self.detector.detect(frame.image)
        detected = time.perf_counter()
        for hook in self.hooks:
            people = hook(frame, people)
        finished = time.perf_counter()
        self.stats.refine_s += finished - detected
        self.stats.model_s += finished - started
        self.stats.frames += 1
        self.stats.person_frames += len(people)
        return PoseSample(t=frame.t, people=people, size=frame.size)
