"""Environment per window and lesson (SPEC 4.3): air, light and noise, validated, with compliance.

Every reading is validated before it counts: outside the quantity's plausible range -> rejected;
the exact same value for ``stuck_after_s`` -> the sensor is stuck and its readings are rejected
until the value moves; no accepted reading for ``stale_after_s`` -> the quantity is stale and
reported as null. A window's value is the mean of its accepted readings, or the last accepted
reading carried forward while it is fresh (sensors report every minute, windows last 30 s).
Noise is an equivalent level (energy mean): from a noise sensor when present, else from the
microphone's dBA estimate. Compliance: desk >= ``desk_lux_min``, board >= ``board_lux_min``
(GB 7793), CO2 <= ``co2_limit_ppm``; a breach or a faulty sensor raises an alert in the window.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sensors.const import QUANTITIES
from sensors.samples import AudioFeatures, EnvironmentSample, HeartRateSample

from edge.config.sources import EnvironmentConfig
from edge.metrics.base import EngineResult
from edge.tracking.people import TrackedPerson

__all__ = ["QUANTITIES", "EnvironmentEngine", "ReadingValidator"]

_LEVELS = {"noise_dba"}  # decibel quantities: averaged as energy, not arithmetically


@dataclass
class _Track:
    """Validation state of one quantity."""

    value: float | None = None
    since: float = 0.0  # first time the current value was seen (stuck detection)
    last_ok: float | None = None
    last_ok_value: float | None = None
    stuck: bool = False


class ReadingValidator:
    """Range and stuck-value checks per quantity; ``counters[quantity][reason]`` counts rejections.

    Reasons: ``accepted``, ``out_of_range``, ``stuck``, ``unknown`` (a key that is no quantity).
    """

    def __init__(self, cfg: EnvironmentConfig):
        self.cfg = cfg
        self.tracks: dict[str, _Track] = {}
        self.counters: dict[str, Counter] = {}

    def check(self, quantity: str, t: float, value: float) -> str:
        """Validate one reading; returns ``"accepted"`` or the reason it was rejected."""
        reason = self._reason(quantity, t, value)
        self.counters.setdefault(quantity, Counter())[reason] += 1
        if reason == "accepted":
            track = self.tracks[quantity]
            track.last_ok, track.last_ok_value = t, value
        return reason

    def _reason(self, quantity: str, t: float, value: float) -> str:
        if quantity not in QUANTITIES:
            return "unknown"
        limits = self.cfg.ranges.get(quantity)  # type: ignore[call-overload]  # checked above
        if not math.isfinite(value) or (limits and not limits.low <= value <= limits.high):
            return "out_of_range"
        track = self.tracks.setdefault(quantity, _Track(since=t))
        if value != track.value:
            track.value, track.since, track.stuck = value, t, False
        elif self.cfg.stuck_after_s is not None and t - track.since >= self.cfg.stuck_after_s:
            track.stuck = True
            return "stuck"
        return "accepted"

    def fresh_value(self, quantity: str, now: float) -> float | None:
        """The last accepted value if younger than ``stale_after_s`` at ``now``, else None."""
        track = self.tracks.get(quantity)
        if track is None or track.last_ok is None or now - track.last_ok > self.cfg.stale_after_s:
            return None
        return track.last_ok_value


def _mean(quantity: str, values: list[float]) -> float:
    if quantity in _LEVELS:
        return 10.0 * math.log10(sum(10.0 ** (v / 10.0) for v in values) / len(values))
    return sum(values) / len(values)


@dataclass
class _Window:
    readings: dict[str, list[float]] = field(default_factory=dict)
    audio_dba: list[float] = field(default_factory=list)
    rejected: Counter = field(default_factory=Counter)  # (quantity, reason) -> count


class EnvironmentEngine:
    """SPEC 4.3 ``env`` block per window and per lesson (implements :class:`MetricEngine`)."""

    name = "env"

    def __init__(self, cfg: EnvironmentConfig):
        self.cfg = cfg
        self.validator = ReadingValidator(cfg)
        self._window = _Window()
        self._windows: list[dict[str, Any]] = []  # closed window blocks, for the lesson summary
        self._lesson_audio: list[float] = []
        self._lesson_readings: dict[str, list[float]] = {}

    def on_people(self, t: float, people: list[TrackedPerson], size: tuple[int, int]) -> None:
        """Not used."""

    def on_heart_rate(self, sample: HeartRateSample) -> None:
        """Not used."""

    def on_audio(self, sample: AudioFeatures) -> None:
        """The microphone's level stands in for noise when no noise sensor reports."""
        if sample.dba is not None:
            self._window.audio_dba.append(sample.dba)

    def on_environment(self, sample: EnvironmentSample) -> None:
        """Validate each reading of the sample and keep the accepted ones."""
        for quantity, value in sample.values.items():
            reason = self.validator.check(quantity, sample.t, float(value))
            if reason == "accepted":
                self._window.readings.setdefault(quantity, []).append(float(value))
            else:
                self._window.rejected[(quantity, reason)] += 1

    def _values(self, window: _Window, end: float) -> dict[str, float | None]:
        values: dict[str, float | None] = {}
        for quantity in QUANTITIES:
            readings = window.readings.get(quantity)
            values[quantity] = (_mean(quantity, readings) if readings
                                else self.validator.fresh_value(quantity, end))
        if values["noise_dba"] is None and window.audio_dba:
            values["noise_dba"] = _mean("noise_dba", window.audio_dba)
        return values

    def compliance(self, values: dict[str, float | None]) -> dict[str, bool | None]:
        """Per check: True = compliant, False = breach, None = no reading."""
        def at_least(v: float | None, limit: float) -> bool | None:
            return None if v is None else v >= limit

        co2 = values.get("co2_ppm")
        return {
            "co2": None if co2 is None else co2 <= self.cfg.co2_limit_ppm,
            "lux_desk": at_least(values.get("lux_desk"), self.cfg.desk_lux_min),
            "lux_board": at_least(values.get("lux_board"), self.cfg.board_lux_min),
        }

    def _alerts(self, window: _Window, values: dict[str, float | None],
                compliance: dict[str, bool | None], end: float) -> list[dict[str, Any]]:
        alerts: list[dict[str, Any]] = []
        breach_kind = {"co2": ("co2_high", "co2_ppm"), "lux_desk": ("lux_desk_low", "lux_desk"),
                       "lux_board": ("lux_board_low", "lux_board")}
        for check, ok in compliance.items():
            if ok is False:
                kind, quantity = breach_kind[check]
                alerts.append({"kind": kind, "quantity": quantity, "value": _round(values[quantity])})
        for quantity, track in sorted(self.validator.tracks.items()):
            if track.stuck:
                alerts.append({"kind": "sensor_stuck", "quantity": quantity})
            elif self.validator.fresh_value(quantity, end) is None:
                alerts.append({"kind": "sensor_stale", "quantity": quantity})
        for (quantity, reason), count in sorted(window.rejected.items()):
            if reason == "out_of_range":
                alerts.append({"kind": "out_of_range", "quantity": quantity, "count": count})
        return alerts

    def close_window(self, start: float, end: float) -> EngineResult | None:
        """The window's ``env`` block; None when no environment source ever reported."""
        window, self._window = self._window, _Window()
        for quantity, readings in window.readings.items():
            self._lesson_readings.setdefault(quantity, []).extend(readings)
        self._lesson_audio.extend(window.audio_dba)
        if not self.validator.tracks and not window.rejected:
            return None  # no environment sensor: the metric has no source (SPEC 5: absent)
        values = self._values(window, end)
        compliance = self.compliance(values)
        block = {**{q: _round(v) for q, v in values.items()}, "compliance": compliance,
                 "alerts": self._alerts(window, values, compliance, end)}
        self._windows.append(block)
        return EngineResult(n=None, metrics={"env": block})

    def close_lesson(self, start: float, end: float) -> EngineResult | None:
        """Lesson means, the share of windows compliant per check, and alert counts by kind."""
        if not self._windows:
            return None
        lesson = _Window(readings=self._lesson_readings, audio_dba=self._lesson_audio)
        values = {q: (_mean(q, lesson.readings[q]) if lesson.readings.get(q) else None)
                  for q in QUANTITIES}
        if values["noise_dba"] is None and lesson.audio_dba:
            values["noise_dba"] = _mean("noise_dba", lesson.audio_dba)
        shares: dict[str, float | None] = {}
        for check in ("co2", "lux_desk", "lux_board"):
            known = [w["compliance"][check] for w in self._windows if w["compliance"][check] is not None]
            shares[check] = round(sum(known) / len(known), 3) if known else None
        alerts = Counter(a["kind"] for w in self._windows for a in w["alerts"])
        block = {**{q: _round(v) for q, v in values.items()}, "compliance_share": shares,
                 "alerts": [{"kind": k, "windows": n} for k, n in sorted(alerts.items())],
                 "validation": self.health()}
        return EngineResult(n=None, metrics={"env": block})

    def health(self) -> dict[str, dict[str, int]]:
        """Validation counters per quantity (accepted, out_of_range, stuck...)."""
        return {q: dict(c) for q, c in sorted(self.validator.counters.items())}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
