"""Class heart-rate aggregates and alerts (SPEC 4.2, 3.4).

Per span (window or lesson), from every band reading weighted by the time since that band's
previous reading (capped at ``_MAX_STEP_S``):

* ``mean_bpm``: time-weighted class mean over all band readings.
* ``share_140_160``: share of band-time with 140 <= bpm <= 160.
* ``zones``: share of band-time per %HRmax zone, HRmax = 208 - 0.7 x age (Tanaka):
  light [57, 64), moderate [64, 77), vigorous [77, 96), near_max >= 96. Time below 57% is in no
  zone, so the four shares may sum to less than 1.
* ``trimp_edwards``: Edwards' TRIMP = sum over zones 50-60, 60-70, 70-80, 80-90, 90-100 %HRmax of
  minutes in zone x weight 1..5 (>= 100% counts as weight 5), computed per band and averaged over
  the bands seen in the span (a class-typical load, not a sum over students).
* ``minutes_ge_120``: mean over bands of minutes with HR >= 120 bpm.

Alerts (no identity): HR >= ``hr_alert_share`` x HRmax or > ``hr_alert_bpm`` sustained
``hr_sustain_s`` -> ``hr_high``; a band without contact for ``contact_lost_s`` while active
(its last bpm was at least 57% HRmax, or the class is in MVPA) -> ``contact_lost``.
Per-band state lives in memory only; nothing per band leaves this module.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sensors.samples import HeartRateSample

from edge.config.metrics import PEConfig
from edge.metrics.pe.alerts import EpisodeTracker

__all__ = ["ZONES", "HeartRateAccumulator", "HeartRateMonitor", "hr_max"]

ZONES: tuple[tuple[str, float, float], ...] = (
    ("light", 57.0, 64.0),
    ("moderate", 64.0, 77.0),
    ("vigorous", 77.0, 96.0),
    ("near_max", 96.0, float("inf")),
)
_MAX_STEP_S = 5.0  # a band silent longer than this is not credited for the gap
_ACTIVE_PCT = 57.0
# some bands send 0 instead of clearing the contact bit: treat implausible values as no contact
_PLAUSIBLE_BPM = (25.0, 260.0)


def hr_max(age: float) -> float:
    """Tanaka's age-predicted maximum heart rate, 208 - 0.7 x age."""
    return 208.0 - 0.7 * age


def _trimp_weight(pct: float) -> int:
    if pct < 50.0:
        return 0
    return min(int((pct - 50.0) // 10.0) + 1, 5)


@dataclass
class _BandTotals:
    seconds: float = 0.0
    bpm_seconds: float = 0.0
    s_140_160: float = 0.0
    s_ge_120: float = 0.0
    trimp: float = 0.0
    zone_s: dict[str, float] = field(default_factory=lambda: defaultdict(float))


class HeartRateAccumulator:
    """Heart-rate aggregates of one span; per-band totals stay inside."""

    def __init__(self, hrmax: float) -> None:
        self.hrmax = hrmax
        self._bands: dict[str, _BandTotals] = defaultdict(_BandTotals)

    def add(self, band: str, bpm: float, dt: float) -> None:
        """Credit ``dt`` seconds at ``bpm`` to ``band``."""
        b = self._bands[band]
        pct = 100.0 * bpm / self.hrmax
        b.seconds += dt
        b.bpm_seconds += bpm * dt
        b.s_140_160 += dt if 140.0 <= bpm <= 160.0 else 0.0
        b.s_ge_120 += dt if bpm >= 120.0 else 0.0
        b.trimp += _trimp_weight(pct) * dt / 60.0
        for name, lo, hi in ZONES:
            if lo <= pct < hi:
                b.zone_s[name] += dt

    def result(self) -> dict[str, Any] | None:
        """The span's HR metrics, or None when no band reading was credited."""
        bands = [b for b in self._bands.values() if b.seconds > 0]
        total = sum(b.seconds for b in bands)
        if not total:
            return None
        return {
            "mean_bpm": round(sum(b.bpm_seconds for b in bands) / total, 1),
            "share_140_160": round(sum(b.s_140_160 for b in bands) / total, 4),
            "zones": {
                name: round(sum(b.zone_s[name] for b in bands) / total, 4) for name, _, _ in ZONES
            },
            "trimp_edwards": round(sum(b.trimp for b in bands) / len(bands), 2),
            "minutes_ge_120": round(sum(b.s_ge_120 for b in bands) / 60.0 / len(bands), 2),
        }


class HeartRateMonitor:
    """Feeds window and lesson accumulators and the two alert kinds from HR samples."""

    def __init__(self, cfg: PEConfig, age: float) -> None:
        self.cfg = cfg
        self.hrmax = hr_max(age)
        self.window = HeartRateAccumulator(self.hrmax)
        self.lesson = HeartRateAccumulator(self.hrmax)
        self.seen = False
        self._last_t: dict[str, float] = {}
        self._last_bpm: dict[str, float] = {}
        self.high = EpisodeTracker("hr_high", cfg.hr_sustain_s, cfg.alert_gap_s)
        self.contact = EpisodeTracker("contact_lost", cfg.contact_lost_s, cfg.alert_gap_s)

    def on_sample(self, sample: HeartRateSample, class_active: bool) -> None:
        """Account one sample; ``class_active`` says whether the class is in MVPA right now."""
        self.seen = self.seen or bool(sample.bpm)
        high: dict[str, bool] = {}
        lost: dict[str, bool] = {}
        for band, bpm in sample.bpm.items():
            prev = self._last_t.get(band)
            self._last_t[band] = sample.t
            if bpm is None or not _PLAUSIBLE_BPM[0] <= bpm <= _PLAUSIBLE_BPM[1]:
                was_active = 100.0 * self._last_bpm.get(band, 0.0) / self.hrmax >= _ACTIVE_PCT
                lost[band] = was_active or class_active
                high[band] = False
                continue
            lost[band] = False
            self._last_bpm[band] = bpm
            high[band] = bpm >= self.cfg.hr_alert_share * self.hrmax or bpm > self.cfg.hr_alert_bpm
            if prev is not None:
                dt = min(sample.t - prev, _MAX_STEP_S)
                if dt > 0:
                    self.window.add(band, bpm, dt)
                    self.lesson.add(band, bpm, dt)
        self.high.update(sample.t, high)
        self.contact.update(sample.t, lost)

    def close_window(self) -> dict[str, Any] | None:
        """The window's HR metrics (None when no band is configured or none reported)."""
        result = self.window.result()
        self.window = HeartRateAccumulator(self.hrmax)
        return result

    def new_alerts(self) -> list[dict[str, Any]]:
        """HR alerts first raised since the last call."""
        return self.high.new_alerts() + self.contact.new_alerts()

    def all_alerts(self) -> list[dict[str, Any]]:
        """Every HR alert episode of the lesson."""
        return self.high.all_alerts() + self.contact.all_alerts()
