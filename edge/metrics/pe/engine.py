"""The PE metric engine (SPEC 4.2): activity, exercise density, heart rate, repetitions, alerts.

Output keys are those of SPEC 5 for a PE lesson: participants, exercise_density_group,
exercise_density_mean, mvpa_fraction, activity, hr, reps, alerts. ``hr`` is None when no band
reported in the span (never 0). Alerts carry a kind, a start, a duration where it applies and a
count of students, never an identity. Track ids and band ids stay inside this package.
"""

from __future__ import annotations

from sensors.samples import AudioFeatures, EnvironmentSample, HeartRateSample, StationSample

from edge.alerts import Alert
from edge.config import EdgeConfig, ZonesConfig
from edge.metrics.base import EngineResult
from edge.privacy.records import RATE_KEYS as RECORD_RATE_KEYS
from edge.geometry.plane import FloorMap
from edge.tracking.people import TrackedPerson
from edge.metrics.pe.activity import MVPA, ActivityClassifier
from edge.metrics.pe.body import body_of
from edge.metrics.pe.density import DensityAccumulator
from edge.metrics.pe.heart_rate import HeartRateMonitor
from edge.metrics.pe.safety import FallDetector
from edge.metrics.pe.stations import StationCounters

__all__ = ["RATE_KEYS", "PEEngine"]

# Per-person-derived values nulled for small groups: defined once, with the record schema.
RATE_KEYS = RECORD_RATE_KEYS["pe"]


class PEEngine:
    """MetricEngine for PE lessons; all per-student and per-band state is in memory only."""

    name = "pe"

    def __init__(self, config: EdgeConfig, zones: ZonesConfig | None = None,
                 station_feed: bool = False) -> None:
        """``zones`` default to ``config.zones``; HRmax uses ``config.node.age`` (a replayed
        scene's header age is put there by edge.lesson.replay). With ``station_feed`` the
        station repetitions come from :meth:`on_stations` only (the daemon's station loop)."""
        zones = zones if zones is not None else config.zones
        self.cfg = config.pe
        floor = FloorMap(zones.floor.image, zones.floor.world_m) if zones.floor else None
        self.activity = ActivityClassifier(self.cfg, floor)
        self.stations = StationCounters(zones.stations, fed=station_feed)
        self.falls = FallDetector(self.cfg.fall_max_s, zones.stations)
        self.hr = HeartRateMonitor(self.cfg, config.node.age)
        self.window = self._density()
        self.lesson = self._density()
        self._last_t: float | None = None
        self._class_active = False

    def _density(self) -> DensityAccumulator:
        return DensityAccumulator(self.cfg.mvpa_group_share)

    def on_people(self, t: float, people: list[TrackedPerson], size: tuple[int, int]) -> None:
        """Code every student of the frame, count station repetitions, watch for falls."""
        bodies = [body_of(p.kp) for p in people]
        # anyone exercising in a station is counted (the role heuristics are for classrooms)
        occupants = self.stations.update(t, people, bodies)
        at_station = set(occupants.values())
        codes: dict[int, str] = {}
        students = [(p.track, body) for p, body in zip(people, bodies) if p.role == "student"]
        for track, body in students:
            last_rep = self.stations.last_rep(track) if track in at_station else None
            active = last_rep is not None and t - last_rep <= self.cfg.rep_active_s
            code = self.activity.classify(t, track, body, at_station_active=active)
            if code is not None:
                codes[track] = code
        self.falls.update(t, students)
        dt = 0.0 if self._last_t is None else t - self._last_t
        self._last_t = t
        self.window.add(dt, codes)
        self.lesson.add(dt, codes)
        in_mvpa = sum(1 for c in codes.values() if c in MVPA)
        self._class_active = bool(codes) and in_mvpa >= self.cfg.mvpa_group_share * len(codes)
        self.activity.forget_absent(t)

    def on_stations(self, sample: StationSample) -> None:
        """Count repetitions on one frame of the station loop (edge.lesson.session.StationSink)."""
        self.stations.on_stations(sample)

    def on_heart_rate(self, sample: HeartRateSample) -> None:
        """Account one heart-rate sample (contact loss counts as an alert only during activity)."""
        self.hr.on_sample(sample, self._class_active)

    def on_audio(self, sample: AudioFeatures) -> None:
        """PE metrics do not use audio."""

    def on_environment(self, sample: EnvironmentSample) -> None:
        """PE metrics do not use the environment sensors."""

    def take_alerts(self) -> list[Alert]:
        """Falls and HR episodes detected since the last call (edge.alerts.AlertSource)."""
        return self.falls.take_alerts() + self.hr.take_alerts()

    def close_window(self, start: float, end: float) -> EngineResult | None:
        """The window's aggregates; alerts are those first raised during the window."""
        metrics = self.window.result()
        metrics["hr"] = self.hr.close_window()
        metrics["reps"] = self.stations.close_window()
        metrics["alerts"] = self.hr.new_alerts() + self.falls.new_alerts()
        self.window = self._density()
        return EngineResult(n=metrics["participants"], metrics=metrics, rate_keys=set(RATE_KEYS))

    def close_lesson(self, start: float, end: float) -> EngineResult | None:
        """The lesson's aggregates with every alert episode of the lesson."""
        metrics = self.lesson.result()
        metrics["hr"] = self.hr.lesson.result()
        metrics["reps"] = self.stations.lesson()
        metrics["alerts"] = sorted(
            self.hr.all_alerts() + self.falls.all_alerts(), key=lambda a: a["start"]
        )
        return EngineResult(n=metrics["participants"], metrics=metrics, rate_keys=set(RATE_KEYS))
